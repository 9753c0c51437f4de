// --partitions auto: the supervisor joins a Kafka consumer group only to learn which branches it
// owns. Kafka's own group coordinator spreads the transactions topic's partitions (= branches)
// over the supervisors, with the cooperative-sticky assignor so that a member joining or leaving
// moves only the branches that must move (classic protocol: librdkafka 2.12 has known stalls with
// the newer `consumer` protocol). This consumer never reads a record: every partition it is given
// is paused at once. The branch workers keep their own consumers, assigned by hand at the offsets
// in Postgres, and the Postgres lease still guarantees one writer per branch during a rebalance.
// After each batch, the branch's next offset is also committed to the group, for monitoring only:
// kafka-consumer-groups.sh, Kafka UIs and KEDA see the true lag of the transactions topic.
import Kafka from 'node-rdkafka';
import { baseClientConfig } from './client-config.js';
import { connectClient } from './connect-client.js';
import { retainHandle } from './retain-handle.js';
import type { KafkaConnection } from './kafka-settings.js';

/** How often the group consumer is polled: rebalance callbacks are served from its poll. */
const POLL_MS = 200;
/** Committed offsets are flushed to the group at most this often. */
const COMMIT_INTERVAL_MS = 1_000;

export interface MembershipListener {
  assigned(partitions: number[]): void;
  revoked(partitions: number[]): void;
}

export class GroupMembership {
  readonly #consumer: Kafka.KafkaConsumer;
  readonly #topic: string;
  /** The latest next offset of each branch this member holds, committed again every flush. */
  readonly #latest = new Map<number, number>();
  /** Partitions the group gave this member now: only theirs are committed. */
  readonly #assigned = new Set<number>();
  #polling = true;
  #loop: Promise<void> = Promise.resolve();
  #flusher: NodeJS.Timeout | undefined;

  private constructor(consumer: Kafka.KafkaConsumer, topic: string) {
    this.#consumer = consumer;
    this.#topic = topic;
  }

  static async join(
    kafka: KafkaConnection,
    group: string,
    topic: string,
    sessionTimeoutMs: number,
    listener: MembershipListener,
  ): Promise<GroupMembership> {
    const consumer = retainHandle(
      new Kafka.KafkaConsumer(
        {
          ...baseClientConfig(kafka, `zipbank-membership-${group}`),
          'group.id': group,
          'partition.assignment.strategy': 'cooperative-sticky',
          'session.timeout.ms': sessionTimeoutMs,
          'heartbeat.interval.ms': Math.max(500, Math.floor(sessionTimeoutMs / 5)),
          'enable.auto.commit': false,
          'enable.auto.offset.store': false,
          // The binding assigns and unassigns incrementally itself; we only listen.
          rebalance_cb: true,
          // Nothing is read, but keep the prefetch minimal should a fetch start before the pause.
          'queued.max.messages.kbytes': 64,
        },
        { 'auto.offset.reset': 'latest' },
      ),
    );
    const membership = new GroupMembership(consumer, topic);
    consumer.on('rebalance', (err: Kafka.LibrdKafkaError, assignment: Kafka.Assignment[]) => {
      const partitions = assignment
        .filter((a) => a.topic === topic)
        .map((a) => a.partition)
        .sort((a, b) => a - b);
      if (err.code === Kafka.CODES.ERRORS.ERR__ASSIGN_PARTITIONS) {
        // Paused for good: this consumer only holds the assignment, the workers read. A pause
        // fails ("Erroneous state") when the assignment arrives while the consumer is closing;
        // thrown from this callback it ended the whole supervisor during a clean stop. Unpaused,
        // the consumer at worst prefetches its 64 KB, which nothing reads.
        try {
          consumer.pause(assignment);
        } catch {
          // Nothing to undo: the assignment is still recorded below and released on close.
        }
        for (const p of partitions) membership.#assigned.add(p);
        listener.assigned(partitions);
      } else if (err.code === Kafka.CODES.ERRORS.ERR__REVOKE_PARTITIONS) {
        for (const p of partitions) {
          membership.#assigned.delete(p);
          membership.#latest.delete(p);
        }
        listener.revoked(partitions);
      }
    });
    await connectClient(consumer, kafka.brokers, 10_000);
    consumer.subscribe([topic]);
    membership.#loop = membership.#poll();
    membership.#flusher = setInterval(() => membership.#flush(), COMMIT_INTERVAL_MS);
    return membership;
  }

  /** Records a branch's next offset in Postgres; committed to the group within a second. */
  noteCommitted(partition: number, nextOffset: number): void {
    // A revoked branch still draining reports offsets its new owner has passed: committing them
    // would move the group's offset back.
    if (this.#assigned.has(partition)) this.#latest.set(partition, nextOffset);
  }

  async #poll(): Promise<void> {
    this.#consumer.setDefaultConsumeTimeout(POLL_MS);
    while (this.#polling) {
      await new Promise<void>((resolve) => this.#consumer.consume(1, () => resolve()));
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Commits every held branch's latest offset, changed or not: a commit the broker refuses during
   * a rebalance is simply made again a second later (at most one request a second, a few bytes
   * per branch), so the group's offsets end equal to Postgres's even when the load has stopped.
   */
  #flush(): void {
    if (this.#latest.size === 0) return;
    const offsets = [...this.#latest].map(([partition, offset]) => ({ topic: this.#topic, partition, offset }));
    try {
      this.#consumer.commit(offsets);
    } catch {
      // Monitoring only: Postgres holds the offsets that count. The next flush tries again.
    }
  }

  /** Leaves the group (the remaining members take the branches over) and closes the consumer. */
  async leave(): Promise<void> {
    if (this.#flusher) clearInterval(this.#flusher);
    this.#flush();
    this.#polling = false;
    await this.#loop;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 5_000);
      this.#consumer.disconnect(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
