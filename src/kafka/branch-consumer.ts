// One librdkafka consumer for one branch: partition p of the customers topic and partition p of
// the transactions topic, assigned by hand at the offsets stored in Postgres. Kafka's consumer
// group offsets are never used: the offsets that count commit with the data (see batch-writer).
// It never jumps over records: auto.offset.reset is 'error', so an offset that retention deleted
// under a running branch surfaces as a KAFKA_OFFSET_RESET error and the branch looks for the gap.
import Kafka from 'node-rdkafka';
import { withDeadline } from '../core/deadline.js';
import { ERROR_CODES, IngesterError } from '../core/errors.js';
import { baseClientConfig } from './client-config.js';
import type { KafkaConnection } from './kafka-settings.js';
import { retainHandle } from './retain-handle.js';
import { connectClient } from './connect-client.js';
import type { RawRecord } from './raw-record.js';
import type { ConsumerPacing } from './consumer-pacing.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** librdkafka's logical offset for "the oldest record still on the broker". */
const OFFSET_BEGINNING = -2;
/** Records asked of one call while a batch is collected: bounds the message objects made at once. */
const MAX_RECORDS_PER_CALL = 500;

/** A consume call returns within its wait; this long past it, the call is taken for stuck. */
const CONSUME_CALL_BOUND_MS = 30_000;

export interface BranchConsumerOptions {
  kafka: KafkaConnection;
  partition: number;
  topics: string[];
  lingerMs: number;
  /** A batch stops growing once its keys and values reach this many bytes. */
  maxBatchBytes: number;
  /** How long the broker and a consume call wait when there is nothing (consumer-pacing.ts). */
  pacing: ConsumerPacing;
}

/**
 * How a branch consumer fetches. Defaults: a setting of the same name from the Kafka settings
 * (file or KAFKA_CFG_*) replaces one (docs/operations.md, "Connecting to a secured cluster").
 */
function fetchTuning(pacing: ConsumerPacing): Kafka.ConsumerGlobalConfig {
  return {
    // Keep the next batches fetched in the background while the current one is written.
    'queued.min.messages': 10_000,
    // librdkafka's default prefetch cap per partition, times two partitions per branch and
    // every branch, would let a backlog take gigabytes; this cap still keeps batches full
    // (docs/performance.md).
    'queued.max.messages.kbytes': 4096,
    'fetch.wait.max.ms': pacing.fetchWaitMs,
    // When the prefetch queue is over those limits librdkafka postpones the partition's next
    // fetch by this much (default 1000 ms), and a branch would drain its queue and sit idle for
    // most of a second. A short pause keeps it fed.
    'fetch.queue.backoff.ms': 10,
  };
}

/** librdkafka's code when a fetch offset is out of range and auto.offset.reset is 'error'. */
const ERR_AUTO_OFFSET_RESET = -140;

export class BranchConsumer {
  readonly #consumer: Kafka.KafkaConsumer;
  readonly #options: BranchConsumerOptions;
  /** Records fetched past the last batch's caps: the first of the next batch, in order. */
  #carried: RawRecord[] = [];
  /** Fault injection only (deafen). */
  #deaf = false;
  /**
   * Per topic, the ledger offset of the topic's Kafka offset 0: 0 unless the topic was deleted and
   * created again (src/worker/topic-incarnation.ts). Every offset this class takes or gives is a
   * ledger offset; only the calls into librdkafka use Kafka's.
   */
  #bases = new Map<string, number>();
  /** Set while the transactions partition waits for the customers read up to `until`. */
  #customersFirst: { customers: string; transactions: string; until: number } | undefined;

  private constructor(consumer: Kafka.KafkaConsumer, options: BranchConsumerOptions) {
    this.#consumer = consumer;
    this.#options = options;
  }

