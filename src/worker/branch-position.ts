// Where an owned branch stands on its two topics: the next offsets committed in Postgres (what
// lag is measured from) and the log ends the broker last gave. The log end is the higher of
// librdkafka's figure from its last fetch and the broker's last answer: the first freezes when
// the consumer stops fetching (a stalled consumer, or writes failing with a full queue).
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import type { RawRecord } from '../kafka/raw-record.js';
import type { Watermarks } from '../ingest/offset-gaps.js';

/** A broker that does not say where the topics end within this long is asked again later. */
const LOG_END_TIMEOUT_MS = 2_000;

export class BranchPosition {
  readonly #partition: number;
  readonly #topics: readonly string[];
  /** Next offsets as committed, per topic. */
  #stored = new Map<string, number>();
  /** Log ends last read from the broker. */
  readonly #brokerLogEnds = new Map<string, number>();

  constructor(partition: number, topics: readonly string[]) {
    this.#partition = partition;
    this.#topics = topics;
  }

  /** The offsets just read from Postgres, replacing what was known. */
  set stored(offsets: Map<string, number>) {
    this.#stored = new Map(offsets);
  }

  storedOffset(topic: string): number | undefined {
    return this.#stored.get(topic);
  }

  /** Records of a committed batch move the stored offsets past them. */
  committed(records: readonly RawRecord[]): void {
    for (const record of records) {
      if ((this.#stored.get(record.topic) ?? -1) <= record.offset) this.#stored.set(record.topic, record.offset + 1);
    }
  }

  /** Per topic, the log end minus the stored offset; topics with no known log end are left out. */
  lag(consumer: BranchConsumer): Record<string, number> {
    const lag: Record<string, number> = {};
    for (const topic of this.#topics) {
      const high = Math.max(consumer.highWatermark(topic, this.#partition) ?? -1, this.#brokerLogEnds.get(topic) ?? -1);
      if (high >= 0) lag[topic] = Math.max(0, high - (this.#stored.get(topic) ?? 0));
    }
    return lag;
  }

  /**
   * Asks the broker where both topics start and end, at once and bounded, and keeps the log ends.
   * A topic it does not answer for is left out: no evidence either way.
   */
  async readWatermarks(consumer: BranchConsumer): Promise<Map<string, Watermarks>> {
    const answers = await Promise.all(
      this.#topics.map((topic) => consumer.watermarks(topic, LOG_END_TIMEOUT_MS).catch(() => undefined)),
    );
    const marks = new Map<string, Watermarks>();
    this.#topics.forEach((topic, i) => {
      const answer = answers[i];
      if (!answer) return;
      marks.set(topic, answer);
      this.#brokerLogEnds.set(topic, answer.high);
    });
    return marks;
  }
}
