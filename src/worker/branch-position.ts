// Where an owned branch stands on its two topics: the next offsets committed in Postgres (what
// lag is measured from), the log starts and ends the broker last gave, and the Kafka timestamps
// of the last committed and the oldest uncommitted record (lag in time). The log end is the higher of
// librdkafka's figure from its last fetch and the broker's last answer: the first freezes when
// the consumer stops fetching (a stalled consumer, or writes failing with a full queue).
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import type { RawRecord } from '../kafka/raw-record.js';
import type { Watermarks } from '../ingest/offset-gaps.js';
import type { LagReport } from './protocol.js';

/** A broker that does not say where the topics end within this long is asked again later. */
const LOG_END_TIMEOUT_MS = 2_000;

/** What the position asks of the branch's consumer of this ownership run. */
export type LagSource = Pick<BranchConsumer, 'highWatermark' | 'logStart' | 'watermarks'>;

export class BranchPosition {
  readonly #partition: number;
  readonly #topics: readonly string[];
  readonly #consumer: LagSource;
  /** Next offsets as committed, per topic. */
  #stored = new Map<string, number>();
  /** The stored offsets were read this run: a topic without one is then at 0, not unknown. */
  #storedRead = false;
  /** Log ends last read from the broker. */
  readonly #brokerLogEnds = new Map<string, number>();
  /** Log starts last read from the broker: what retention will delete next. */
  readonly #brokerLogStarts = new Map<string, number>();
  /** Kafka timestamp (ms) of the last committed record, per topic. */
  readonly #committedAt = new Map<string, number>();
  /** Kafka timestamp (ms) of the oldest record fetched and not committed yet, per topic. */
  readonly #pendingSince = new Map<string, number>();

  constructor(partition: number, topics: readonly string[], consumer: LagSource) {
    this.#partition = partition;
    this.#topics = topics;
    this.#consumer = consumer;
  }

  /**
   * The offsets just read from Postgres, replacing what was known; records fetched before are
   * fetched again by the consumer made from them.
   */
  set stored(offsets: Map<string, number>) {
    this.#stored = new Map(offsets);
    this.#storedRead = true;
    this.#pendingSince.clear();
  }

  storedOffset(topic: string): number | undefined {
    return this.#stored.get(topic);
  }

  /** A fetched batch: its first record per topic is the oldest not committed (until it is). */
  fetched(records: readonly RawRecord[]): void {
    for (const record of records) {
      if (record.timestamp !== undefined && !this.#pendingSince.has(record.topic))
        this.#pendingSince.set(record.topic, record.timestamp);
    }
  }

  /** Records of a committed batch move the stored offsets past them. */
  committed(records: readonly RawRecord[]): void {
    for (const record of records) {
      if ((this.#stored.get(record.topic) ?? -1) <= record.offset) {
        this.#stored.set(record.topic, record.offset + 1);
        if (record.timestamp !== undefined) this.#committedAt.set(record.topic, record.timestamp);
      }
      this.#pendingSince.delete(record.topic);
    }
  }

  /** Per topic, the log end minus the stored offset; topics with no known log end are left out, and all before the stored offsets are read. */
  lag(): Record<string, number> {
    const lag: Record<string, number> = {};
    for (const topic of this.#topics) {
      const high = this.#logEnd(topic);
      // Before the stored offsets are read (the start of a run), there is no lag to tell.
      if (high >= 0 && this.#storedRead) lag[topic] = Math.max(0, high - (this.#stored.get(topic) ?? 0));
    }
    return lag;
  }

  /**
   * Lag in records and in time, the last committed record's timestamp, and the retention
   * headroom, per topic (src/worker/protocol.ts, the lag event, says what each is).
   */
  report(now = Date.now()): LagReport {
    const consumer = this.#consumer;
    const report: LagReport = { lag: this.lag(), seconds: {}, committedAtMs: {}, headroom: {} };
    for (const topic of this.#topics) {
      const lag = report.lag[topic];
      if (lag !== undefined) {
        // The oldest record not committed: the first one fetched, else (not fetched yet) one
        // produced after the last committed record, whose age is then the bound.
        const since = this.#pendingSince.get(topic) ?? this.#committedAt.get(topic);
        if (lag === 0) report.seconds[topic] = 0;
        else if (since !== undefined) report.seconds[topic] = Math.max(0, (now - since) / 1000);
      }
      const committedAt = this.#committedAt.get(topic);
      if (committedAt !== undefined) report.committedAtMs[topic] = committedAt;
      const low = Math.max(consumer.logStart(topic) ?? -1, this.#brokerLogStarts.get(topic) ?? -1);
      const high = this.#logEnd(topic);
      const stored = this.#stored.get(topic);
      if (low >= 0 && high >= low && stored !== undefined)
        report.headroom[topic] = { records: Math.max(0, stored - low), retained: high - low };
    }
    return report;
  }

  #logEnd(topic: string): number {
    return Math.max(this.#consumer.highWatermark(topic, this.#partition) ?? -1, this.#brokerLogEnds.get(topic) ?? -1);
  }

  /**
   * Asks the broker where both topics start and end, at once and bounded, and keeps the log ends.
   * A topic it does not answer for is left out: no evidence either way.
   */
  async readWatermarks(): Promise<Map<string, Watermarks>> {
    const answers = await Promise.all(
      this.#topics.map((topic) => this.#consumer.watermarks(topic, LOG_END_TIMEOUT_MS).catch(() => undefined)),
    );
    const marks = new Map<string, Watermarks>();
    this.#topics.forEach((topic, i) => {
      const answer = answers[i];
      if (!answer) return;
      marks.set(topic, answer);
      this.#brokerLogEnds.set(topic, answer.high);
      this.#brokerLogStarts.set(topic, answer.low);
    });
    return marks;
  }
}
