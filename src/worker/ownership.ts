// The ownership lifecycle of one branch, as a small state machine:
//
//   standby --lease taken--> owning --stop--> released
//      ^                       |  \--recheck / reconnect--> owning (offsets read again)
//      +--lease lost, or-------+
//         gone back in time
//
// Standby polls for the branch's lease (src/db/branch-lease.ts). Owning reads the stored offsets
// (final once the lease is held), checks them against the broker (src/worker/gap-wait.ts),
// connects and assigns the consumer and runs the ingest loop. A clean stop releases the lease at
// once; a lost lease (a paused owner whose writes were fenced) goes back to standby. An error
// of class recheck (a position that moved under the worker: the database went back in time,
// src/worker/position-change.ts; a Kafka call that never returned), or a topic that Kafka says
// was created again (src/kafka/topic-replacement.ts), starts a new run: everything
// is read again from Postgres and a new consumer made; a lease row that went back in time is
// taken again from standby at once. A stop (the branch's signal, src/core/stop-signal.ts) throws
// from wherever the branch is; it ends here, releasing the lease. Any other failure releases the
// lease and ends the worker, which the supervisor restarts.
//
// Each state has the parts it needs and no more: standby a retry policy that reports to the
// supervisor; owning a stall recorder for its lease; each run a consumer, the lag position read
// from it, and a retry policy that reports lag and holds the lease while it waits.
import { release, renew, tryAcquire, type Lease } from '../db/branch-lease.js';
import { PositionMovedError, type StoredPosition } from '../db/stored-position.js';
import { IngesterError } from '../core/errors.js';
import { isStop } from '../core/stop-signal.js';
import { parkedStats } from '../db/read-queries.js';
import { BranchConsumer } from '../kafka/branch-consumer.js';
import type { ConsumerPacing } from '../kafka/consumer-pacing.js';
import type { BranchContext } from './branch-context.js';
import type { BranchEvents } from './branch-events.js';
import { BranchPosition } from './branch-position.js';
import { branchRetryPolicy } from './failure-report.js';
import { FaultInjector } from './fault-injection.js';
import { FetchStallCheck } from './fetch-stall-check.js';
import { waitUntilNoGap } from './gap-wait.js';
import { IngestLoop, type OwnershipEnd } from './ingest-loop.js';
import { reportPositionChange, type ReportingBranch } from './position-change.js';
import type { BranchResult } from './protocol.js';
import { ServerWatch } from './server-watch.js';
import { StallRecorder } from './stall-recorder.js';
import { checkTopicIdentity } from './topic-incarnation.js';

/** How often a standby worker tries to take its branch. */
const LEASE_POLL_MS = 1_000;
/** How long a branch waits after finding its position ahead of its writes (another writer). */
const AHEAD_PAUSE_MS = 5_000;

type OwnershipState = { name: 'standby' } | { name: 'owning'; lease: Lease } | { name: 'released' };

/** What the lifecycle works with besides the branch's identity: all of it the worker's, kept across runs. */
export interface OwnershipParts {
  events: BranchEvents;
  pacing: ConsumerPacing;
  /** The worker's batches and records, which it returns when it stops. */
  result: BranchResult;
  faults?: FaultInjector;
}

export class BranchOwnership {
  readonly #branch: BranchContext;
  readonly #events: BranchEvents;
  readonly #pacing: ConsumerPacing;
  readonly #result: BranchResult;
  /** Kept across consumers: a stall that a new consumer does not cure is not retried forever. */
  readonly #fetchStall: FetchStallCheck;
  readonly #faults: FaultInjector;
  /** Kept across consumers: a change of server is noticed from one ownership run to the next. */
  readonly #server: ServerWatch;
  /** Topics the last run's consumer heard were created again, for the next run's topic check. */
  #replaced: ReadonlySet<string> = new Set();

  constructor(branch: BranchContext, { events, pacing, result, faults }: OwnershipParts) {
    this.#branch = branch;
    this.#events = events;
    this.#pacing = pacing;
    this.#result = result;
    this.#fetchStall = new FetchStallCheck(branch, events);
    this.#faults = faults ?? new FaultInjector(branch.partition);
    this.#server = new ServerWatch(branch.log);
  }

  /** Runs the lifecycle until the branch is stopped; throws when the branch fails. */
  async run(): Promise<void> {
    let state: OwnershipState = { name: 'standby' };
    try {
      while (state.name !== 'released') {
        state = state.name === 'standby' ? await this.#standby() : await this.#own(state.lease);
      }
    } catch (err) {
      if (!isStop(err)) throw err;
    }
  }

  /** Polls for the branch's lease until it is free. */
  async #standby(): Promise<OwnershipState> {
    const { prisma, topics, partition, owner, log } = this.#branch;
    const retry = branchRetryPolicy(this.#branch, { events: this.#events });
    let announced = false;
    for (;;) {
      const lease = await retry.run('take the branch lease', () =>
        tryAcquire(prisma, topics.transactions, partition, owner),
      );
      if (lease) {
        this.#events.emit({ type: 'leaseTaken', partition, epoch: String(lease.epoch) });
        return { name: 'owning', lease };
      }
      if (!announced) {
        log.info({ owner }, 'another supervisor owns this branch; standing by');
        this.#events.emit({ type: 'standby', partition });
        announced = true;
      }
      await this.#branch.sleep(LEASE_POLL_MS);
    }
  }

