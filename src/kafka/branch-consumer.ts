// One librdkafka consumer for one branch: partition p of the customers topic and partition p of
// the transactions topic, assigned by hand at the offsets stored in Postgres. Kafka's consumer
// group offsets are never used: the offsets that count commit with the data (see batch-writer).
import Kafka from 'node-rdkafka';
import { ERROR_CODES, IngesterError } from '../errors.js';
import { baseClientConfig } from './client-config.js';
import { retainHandle } from './retain-handle.js';
import type { RawRecord } from '../ingest/batch.js';

/** librdkafka's logical offset for "the oldest record still on the broker". */
const OFFSET_BEGINNING = -2;

export interface BranchConsumerOptions {
  brokers: string;
  partition: number;
  topics: string[];
  /** Stored next offsets; a topic without one starts at its beginning. */
  offsets: Map<string, number>;
  lingerMs: number;
}

export class BranchConsumer {
  readonly #consumer: Kafka.KafkaConsumer;

  private constructor(consumer: Kafka.KafkaConsumer) {
    this.#consumer = consumer;
  }

  static async connect(options: BranchConsumerOptions): Promise<BranchConsumer> {
    const consumer = retainHandle(new Kafka.KafkaConsumer(
      {
        ...baseClientConfig(options.brokers, `zipbank-branch-${options.partition}`),
        // librdkafka insists on a group id; nothing is committed to it (offsets live in Postgres).
        'group.id': 'zipbank-ingester',
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        'enable.partition.eof': false,
        // Keep the next batches fetched in the background while the current one is written.
        'queued.min.messages': 20_000,
        'fetch.wait.max.ms': 50,
      },
      { 'auto.offset.reset': 'earliest' },
    ));
    await new Promise<void>((resolve, reject) => {
      consumer.connect({ timeout: 15_000 }, (err) => {
        if (err) reject(new IngesterError(ERROR_CODES.KAFKA_UNAVAILABLE, `cannot reach Kafka at ${options.brokers}: ${err.message}`, { cause: err, canRetry: true }));
        else resolve();
      });
    });
    consumer.setDefaultConsumeTimeout(Math.max(1, options.lingerMs));
    consumer.assign(
      options.topics.map((topic) => ({ topic, partition: options.partition, offset: options.offsets.get(topic) ?? OFFSET_BEGINNING })),
    );
    return new BranchConsumer(consumer);
  }

  /** Up to `max` records, waiting at most the linger time for them. */
  consume(max: number): Promise<RawRecord[]> {
    return new Promise((resolve, reject) => {
      this.#consumer.consume(max, (err, messages) => {
        if (err) reject(new IngesterError(ERROR_CODES.KAFKA_ERROR, `consume failed: ${err.message}`, { cause: err, canRetry: true }));
        else resolve(messages.map((m) => ({ topic: m.topic, partition: m.partition, offset: m.offset, key: m.key as Buffer | null | undefined, value: m.value, timestamp: m.timestamp })));
      });
    });
  }

  /** Resolves when the consumer is closed; never throws (shutdown must go on). */
  disconnect(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      this.#consumer.disconnect(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
