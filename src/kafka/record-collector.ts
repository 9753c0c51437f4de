// How a branch gathers the records of its next write from librdkafka: up to a count and a byte
// cap, waiting for the first record, then lingering for more while the previous write runs. The
// binding's own consume(n) waits its timeout *per record*, so under a steady trickle a single
// call would hold the records back for seconds; so after the first record every call only takes
// what librdkafka has already fetched (a wait of 0), and between calls the collector sleeps until
// its deadline, or until it would be full at the pace seen so far. Each call is a round trip
// through a pool thread (two thread wake-ups and their system calls), so calls that each waited
// a few milliseconds for a further record would cost more CPU than the records themselves
// (docs/performance.md, *What was tried*).
import { setTimeout as sleep } from 'node:timers/promises';
import type { RawRecord } from './raw-record.js';

/** Records asked of one call while records are collected: bounds the message objects made at once. */
const MAX_RECORDS_PER_CALL = 500;

/** One consume call: up to `max` records, waiting up to `waitMs` for the first. */
export type ConsumeCall = (max: number, waitMs: number) => Promise<RawRecord[]>;

export interface CollectorOptions {
  lingerMs: number;
  /** The records stop growing once their keys and values reach this many bytes. */
  maxBytes: number;
  /** How long a call waits when nothing has come yet (src/kafka/consumer-pacing.ts). */
  idleWaitMs: number;
}

export class RecordCollector {
  readonly #call: ConsumeCall;
  readonly #options: CollectorOptions;
  /** Told what each call returned, and whether a whole wait brought nothing. */
  readonly #observe: (records: readonly RawRecord[], nothingCame: boolean) => void;
  /** Records fetched past the last collection's caps: the first of the next one, in order. */
  #carried: RawRecord[] = [];

  constructor(
    call: ConsumeCall,
    options: CollectorOptions,
    observe: (records: readonly RawRecord[], nothingCame: boolean) => void,
  ) {
    this.#call = call;
    this.#options = options;
    this.#observe = observe;
  }

  /** The consumer was assigned anew: what was carried will be fetched again. */
  reset(): void {
    this.#carried = [];
  }

  /**
   * Up to `max` records: waits up to the idle wait for the first one, then keeps collecting
   * until they are `max`, or the linger time since the first record has passed and `writerIdle`
   * has settled. `writerIdle` is the previous write: while it runs, records would wait for it
   * anyway, so they join these rather than a later collection. Writes grow with the load, and a
   * busy database gets fewer, larger statements exactly when it has least time for each.
   */
  async collect(max: number, writerIdle: Promise<unknown> = Promise.resolve()): Promise<RawRecord[]> {
    let writerBusy = true;
    const writerSettled = writerIdle.finally(() => (writerBusy = false)).catch(() => undefined);
    const { lingerMs, maxBytes } = this.#options;
    const collected: RawRecord[] = [];
    let bytes = 0;
    // Bytes bound memory as well as counts: 2,000 records of 64 KiB would otherwise be 128 MB. A
    // call can return more than fits (its size is guessed from the records seen so far, and a
    // collection that starts with small customers goes on with large transactions): what does
    // not fit is carried to the next one, so the caps hold exactly. A record larger than the byte
    // cap is collected on its own.
    const take = (records: RawRecord[]) => {
      for (let i = 0; i < records.length; i++) {
        const size = recordBytes(records[i]!);
        if (collected.length >= max || (collected.length > 0 && bytes + size > maxBytes)) {
          this.#carried.push(...records.slice(i));
          return;
        }
        collected.push(records[i]!);
        bytes += size;
      }
    };
    if (this.#carried.length > 0) {
      take(this.#carried.splice(0));
    } else {
      // Returns at the first record; the wait only spaces out the calls that find nothing.
      const first = await this.#call(1, this.#options.idleWaitMs);
      this.#observe(first, first.length === 0);
      if (first.length === 0) return collected;
      take(first);
    }
    const started = Date.now();
    const deadline = started + lingerMs;
    while (this.#carried.length === 0 && collected.length < max && bytes < maxBytes) {
      // Ask for about as many records as fit in the bytes left, judging by those seen so far.
      const fit = Math.floor((maxBytes - bytes) / Math.max(1, bytes / collected.length)) + 1;
      const asked = Math.max(1, Math.min(max - collected.length, MAX_RECORDS_PER_CALL, fit));
      const more = await this.#call(asked, 0);
      this.#observe(more, false);
      take(more);
      // As many as asked: more may be waiting in librdkafka's queue already.
      if (more.length === asked) continue;
      const now = Date.now();
      if (now < deadline)
        await sleep(Math.max(1, Math.min(deadline, fullAt(started, now, collected.length, max)) - now));
      else if (writerBusy) await writerSettled;
      else break;
    }
    return collected;
  }
}

/**
 * When records that grew to `size` between `started` and `now` reach `max` at that pace: a
 * backlog whose prefetch ran dry for a moment fills up long before the linger deadline, and is
 * not kept waiting for it. Never, as far as can be told, when nothing came after the first call.
 */
export function fullAt(started: number, now: number, size: number, max: number): number {
  return now > started && size > 0 ? started + ((now - started) * max) / size : Infinity;
}

function recordBytes(record: RawRecord): number {
  return (record.value?.length ?? 0) + (record.key?.length ?? 0);
}