  /** Owns the branch until stopped (then releases the lease) or until the lease is lost. */
  async #own(lease: Lease): Promise<OwnershipState> {
    const { prisma, log } = this.#branch;
    const stall = new StallRecorder(prisma, lease);
    try {
      // The lease row went back in time with the database: take the branch again at once.
      while ((await this.#ownOnce(lease, stall)) !== 'retake-lease');
      return { name: 'standby' };
    } catch (err) {
      if (isStop(err)) {
        // A clean stop hands the branch over at once instead of after the lease's TTL.
        await release(prisma, lease).catch((failure: unknown) =>
          log.warn({ err: failure }, 'could not release the branch lease; it expires by itself'),
        );
        return { name: 'released' };
      }
      if (err instanceof IngesterError && err.errorClass === 'standby') {
        // A paused or partitioned owner: its writes were fenced, its consumer is closed. It
        // stands by and takes the branch back when the new owner goes.
        log.warn({ epoch: String(lease.epoch) }, 'lost the branch lease to another owner; standing by');
        return { name: 'standby' };
      }
      // Failing: the consumer is closed and nothing more is written, so hand the branch to the
      // restarted worker (or a standby) now rather than after the lease's TTL.
      await release(prisma, lease).catch(() => undefined);
      throw err;
    } finally {
      stall.close();
    }
  }

  /**
   * The ingest loop ended on an error. When it says the branch's position is in doubt (class
   * recheck), this run ends and the next reads everything again from Postgres: offsets, lease,
   * topic fingerprints, parked backlog; a new consumer starts at the stored offsets. A moved
   * position is reported first; so is a lease lost because the database went back in time.
   */
  async #positionInDoubt(
    err: unknown,
    lease: Lease,
    known: StoredPosition,
    branch: ReportingBranch,
  ): Promise<OwnershipEnd> {
    if (!(err instanceof IngesterError)) throw err;
    if (err.errorClass === 'standby') {
      if ((await reportPositionChange(branch, lease, known)) === 'back') return 'retake-lease';
      throw err;
    }
    if (err.errorClass !== 'recheck') throw err;
    if (err instanceof PositionMovedError) {
      const change = await reportPositionChange(branch, lease, err.expected, err.target);
      if (change === 'none')
        this.#branch.log.info('the stored position moved and is back where this worker left it; reading it again');
      // Another writer that goes on writing would otherwise have this branch make a consumer
      // per write: a pause bounds it, and the error and the counter repeat meanwhile.
      if (change === 'ahead') await this.#branch.sleep(AHEAD_PAUSE_MS);
    }
    return 'recheck-offsets';
  }

  /** One run of ownership: offsets, gap check, consumer, ingestion. */
  async #ownOnce(lease: Lease, stall: StallRecorder): Promise<OwnershipEnd> {
    const branch = this.#branch;
    const events = this.#events;
    const { partition, topics, config, log } = branch;
    const connecting = branchRetryPolicy(branch, { events, stall });
    const consumer = await connecting.run('connect to Kafka', () =>
      BranchConsumer.connect({
        kafka: config.kafka,
        partition,
        topics: branch.topicList,
        lingerMs: config.lingerMs,
        maxBatchBytes: config.maxBatchBytes,
        pacing: this.#pacing,
      }),
    );
    try {
      const lag = new BranchPosition(partition, branch.topicList, consumer);
      const retry = branchRetryPolicy(branch, { events, stall, position: lag });
      // Offsets are read only now: the previous owner's last commit is final once we hold the
      // lease. The topics are checked to be the ones committed from before anything is fetched.
      const offsets = await checkTopicIdentity(branch, { lease, consumer, retry, events, replaced: this.#replaced });
      this.#replaced = new Set();
      lag.stored = offsets;
      const checked = await waitUntilNoGap(branch, { lease, consumer, retry, events, stall }, offsets);
      lag.stored = checked;
      const customersUntil = await consumer.assignCustomersFirst(checked, topics);
      if (customersUntil !== undefined) {
        log.info(
          { customersUntil },
          'customers first: transactions wait until the customers backlog is read, so that they need not be parked',
        );
      }
      const parkedAtStart = await retry.run('count parked transactions', () =>
        parkedStats(branch.prisma, { partition, transactionsTopic: topics.transactions }),
      );
      // The lease read again (lost: stand by) with the branch's commit count: together with the
      // offsets just read, the position every write of this run commits from.
      const commits = await retry.run('renew the branch lease', () => renew(branch.prisma, lease));
      const stored: StoredPosition = {
        offsets: new Map(branch.topicList.map((t) => [t, checked.get(t) ?? null])),
        commits,
      };
      log.info(
        { offsets: Object.fromEntries(checked), parked: parkedAtStart.count, epoch: String(lease.epoch) },
        'branch worker started',
      );
      // The offset is reported at once, so lag tooling is right even before the first batch.
      const next = checked.get(topics.transactions);
      events.emit({
        type: 'ready',
        partition,
        transactionsNextOffset: next === undefined ? undefined : consumer.kafkaOffset(topics.transactions, next),
      });
      const loop = new IngestLoop(branch, {
        lease,
        consumer,
        retry,
        events,
        lag,
        stored,
        parkedAtStart: parkedAtStart.count,
        result: this.#result,
        server: this.#server,
        fetchStall: this.#fetchStall,
        faults: this.#faults,
        idleWaitMs: this.#pacing.idleWaitMs,
      });
      try {
        return await loop.run();
      } catch (err) {
        const reporting = { partition, prisma: branch.prisma, log, events, retry };
        return await this.#positionInDoubt(err, lease, loop.position, reporting);
      }
    } finally {
      // Heard by this consumer, checked by the next run's (the topic check reads it).
      if (consumer.replacedTopics().size > 0) this.#replaced = new Set(consumer.replacedTopics());
      await consumer.disconnect();
    }
  }
}
