// The owned branch's loop: consume a batch, commit it in Postgres, report it, and run the chores
// that are due. The next batch is fetched from librdkafka while the current one is written.
// Records Postgres refuses are quarantined by the committer (src/ingest/batch-committer.ts);
// outages are waited out inside the commit; a fetch failure is handled by its error's class.
import { Backoff } from '../core/backoff.js';
import { IngesterError } from '../core/errors.js';
import type { Lease } from '../db/branch-lease.js';
import type { StoredPosition } from '../db/stored-position.js';
import { BatchCommitter, type ParkedPlan } from '../ingest/batch-committer.js';
import type { CommitOutcome } from '../ingest/commit-outcome.js';
import { ParkedQueue } from '../ingest/parked-queue.js';
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import type { RawRecord } from '../kafka/raw-record.js';
import type { BranchContext } from './branch-context.js';
import type { FaultInjector } from './fault-injection.js';
import type { FetchStallCheck } from './fetch-stall-check.js';
import { Maintenance } from './maintenance.js';
import { Prefetch } from './prefetch.js';
import type { ServerWatch } from './server-watch.js';

/**
 * Why ownership of the branch ended: asked to stop, the offsets must be checked again, the
 * Kafka consumer stopped fetching and is recreated, or the lease row went back in time with the
 * database and the lease is taken again. All but 'stopped' start over at once.
 */
export type OwnershipEnd = 'stopped' | 'recheck-offsets' | 'reconnect-kafka' | 'retake-lease';

export interface IngestLoopParts {
  branch: BranchContext;
  lease: Lease;
  consumer: BranchConsumer;
  /** The branch's position in Postgres as read for this run: every write commits from it on. */
  position: StoredPosition;
  /** The branch's parked transactions as counted for this run. */
  parkedAtStart: number;
  server: ServerWatch;
  fetchStall: FetchStallCheck;
  faults: FaultInjector;
}

export class IngestLoop {
  readonly #branch: BranchContext;
  readonly #consumer: BranchConsumer;
  readonly #committer: BatchCommitter;
  readonly #maintenance: Maintenance;
  readonly #fetchStall: FetchStallCheck;
  readonly #faults: FaultInjector;
  readonly #fetchBackoff = new Backoff();
  /** The branch's parked transactions as a queue per customer (src/ingest/parked-queue.ts). */
  readonly #parked: ParkedQueue;

