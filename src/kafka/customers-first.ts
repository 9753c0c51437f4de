// Customers first. In a backlog both partitions of a branch are fetched side by side, so a branch
// read transactions before the customers they belong to, parked them, and posted them again
// later: in a catch-up of many branches the branches that parked at start finished last, at half
// the others' rate. So the transactions partition stays paused until the customers partition has
// been read up to the log end it had when the branch started (or has nothing more to give).
import type { RawRecord } from './raw-record.js';

/** Pauses and resumes one of the branch's partitions (the consumer's own calls). */
export interface PartitionControl {
  pause(topic: string): void;
  resume(topic: string): void;
}

export class CustomersFirst {
  readonly #control: PartitionControl;
  /** Set while the transactions partition waits for the customers read up to `until`. */
  #waiting: { customers: string; transactions: string; until: number } | undefined;

  constructor(control: PartitionControl) {
    this.#control = control;
  }

  /** Holds the transactions back until the customers partition is read up to `until`. */
  hold(topics: { customers: string; transactions: string }, until: number): void {
    this.#control.pause(topics.transactions);
    this.#waiting = { ...topics, until };
  }

  /** After each consume call: resumes the transactions once the customers are read, or nothing more came. */
  observe(records: readonly RawRecord[], nothingCame: boolean): void {
    const waiting = this.#waiting;
    if (waiting === undefined) return;
    const last = records.findLast((r) => r.topic === waiting.customers);
    if (!nothingCame && (last === undefined || last.offset + 1 < waiting.until)) return;
    this.#control.resume(waiting.transactions);
    this.#waiting = undefined;
  }

  /** True while this topic is held back on purpose: not fetching is expected. */
  isHeld(topic: string): boolean {
    return this.#waiting?.transactions === topic;
  }
}
