// Promise-based topic administration over librdkafka: metadata through a producer handle
// (the AdminClient of node-rdkafka cannot describe topics), changes through the AdminClient.
import Kafka from 'node-rdkafka';
import { ERROR_CODES, IngesterError } from '../core/errors.js';
import { baseClientConfig } from './client-config.js';
import { kafkaConnection, type KafkaConnection } from './kafka-settings.js';
import { retainHandle } from './retain-handle.js';
import { connectClient } from './connect-client.js';

const TIMEOUT_MS = 15_000;

export class TopicAdmin {
  readonly #metadata: Kafka.Producer;
  readonly #admin: Kafka.IAdminClient;

  private constructor(metadata: Kafka.Producer, admin: Kafka.IAdminClient) {
    this.#metadata = metadata;
    this.#admin = admin;
  }

  static async connect(
    brokersOrConnection: string | KafkaConnection,
    connectTimeoutMs = TIMEOUT_MS,
  ): Promise<TopicAdmin> {
    const kafka = kafkaConnection(brokersOrConnection);
    const brokers = kafka.brokers;
    const config = baseClientConfig(kafka, 'zipbank-topic-admin');
    const metadata = retainHandle(new Kafka.Producer(config));
    await connectClient(metadata, brokers, connectTimeoutMs);
    // The AdminClient refuses event_cb (it has no log events to deliver).
    const { event_cb: _eventCb, ...adminConfig } = config;
    return new TopicAdmin(metadata, retainHandle(Kafka.AdminClient.create(adminConfig)));
  }

  /** Partition count of a topic, or undefined when it does not exist. */
  async partitionCount(topic: string): Promise<number | undefined> {
    const metadata = await new Promise<Kafka.Metadata>((resolve, reject) => {
      this.#metadata.getMetadata({ timeout: TIMEOUT_MS }, (err, data) =>
        err ? reject(kafkaError('read metadata', err)) : resolve(data),
      );
    });
    const found = metadata.topics.find((t) => t.name === topic);
    return found && found.partitions.length > 0 ? found.partitions.length : undefined;
  }

  /** The offset the next record of a partition will get (its high watermark). */
  async highWatermark(topic: string, partition: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#metadata.queryWatermarkOffsets(topic, partition, TIMEOUT_MS, (err, offsets) =>
        err ? reject(kafkaError(`read offsets of ${topic}[${partition}]`, err)) : resolve(offsets.highOffset),
      );
    });
  }

  /** Creates a topic; resolves false (not an error) when it exists already. */
  async createTopic(topic: string, partitions: number, config: Record<string, string> = {}): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.#admin.createTopic(
        // -1: the cluster's default.replication.factor (3 on a production cluster, 1 on a single local node).
        { topic, num_partitions: partitions, replication_factor: -1, config },
        TIMEOUT_MS,
        (err) => {
          if (!err) resolve(true);
          else if (err.code === Kafka.CODES.ERRORS.ERR_TOPIC_ALREADY_EXISTS) resolve(false);
          else reject(kafkaError(`create topic ${topic}`, err));
        },
      );
    });
  }

  /** Deletes a topic; a topic that is already gone is not an error. */
  async deleteTopic(topic: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#admin.deleteTopic(topic, TIMEOUT_MS, (err) => {
        if (!err || err.code === Kafka.CODES.ERRORS.ERR_UNKNOWN_TOPIC_OR_PART) resolve();
        else reject(kafkaError(`delete topic ${topic}`, err));
      });
    });
  }

  async close(): Promise<void> {
    this.#admin.disconnect();
    await new Promise<void>((resolve) => this.#metadata.disconnect(() => resolve()));
  }
}

function kafkaError(action: string, err: Kafka.LibrdKafkaError): IngesterError {
  const code = err.isRetriable ? ERROR_CODES.KAFKA_UNAVAILABLE : ERROR_CODES.KAFKA_ERROR;
  return new IngesterError(code, `Kafka could not ${action}: ${err.message}`, { cause: err });
}
