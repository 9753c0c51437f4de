// The owned branch's loop: consume a batch, commit it in Postgres, report it, and run the chores
// that are due. The next batch is fetched from librdkafka while the current one is written.
// Records Postgres refuses are quarantined by the committer (src/ingest/batch-committer.ts);
// outages of the database and of Kafka are waited out by the branch's retry policy
// (src/worker/failure-report.ts says what a failure does besides), for commits and fetches alike.
// A stop throws (src/core/stop-signal.ts): what was not committed is read again by the next owner.
import { IngesterError } from '../core/errors.js';
import { rethrowUnknown, type RetryPolicy } from '../core/retry.js';
import type { Lease } from '../db/branch-lease.js';
import type { StoredPosition } from '../db/stored-position.js';
import { BatchCommitter, type ParkedPlan } from '../ingest/batch-committer.js';
import type { CommitOutcome } from '../ingest/commit-outcome.js';
import { ParkedQueue } from '../ingest/parked-queue.js';
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import type { RawRecord } from '../kafka/raw-record.js';
import type { BranchContext } from './branch-context.js';
import type { BranchEvents } from './branch-events.js';
import type { BranchPosition } from './branch-position.js';
import type { FaultInjector } from './fault-injection.js';
import type { FetchStallCheck } from './fetch-stall-check.js';
import { Maintenance } from './maintenance.js';
import { Prefetch } from './prefetch.js';
import type { BranchResult } from './protocol.js';
import type { ServerWatch } from './server-watch.js';

/**
 * Why an ownership run ended without a stop or a failure: the offsets must be checked again, the
 * Kafka consumer stopped fetching and is recreated, or the lease row went back in time with the
 * database and the lease is taken again. Each starts over at once.
 */
export type OwnershipEnd = 'recheck-offsets' | 'reconnect-kafka' | 'retake-lease';

export interface IngestLoopParts {
  lease: Lease;
  consumer: BranchConsumer;
  /** The branch's retries in this run: commits and fetches alike. */
  retry: RetryPolicy;
  events: BranchEvents;
  /** Where the branch stands on its topics, for lag. */
  lag: BranchPosition;
  /** The branch's position in Postgres as read for this run: every write commits from it on. */
  stored: StoredPosition;
  /** The branch's parked transactions as counted for this run. */
  parkedAtStart: number;
  /** The worker's batches and records so far, which it returns when it stops. */
  result: BranchResult;
  server: ServerWatch;
  fetchStall: FetchStallCheck;
  faults: FaultInjector;
  /** How long a consume call waits for a batch's first record. */
  idleWaitMs: number;
}

export class IngestLoop {
  readonly #branch: BranchContext;
  readonly #parts: IngestLoopParts;
  readonly #committer: BatchCommitter;
  readonly #maintenance: Maintenance;
  /**
   * Fetches retried like commits, but only Kafka's own failures are waited out: the consumer
   * throws IngesterErrors, so anything else is a bug that ends the worker, not a database outage.
   */
  readonly #fetchRetry: RetryPolicy;
  /** The branch's parked transactions as a queue per customer (src/ingest/parked-queue.ts). */
  readonly #parked: ParkedQueue;

