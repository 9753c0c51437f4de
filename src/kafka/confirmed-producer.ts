// A producer that knows when every record it sent is stored by the broker: it counts delivery
// reports, applies back-pressure when librdkafka's queue is full, and fails loudly on any loss.
import Kafka from 'node-rdkafka';
import { setTimeout as sleep } from 'node:timers/promises';
import { ERROR_CODES, IngesterError } from '../core/errors.js';
import { baseClientConfig } from './client-config.js';
import { kafkaConnection, type KafkaConnection } from './kafka-settings.js';
import { retainHandle } from './retain-handle.js';
import { connectClient } from './connect-client.js';

const MAX_IN_FLIGHT = 50_000;

export class ConfirmedProducer {
  readonly #producer: Kafka.Producer;
  #inFlight = 0;
  #delivered = 0;
  readonly #failures: string[] = [];

  private constructor(producer: Kafka.Producer) {
    this.#producer = producer;
    producer.on('delivery-report', (err) => {
      this.#inFlight--;
      if (err) this.#failures.push(err.message);
      else this.#delivered++;
    });
  }

  /** `lingerMs`: how long librdkafka gathers records per partition before sending them (default 5). */
  static async connect(
    brokersOrConnection: string | KafkaConnection,
    clientId: string,
    { lingerMs = 5 } = {},
  ): Promise<ConfirmedProducer> {
    const kafka = kafkaConnection(brokersOrConnection);
    const brokers = kafka.brokers;
    const producer = retainHandle(
      new Kafka.Producer({
        ...baseClientConfig(kafka, clientId),
        dr_cb: true,
        // Idempotence: librdkafka's internal retries never write a record twice or out of order.
        'enable.idempotence': true,
        'linger.ms': lingerMs,
        'batch.num.messages': 10_000,
        'queue.buffering.max.messages': MAX_IN_FLIGHT * 2,
      }),
    );
    await connectClient(producer, brokers, 15_000);
    producer.setPollInterval(20);
    return new ConfirmedProducer(producer);
  }

  get delivered(): number {
    return this.#delivered;
  }

  /**
   * Queues one record for an explicit partition; waits while too much is in flight. The record's
   * timestamp is now unless given (a producer may set any).
   */
  async send(topic: string, partition: number, key: string, value: Buffer, timestamp = Date.now()): Promise<void> {
    while (this.#inFlight >= MAX_IN_FLIGHT) await sleep(5);
    for (;;) {
      try {
        this.#producer.produce(topic, partition, value, key, timestamp);
        this.#inFlight++;
        return;
      } catch (err) {
        if ((err as Kafka.LibrdKafkaError).code !== Kafka.CODES.ERRORS.ERR__QUEUE_FULL) {
          throw new IngesterError(
            ERROR_CODES.PRODUCE_FAILED,
            `cannot produce to ${topic}[${partition}]: ${(err as Error).message}`,
            { cause: err },
          );
        }
        await sleep(10);
      }
    }
  }

  /** Resolves once every queued record has a delivery report; rejects when any was not stored. */
  async confirmAll(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#inFlight > 0 && Date.now() < deadline) {
      await new Promise<void>((resolve) => this.#producer.flush(1_000, () => resolve()));
    }
    if (this.#inFlight > 0) {
      throw new IngesterError(
        ERROR_CODES.PRODUCE_TIMEOUT,
        `${this.#inFlight} records still unconfirmed after ${timeoutMs} ms`,
      );
    }
    if (this.#failures.length > 0) {
      throw new IngesterError(
        ERROR_CODES.PRODUCE_FAILED,
        `${this.#failures.length} records were not stored, first error: ${this.#failures[0]}`,
      );
    }
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#producer.disconnect(() => resolve()));
  }
}
