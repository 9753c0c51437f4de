// The ingest loop's read-ahead: the next records are collected from librdkafka while the current
// ones are written. The collection keeps growing until the write in flight is done (the consumer
// is told through `writeDone`), so writes grow with the load (src/kafka/record-collector.ts).
import type { RawRecord } from '../kafka/raw-record.js';

/** Starts one collection; `writerIdle` settles when the write it runs beside is done. */
export type Collect = (writerIdle?: Promise<void>) => Promise<RawRecord[]>;

export class Prefetch {
  readonly #collect: Collect;
  #next: Promise<RawRecord[]>;
  #settled = false;
  /** The last collection failed: the next take starts a new one (after the caller's backoff). */
  #failed = false;
  #writeDone: () => void = () => {};

  constructor(collect: Collect) {
    this.#collect = collect;
    this.#next = this.#start();
  }

  /** True when the collection in flight has records (or an error) to hand over now. */
  get ready(): boolean {
    return this.#settled;
  }

  /** The write the collection in flight waits for is done. */
  writeDone(): void {
    this.#writeDone();
  }

  /**
   * The collected records, and the next collection started beside the write that follows. A
   * failed collection throws, and the next call starts a new one.
   */
  async take(): Promise<RawRecord[]> {
    if (this.#failed) {
      this.#failed = false;
      this.#next = this.#start();
    }
    try {
      const records = await this.#next;
      this.#next = this.#start(new Promise<void>((resolve) => (this.#writeDone = resolve)));
      return records;
    } catch (err) {
      this.#failed = true;
      throw err;
    }
  }

  /** Lets the collection in flight end, whatever it brings: before the consumer is closed. */
  async settle(): Promise<void> {
    this.#writeDone();
    await this.#next.catch(() => undefined);
  }

  #start(writerIdle?: Promise<void>): Promise<RawRecord[]> {
    this.#settled = false;
    const next = this.#collect(writerIdle);
    next.then(
      () => (this.#settled = true),
      () => (this.#settled = true),
    );
    // Handled now as well as where it is taken: a collection failing while a write is in flight
    // must not count as an unhandled rejection (that ends the thread with a live consumer).
    next.catch(() => undefined);
    return next;
  }
}