  static async connect(options: BranchConsumerOptions): Promise<BranchConsumer> {
    const consumer = retainHandle(
      new Kafka.KafkaConsumer(
        {
          ...fetchTuning(options.pacing),
          ...baseClientConfig(options.kafka, `zipbank-branch-${options.partition}`),
          // librdkafka insists on a group id; nothing is committed to it (offsets live in Postgres).
          'group.id': 'zipbank-ingester',
          'enable.auto.commit': false,
          'enable.auto.offset.store': false,
          'enable.partition.eof': false,
        },
        // Never skip records silently: an offset out of range is an error the branch handles.
        { 'auto.offset.reset': 'error' },
      ),
    );
    // Short: the first failure is reported within seconds, and a stop waits for it no longer.
    await connectClient(consumer, options.kafka.brokers, 5_000);
    return new BranchConsumer(consumer, options);
  }

  /** The ledger offsets of each topic's Kafka offset 0 (absent: 0); set before assigning. */
  useOffsetBases(bases: ReadonlyMap<string, number>): void {
    this.#bases = new Map(bases);
  }

  #base(topic: string): number {
    return this.#bases.get(topic) ?? 0;
  }

  /** A ledger offset of this branch's partition of `topic`, as Kafka numbers it. */
  kafkaOffset(topic: string, ledgerOffset: number): number {
    return ledgerOffset - this.#base(topic);
  }

  /** Starts fetching at the stored next offsets; a topic without one starts at its beginning. */
  assign(offsets: ReadonlyMap<string, number>): void {
    const { topics, partition } = this.#options;
    this.#carried = [];
    this.#consumer.assign(
      topics.map((topic) => {
        const stored = offsets.get(topic);
        return { topic, partition, offset: stored === undefined ? OFFSET_BEGINNING : this.kafkaOffset(topic, stored) };
      }),
    );
  }

  /**
   * The record at a ledger offset, read on its own before the branch fetches (the recreated-topic
   * check); undefined when nothing comes within the wait. Leaves nothing assigned.
   */
  async recordAt(topic: string, ledgerOffset: number, waitMs = 5_000): Promise<RawRecord | undefined> {
    const { partition } = this.#options;
    this.#consumer.assign([{ topic, partition, offset: this.kafkaOffset(topic, ledgerOffset) }]);
    try {
      const [record] = await this.#consumeOnce(1, waitMs);
      return record;
    } finally {
      this.#consumer.unassign();
    }
  }

  /**
   * Customers first. In a backlog both partitions are fetched side by side, so a branch read
   * transactions before the customers they belong to, parked them, and posted them again later:
   * at 32 branches the branches that parked at start finished last, at half the others' rate.
   * The transactions partition stays paused until the customers partition has been read up to
   * the log end it had now (or has nothing more to give). Resolves the offset waited for, or
   * undefined when there is no customers backlog (or its end cannot be read: nothing is paused).
   */
  async assignCustomersFirst(
    offsets: ReadonlyMap<string, number>,
    topics: { customers: string; transactions: string },
  ): Promise<number | undefined> {
    // Asked before the assignment, so that the pause follows it at once, before any fetch.
    const end = await this.watermarks(topics.customers).then(
      (marks) => marks.high,
      () => undefined,
    );
    this.assign(offsets);
    if (end === undefined || (offsets.get(topics.customers) ?? 0) >= end) return undefined;
    this.#consumer.pause([{ topic: topics.transactions, partition: this.#options.partition }]);
    this.#customersFirst = { ...topics, until: end };
    return end;
  }

  /** Resumes the transactions once the customers backlog is read, or nothing more came. */
  #resumeWhenCustomersRead(records: readonly RawRecord[], nothingCame: boolean): void {
    const waiting = this.#customersFirst;
    if (waiting === undefined) return;
    const last = records.findLast((r) => r.topic === waiting.customers);
    if (!nothingCame && (last === undefined || last.offset + 1 < waiting.until)) return;
    this.#consumer.resume([{ topic: waiting.transactions, partition: this.#options.partition }]);
    this.#customersFirst = undefined;
  }

  /** True while this topic is held back on purpose (customers first): not fetching is expected. */
  isPaused(topic: string): boolean {
    return this.#customersFirst?.transactions === topic;
  }

  /** The oldest offset still on the broker and the log end, asked of the broker now. */
  watermarks(topic: string, timeoutMs = 10_000): Promise<{ low: number; high: number }> {
    return new Promise((resolve, reject) => {
      this.#consumer.queryWatermarkOffsets(topic, this.#options.partition, timeoutMs, (err, offsets) => {
        if (err)
          reject(
            new IngesterError(
              ERROR_CODES.KAFKA_UNAVAILABLE,
              `cannot read the offsets of ${topic}[${this.#options.partition}]: ${err.message}`,
              { cause: err },
            ),
          );
        else resolve({ low: offsets.lowOffset + this.#base(topic), high: offsets.highOffset + this.#base(topic) });
      });
    });
  }

  /**
   * Up to `max` records: waits up to the idle wait for the first one, then keeps collecting
   * until the batch is full, or the linger time since the first record has passed and
   * `writerIdle` has settled. The binding's own consume(n) waits its timeout *per record*, so
   * under a steady trickle a single call would hold a batch back for seconds; so after the first
   * record every call only takes what librdkafka has already fetched (a wait of 0), and between
   * calls the batch sleeps until its deadline, or until it would be full at the pace seen so far.
   * Each call is a round trip through a pool thread (two thread wake-ups and their system calls):
   * calls that each waited a few milliseconds for a further record made about ten of them per
   * batch, and at a few thousand records a second that polling, not the records, was most of the
   * ingester's CPU.
   *
   * `writerIdle` is the write of the previous batch. While it runs, records would wait for it
   * anyway, so they join this batch rather than a later one: batches grow with the load, and a
   * busy database gets fewer, larger statements exactly when it has least time for each.
   */
  async consume(max: number, writerIdle: Promise<unknown> = Promise.resolve()): Promise<RawRecord[]> {
    let writerBusy = true;
    const writerSettled = writerIdle.finally(() => (writerBusy = false)).catch(() => undefined);
    const { lingerMs, maxBatchBytes } = this.#options;
    const batch: RawRecord[] = [];
    let bytes = 0;
    // Bytes bound memory as well as counts: 2,000 records of 64 KiB would otherwise be 128 MB. A
    // fetch can return more than fits (its size is guessed from the records seen so far, and a
    // batch that starts with small customers goes on with large transactions): what does not fit
    // is carried to the next batch, so the caps hold exactly. A record larger than the byte cap
    // makes a batch of its own.
    const take = (records: RawRecord[]) => {
      for (let i = 0; i < records.length; i++) {
        const size = recordBytes(records[i]!);
        if (batch.length >= max || (batch.length > 0 && bytes + size > maxBatchBytes)) {
          this.#carried.push(...records.slice(i));
          return;
        }
        batch.push(records[i]!);
        bytes += size;
      }
    };
    if (this.#carried.length > 0) {
      take(this.#carried.splice(0));
    } else {
      // Returns at the first record; the wait only spaces out the calls that find nothing.
      const first = await this.#consumeOnce(1, this.#options.pacing.idleWaitMs);
      // A whole wait without a record: the customers backlog (if one was waited for) is read.
      this.#resumeWhenCustomersRead(first, first.length === 0);
      if (first.length === 0) return batch;
      take(first);
    }
    const started = Date.now();
    const deadline = started + lingerMs;
    while (this.#carried.length === 0 && batch.length < max && bytes < maxBatchBytes) {
      // Ask for about as many records as fit in the bytes left, judging by those seen so far.
      const fit = Math.floor((maxBatchBytes - bytes) / Math.max(1, bytes / batch.length)) + 1;
      const asked = Math.max(1, Math.min(max - batch.length, MAX_RECORDS_PER_CALL, fit));
      const more = await this.#consumeOnce(asked, 0);
      this.#resumeWhenCustomersRead(more, false);
      take(more);
      // As many as asked: more may be waiting in librdkafka's queue already.
      if (more.length === asked) continue;
      const now = Date.now();
      if (now < deadline) await sleep(Math.max(1, Math.min(deadline, fullAt(started, now, batch.length, max)) - now));
      else if (writerBusy) await writerSettled;
      else break;
    }
    return batch;
  }

  /**
   * Fault injection only (ZIPBANK_FAULT_DEAF_BRANCH): from now on every call finds nothing,
   * without an error, as librdkafka's consumer can after a broker restart (fetch-stall.ts).
   */
  deafen(): void {
    this.#deaf = true;
  }

  #consumeOnce(max: number, waitMs: number): Promise<RawRecord[]> {
    if (this.#deaf) return sleep(waitMs).then(() => []);
    this.#consumer.setDefaultConsumeTimeout(waitMs);
    const call = new Promise<RawRecord[]>((resolve, reject) => {
      this.#consumer.consume(max, (err, messages) => {
        if (err)
          reject(
            new IngesterError(
              err.code === ERR_AUTO_OFFSET_RESET ? ERROR_CODES.KAFKA_OFFSET_RESET : ERROR_CODES.KAFKA_UNAVAILABLE,
              `consume failed: ${err.message}`,
              { cause: err },
            ),
          );
        else
          resolve(
            messages.map((m) => ({
              topic: m.topic,
              partition: m.partition,
              offset: m.offset + this.#base(m.topic),
              key: m.key as Buffer | null | undefined,
              value: m.value,
              timestamp: m.timestamp,
            })),
          );
      });
    });
    // The call takes from librdkafka's local queue and returns within its wait: one that does
    // not return long after is stuck, and the consumer is made again (KAFKA_CALL_HUNG).
    return withDeadline(
      call,
      waitMs + CONSUME_CALL_BOUND_MS,
      () =>
        new IngesterError(
          ERROR_CODES.KAFKA_CALL_HUNG,
          `a Kafka consume call did not return in ${(waitMs + CONSUME_CALL_BOUND_MS) / 1000} s; the consumer is made again`,
        ),
    );
  }

  /**
   * The partition's high watermark as librdkafka last saw it on a fetch (no broker round trip);
   * undefined before the first fetch.
   */
  highWatermark(topic: string, partition: number): number | undefined {
    try {
      const { highOffset } = this.#consumer.getWatermarkOffsets(topic, partition);
      return highOffset >= 0 ? highOffset + this.#base(topic) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The partition's log start as librdkafka last saw it on a fetch (no broker round trip). */
  logStart(topic: string): number | undefined {
    try {
      const { lowOffset } = this.#consumer.getWatermarkOffsets(topic, this.#options.partition);
      return lowOffset >= 0 ? lowOffset + this.#base(topic) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The offset after the last record librdkafka handed over on this topic, transaction markers
   * included (it steps over those itself); undefined before the first. No broker round trip.
   */
  position(topic: string): number | undefined {
    try {
      const [current] = this.#consumer.position([{ topic, partition: this.#options.partition }]);
      return current && current.offset >= 0 ? current.offset + this.#base(topic) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Resolves when the consumer is closed; never throws (shutdown must go on). */
  disconnect(): Promise<void> {
    return new Promise((resolve) => {
      // Bounded: a broker that does not answer must not hold the shutdown past its bound.
      const timer = setTimeout(resolve, 5_000);
      this.#consumer.disconnect(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/**
 * When a batch that grew to `size` records between `started` and `now` reaches `max` at that
 * pace: a backlog whose prefetch ran dry for a moment fills its batch long before the linger
 * deadline, and is not kept waiting for it. Never, as far as can be told, when nothing came
 * after the first call.
 */
export function fullAt(started: number, now: number, size: number, max: number): number {
  return now > started && size > 0 ? started + ((now - started) * max) / size : Infinity;
}

function recordBytes(record: RawRecord): number {
  return (record.value?.length ?? 0) + (record.key?.length ?? 0);
}
