// One librdkafka consumer for one branch: partition p of the customers topic and partition p of
// the transactions topic, assigned by hand at the offsets stored in Postgres. This file is the
// wrapper around the binding; the ledger's offsets (offset-bases.ts), the customers-first pause
// (customers-first.ts) and how records are gathered for a write (record-collector.ts) are apart. Kafka's consumer
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
import { CustomersFirst } from './customers-first.js';
import { OffsetBases } from './offset-bases.js';
import { RecordCollector } from './record-collector.js';
import { TopicReplacementWatch, withMetadataDebug } from './topic-replacement.js';

/** librdkafka's logical offset for "the oldest record still on the broker". */
const OFFSET_BEGINNING = -2;
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
  readonly #bases = new OffsetBases();
  readonly #customersFirst: CustomersFirst;
  readonly #collector: RecordCollector;
  readonly #replacement: TopicReplacementWatch;

  private constructor(consumer: Kafka.KafkaConsumer, options: BranchConsumerOptions) {
    this.#consumer = consumer;
    this.#options = options;
    this.#replacement = new TopicReplacementWatch(consumer as unknown as NodeJS.EventEmitter, options.topics);
    const partition = options.partition;
    this.#customersFirst = new CustomersFirst({
      pause: (topic) => {
        consumer.pause([{ topic, partition }]);
      },
      resume: (topic) => {
        consumer.resume([{ topic, partition }]);
      },
    });
    this.#collector = new RecordCollector(
      (max, waitMs) => this.#consumeOnce(max, waitMs),
      { lingerMs: options.lingerMs, maxBytes: options.maxBatchBytes, idleWaitMs: options.pacing.idleWaitMs },
      (records, nothingCame) => this.#customersFirst.observe(records, nothingCame),
    );
  }

  static async connect(options: BranchConsumerOptions): Promise<BranchConsumer> {
    const consumer = retainHandle(
      new Kafka.KafkaConsumer(
        withMetadataDebug({
          ...fetchTuning(options.pacing),
          ...baseClientConfig(options.kafka, `zipbank-branch-${options.partition}`),
          // librdkafka insists on a group id; nothing is committed to it (offsets live in Postgres).
          'group.id': 'zipbank-ingester',
          'enable.auto.commit': false,
          'enable.auto.offset.store': false,
          'enable.partition.eof': false,
        }),
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
    this.#bases.use(bases);
  }

  /** A ledger offset of this branch's partition of `topic`, as Kafka numbers it. */
  kafkaOffset(topic: string, ledgerOffset: number): number {
    return this.#bases.toKafka(topic, ledgerOffset);
  }

  /** Starts fetching at the stored next offsets; a topic without one starts at its beginning. */
  assign(offsets: ReadonlyMap<string, number>): void {
    const { topics, partition } = this.#options;
    this.#collector.reset();
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
   * Assigns the stored offsets, customers first (src/kafka/customers-first.ts): with a customers
   * backlog, the transactions partition waits until it is read. Resolves the offset waited for,
   * or undefined when there is no customers backlog (or its end cannot be read: nothing waits).
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
    this.#customersFirst.hold(topics, end);
    return end;
  }

  /**
   * Topics Kafka says were deleted and created again since this consumer connected
   * (src/kafka/topic-replacement.ts): what it fetched from them may be the new topic's records.
   */
  replacedTopics(): ReadonlySet<string> {
    return this.#replacement.replaced;
  }

  /** True while this topic is held back on purpose (customers first): not fetching is expected. */
  isPaused(topic: string): boolean {
    return this.#customersFirst.isHeld(topic);
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
        else
          resolve({
            low: this.#bases.toLedger(topic, offsets.lowOffset),
            high: this.#bases.toLedger(topic, offsets.highOffset),
          });
      });
    });
  }

  /** The records of the next write, at most `max` (src/kafka/record-collector.ts). */
  consume(max: number, writerIdle?: Promise<unknown>): Promise<RawRecord[]> {
    return this.#collector.collect(max, writerIdle);
  }

  #consumeOnce(max: number, waitMs: number): Promise<RawRecord[]> {
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
              offset: this.#bases.toLedger(m.topic, m.offset),
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
      return highOffset >= 0 ? this.#bases.toLedger(topic, highOffset) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The partition's log start as librdkafka last saw it on a fetch (no broker round trip). */
  logStart(topic: string): number | undefined {
    try {
      const { lowOffset } = this.#consumer.getWatermarkOffsets(topic, this.#options.partition);
      return lowOffset >= 0 ? this.#bases.toLedger(topic, lowOffset) : undefined;
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
      return current && current.offset >= 0 ? this.#bases.toLedger(topic, current.offset) : undefined;
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