  constructor({ branch, lease, consumer, position, parkedAtStart, server, fetchStall, faults }: IngestLoopParts) {
    this.#branch = branch;
    this.#consumer = consumer;
    this.#fetchStall = fetchStall;
    this.#faults = faults;
    const { partition, topics, config } = branch;
    this.#committer = new BatchCommitter(
      branch.prisma,
      {
        topics,
        maxPayloadBytes: config.maxPayloadBytes,
        write: { partition, transactionsTopic: topics.transactions, lease },
        position,
      },
      (what, action) => branch.attempt(what, action),
      branch.log,
    );
    this.#parked = new ParkedQueue(parkedAtStart);
    this.#maintenance = new Maintenance(branch, lease, consumer, fetchStall, {
      server,
      position: () => this.#committer.position,
      parked: this.#parked,
    });
  }

  /** The branch's position as this run's last write left it. */
  get position(): StoredPosition {
    return this.#committer.position;
  }

  /** Runs until stopped, or until the offsets must be rechecked or the consumer recreated. */
  async run(): Promise<OwnershipEnd> {
    const branch = this.#branch;
    const parked = this.#parked;
    const prefetch = new Prefetch((writerIdle) => this.#consumer.consume(branch.config.batchSize, writerIdle));
    try {
      while (!branch.stopped) {
        branch.alive();
        prefetch.writeDone();
        // Parked transactions to post and no new records yet: post a chunk now instead of
        // waiting out an idle fetch first (a drain of a million is hundreds of chunks).
        const drainFirst = parked.drainable && !prefetch.ready;
        const records = drainFirst ? [] : await this.#take(prefetch);
        if (records === undefined) break; // stopping
        if (records === 'recheck-offsets') return records;
        if (records === 'again') continue;
        if (!drainFirst) await this.#fetched(records, parked);
        if (branch.stopped) break;
        if (records.length > 0 || parked.drainable) {
          const plan = parked.plan();
          const outcome = await this.#commit(records, plan);
          if (!outcome) break; // stopping: what was not committed is read again
          parked.committed(outcome, plan);
          await this.#faults.afterCommit(branch.result.batches, this.#consumer, {
            warn: (message) => branch.log.warn(message),
            stopped: () => branch.stopped,
          });
        }
        if (await this.#maintenance.runDue()) return 'reconnect-kafka';
      }
      return 'stopped';
    } finally {
      // Whatever ended the loop (stop, lost lease, failure): let the prefetch settle before the
      // consumer is disconnected; its records are simply read again by the next owner.
      await prefetch.settle();
      branch.events.flushBatches();
    }
  }

  /**
   * The next records. A fetch that failed for a passing reason is waited out with backoff
   * (librdkafka reconnects by itself): 'again' once the wait is over. 'recheck-offsets' when the
   * stored offset is gone from the broker or a Kafka call never returned (class recheck);
   * undefined when stopping.
   */
  async #take(prefetch: Prefetch): Promise<RawRecord[] | 'again' | 'recheck-offsets' | undefined> {
    const branch = this.#branch;
    try {
      const records = await prefetch.take();
      this.#fetchBackoff.reset();
      return records;
    } catch (thrown) {
      const err = thrown instanceof IngesterError ? thrown : undefined;
      if (err?.errorClass === 'recheck') {
        branch.log.warn(
          { code: err.code, err: err.message },
          err.code === 'KAFKA_CALL_HUNG'
            ? 'a Kafka call never returned; making the consumer again from the stored offsets'
            : 'the stored offset is no longer on the broker; checking for an offset gap',
        );
        return 'recheck-offsets';
      }
      if (err?.errorClass !== 'retry') throw thrown;
      branch.log.warn({ err: err.message, delayMs: this.#fetchBackoff.peek() }, 'fetch from Kafka failed, retrying');
      return (await branch.sleep(this.#fetchBackoff.next())) ? undefined : 'again';
    }
  }

  /** What follows a fetch before its records are written: stall and lag figures, the parked look. */
  async #fetched(records: RawRecord[], parked: ParkedQueue): Promise<void> {
    const branch = this.#branch;
    this.#fetchStall.fetched(records);
    branch.position.fetched(records);
    // Nothing more to write for now: what was committed is reported without waiting.
    if (records.length === 0) branch.events.flushBatches();
    // Parked transactions: which of their customers exist now (a bounded look, every 500 ms
    // while records come, after each idle wait otherwise, and at once after this branch
    // created customers); their chunks go with the next commits.
    if (parked.count > 0 && this.#maintenance.parkedLookDue()) {
      await branch.attempt('look for the customers of parked transactions', () =>
        parked.look(branch.prisma, { transactionsTopic: branch.topics.transactions, partition: branch.partition }),
      );
    }
  }

  /** The transactions offset as Kafka numbers it, for the consumer group's lag tooling. */
  #kafkaOffset(ledgerOffset: number | undefined): number | undefined {
    return ledgerOffset === undefined
      ? undefined
      : this.#consumer.kafkaOffset(this.#branch.topics.transactions, ledgerOffset);
  }

  /** Commits one batch and reports it; undefined when stop was requested in the middle. */
  async #commit(records: RawRecord[], plan: ParkedPlan): Promise<CommitOutcome | undefined> {
    const branch = this.#branch;
    const { partition, log } = branch;
    const writeStarted = process.hrtime.bigint();
    const outcome = await this.#committer.commit(records, plan);
    if (!outcome) return undefined;
    branch.position.committed(records);
    branch.events.batchCommitted({
      records: records.length,
      customersCreated: outcome.customersCreated,
      posted: outcome.posted,
      postedToDefaultPartition: outcome.postedToDefaultPartition,
      parked: outcome.parked,
      rejectedByReason: outcome.rejectedByReason,
      writeSeconds: Number(process.hrtime.bigint() - writeStarted) / 1e9,
      transactionsNextOffset: this.#kafkaOffset(branch.position.storedOffset(branch.topics.transactions)),
    });
    // After the batch's report: sending it sends the batch's rejections with it.
    if (outcome.refused > 0) branch.events.emit({ type: 'writeFailed', partition, cause: 'data' });
    branch.result.batches++;
    branch.result.records += records.length;
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
