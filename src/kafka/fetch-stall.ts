// Notices a Kafka consumer that has stopped fetching. librdkafka can leave a consumer that was
// assigned partitions by hand fetching nothing after a broker restart, with no error, until the
// consumer is recreated (confluentinc/librdkafka#5153; seen here in test/broker-outage.test.ts).
// The branch would then stand still with records waiting, its cached high watermark frozen, so
// even its lag would read 0. The branch worker asks the broker for the log end now and then and
// feeds it here: records that wait on the broker while none of their topic arrive are a stall.
// Pure logic, so that it is tested without a broker (test/fetch-stall.test.ts).

/** Where a branch stands on one topic: the offset its reading has reached, and the broker's log end. */
export interface FetchPosition {
  topic: string;
  nextOffset: number;
  logEnd: number;
}

/** Records waiting on the broker for `forMs` while none of their topic were fetched. */
export interface FetchStall extends FetchPosition {
  forMs: number;
}

/**
 * 'reconnect': the first time records wait at this offset: recreate the consumer.
 * 'unfetchable': they still wait at the same offset after a reconnect, so a new consumer does not
 * help either: said once, not retried in a loop.
 */
export type FetchStallVerdict = { action: 'reconnect' | 'unfetchable'; stall: FetchStall };

export class FetchStallWatch {
  readonly #stallMs: number;
  /** Per topic: since when records have waited at this next offset. */
  readonly #waiting = new Map<string, { nextOffset: number; since: number }>();
  /** Per topic: the next offset a reconnect was already tried (or the stall reported) at. */
  readonly #handledAt = new Map<string, { offset: number; reported: boolean }>();

  constructor(stallMs: number) {
    this.#stallMs = stallMs;
  }

  /** Records of these topics were fetched: whatever waited on them is moving. */
  fetched(topics: Iterable<string>): void {
    for (const topic of topics) {
      this.#waiting.delete(topic);
      this.#handledAt.delete(topic);
    }
  }

  /**
   * Takes the positions just read from the broker; returns what to do about the first topic
   * whose records have waited `stallMs` without any of them being fetched, if there is one.
   */
  observe(now: number, positions: readonly FetchPosition[]): FetchStallVerdict | undefined {
    for (const position of positions) {
      const { topic, nextOffset, logEnd } = position;
      if (logEnd <= nextOffset) {
        this.#waiting.delete(topic);
        continue;
      }
      const waiting = this.#waiting.get(topic);
      if (waiting?.nextOffset !== nextOffset) {
        this.#waiting.set(topic, { nextOffset, since: now });
        continue;
      }
      const forMs = now - waiting.since;
      if (forMs < this.#stallMs) continue;
      const stall = { ...position, forMs };
      const handled = this.#handledAt.get(topic);
      if (handled?.offset !== nextOffset) {
        this.#handledAt.set(topic, { offset: nextOffset, reported: false });
        // The new consumer gets a whole stallMs of its own before it is judged.
        this.#waiting.clear();
        return { action: 'reconnect', stall };
      }
      if (!handled.reported) {
        handled.reported = true;
        return { action: 'unfetchable', stall };
      }
    }
    return undefined;
  }
}