  constructor(branch: BranchContext, parts: IngestLoopParts) {
    this.#branch = branch;
    this.#parts = parts;
    const { partition, topics, config } = branch;
    this.#committer = new BatchCommitter(
      branch.prisma,
      {
        topics,
        maxPayloadBytes: config.maxPayloadBytes,
        write: { partition, transactionsTopic: topics.transactions, lease: parts.lease },
        position: parts.stored,
      },
      parts.retry,
      branch.log,
    );
    this.#fetchRetry = parts.retry.classifyingWith(rethrowUnknown);
    this.#parked = new ParkedQueue(parts.parkedAtStart);
    this.#maintenance = new Maintenance(branch, {
      ...parts,
      stored: () => this.#committer.position,
      parked: this.#parked,
    });
  }

  /** The branch's position as this run's last write left it. */
  get position(): StoredPosition {
    return this.#committer.position;
  }

  /** Runs until the offsets must be rechecked or the consumer recreated; throws when stopped. */
  async run(): Promise<OwnershipEnd> {
    const branch = this.#branch;
    const { consumer, faults } = this.#parts;
    const parked = this.#parked;
    const collect = faults.collection(
      (writerIdle) => consumer.consume(branch.config.batchSize, writerIdle),
      this.#parts.idleWaitMs,
      branch.signal,
    );
    const prefetch = new Prefetch(collect);
    try {
      for (;;) {
        branch.signal.throwIfAborted();
        branch.alive();
        prefetch.writeDone();
        // Parked transactions to post and no new records yet: post a chunk now instead of
        // waiting out an idle fetch first (a drain of a million is hundreds of chunks).
        const drainFirst = parked.drainable && !prefetch.ready;
        const records = drainFirst ? [] : await this.#take(prefetch);
        if (records === 'recheck-offsets') return records;
        if (this.#topicReplaced()) return 'recheck-offsets';
        if (!drainFirst) await this.#fetched(records);
        branch.signal.throwIfAborted();
        if (records.length > 0 || parked.drainable) {
          const plan = parked.plan();
          parked.committed(await this.#commit(records, plan), plan);
          branch.signal.throwIfAborted();
          await faults.afterCommit(this.#parts.result.batches, (message) => branch.log.warn(message), branch.signal);
        }
        if (await this.#maintenance.runDue()) return 'reconnect-kafka';
      }
    } finally {
      // Whatever ended the loop (stop, lost lease, failure): let the prefetch settle before the
      // consumer is disconnected; its records are simply read again by the next owner.
      await prefetch.settle();
      this.#parts.events.flushBatches();
    }
  }

  /**
   * The next records. A fetch that failed for a passing reason is waited out by the retry
   * policy (librdkafka reconnects by itself). 'recheck-offsets' when the stored offset is gone
   * from the broker or a Kafka call never returned (class recheck).
   */
  async #take(prefetch: Prefetch): Promise<RawRecord[] | 'recheck-offsets'> {
    try {
      return await this.#fetchRetry.run('fetch from Kafka', () => prefetch.take());
    } catch (err) {
      if (!(err instanceof IngesterError) || err.errorClass !== 'recheck') throw err;
      this.#branch.log.warn(
        { code: err.code, err: err.message },
        err.code === 'KAFKA_CALL_HUNG'
          ? 'a Kafka call never returned; making the consumer again from the stored offsets'
          : 'the stored offset is no longer on the broker; checking for an offset gap',
      );
      return 'recheck-offsets';
    }
  }

  /**
   * True when Kafka says a topic of the branch was deleted and created again: the records just
   * fetched may be the new topic's, taken from where the old one ended, so nothing more is
   * committed from this consumer. The next run checks the topics against the last committed
   * records and ingests a new topic from its start (src/worker/topic-incarnation.ts).
   */
  #topicReplaced(): boolean {
    // Asked after every fetch: nothing is allocated unless a topic was replaced.
    if (this.#parts.consumer.replacedTopics().size === 0) return false;
    const replaced = [...this.#parts.consumer.replacedTopics()];
    this.#branch.log.warn(
      { topics: replaced },
      `Kafka says ${replaced.join(' and ')} was deleted and created again; checking the topic against the last committed records before anything more is committed`,
    );
    return true;
  }

  /** What follows a fetch before its records are written: stall and lag figures, the parked look. */
  async #fetched(records: RawRecord[]): Promise<void> {
    const branch = this.#branch;
    const { fetchStall, lag, events, retry } = this.#parts;
    const parked = this.#parked;
    fetchStall.fetched(records);
    lag.fetched(records);
    // Nothing more to write for now: what was committed is reported without waiting.
    if (records.length === 0) events.flushBatches();
    // Parked transactions: which of their customers exist now (a bounded look, every 500 ms
    // while records come, after each idle wait otherwise, and at once after this branch
    // created customers); their chunks go with the next commits.
    if (parked.count > 0 && this.#maintenance.parkedLookDue()) {
      await retry.run('look for the customers of parked transactions', () =>
        parked.look(branch.prisma, { transactionsTopic: branch.topics.transactions, partition: branch.partition }),
      );
    }
  }

  /** The transactions offset as Kafka numbers it, for the consumer group's lag tooling. */
  #kafkaOffset(ledgerOffset: number | undefined): number | undefined {
    return ledgerOffset === undefined
      ? undefined
      : this.#parts.consumer.kafkaOffset(this.#branch.topics.transactions, ledgerOffset);
  }

  /** Commits one batch and reports it. */
  async #commit(records: RawRecord[], plan: ParkedPlan): Promise<CommitOutcome> {
    const { partition, log, topics } = this.#branch;
    const { events, lag, result } = this.#parts;
    const writeStarted = process.hrtime.bigint();
    const outcome = await this.#committer.commit(records, plan);
    lag.committed(records);
    events.batchCommitted({
      records: records.length,
      customersCreated: outcome.customersCreated,
      posted: outcome.posted,
      postedToDefaultPartition: outcome.postedToDefaultPartition,
      parked: outcome.parked,
      rejectedByReason: outcome.rejectedByReason,
      writeSeconds: Number(process.hrtime.bigint() - writeStarted) / 1e9,
      transactionsNextOffset: this.#kafkaOffset(lag.storedOffset(topics.transactions)),
    });
    // After the batch's report: sending it sends the batch's rejections with it.
    if (outcome.refused > 0) events.emit({ type: 'writeFailed', partition, cause: 'data' });
    result.batches++;
    result.records += records.length;
    await this.#maintenance.committed(records.length, outcome);
    if (outcome.rejected > 0) {
      log.warn(
        { rejected: outcome.rejected, byReason: outcome.rejectedByReason },
        'records rejected, see table rejected_event',
      );
    }
    if (outcome.alreadyPosted > 0) {
      log.warn(
        { alreadyPosted: outcome.alreadyPosted },
        'records already in the ledger were skipped (stored offsets were behind the ledger)',
      );
    }
    log.debug({ ...outcome, records: records.length }, 'batch committed');
    return outcome;
  }
}
