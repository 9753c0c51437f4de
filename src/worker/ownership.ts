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
// src/worker/position-change.ts; a Kafka call that never returned) starts a new run: everything
// is read again from Postgres and a new consumer made; a lease row that went back in time is
// taken again from standby at once. Any other failure releases the lease and ends the worker,
// which the supervisor restarts.
import { release, renew, tryAcquire, type Lease } from '../db/branch-lease.js';
import { PositionMovedError, type StoredPosition } from '../db/stored-position.js';
import { IngesterError } from '../core/errors.js';
import { parkedStats } from '../db/read-queries.js';
import { BranchConsumer } from '../kafka/branch-consumer.js';
import type { BranchContext } from './branch-context.js';
import { FaultInjector } from './fault-injection.js';
import { FetchStallCheck } from './fetch-stall-check.js';
import { waitUntilNoGap } from './gap-wait.js';
import { IngestLoop, type OwnershipEnd } from './ingest-loop.js';
import type { ConsumerPacing } from '../kafka/consumer-pacing.js';
import { checkTopicIdentity } from './topic-incarnation.js';
import { reportPositionChange } from './position-change.js';
import { ServerWatch } from './server-watch.js';

/** How often a standby worker tries to take its branch. */
const LEASE_POLL_MS = 1_000;
/** How long a branch waits after finding its position ahead of its writes (another writer). */
const AHEAD_PAUSE_MS = 5_000;

export type OwnershipState = { name: 'standby' } | { name: 'owning'; lease: Lease } | { name: 'released' };

export class BranchOwnership {
  readonly #branch: BranchContext;
  readonly #pacing: ConsumerPacing;
  /** Kept across consumers: a stall that a new consumer does not cure is not retried forever. */
  readonly #fetchStall: FetchStallCheck;
  readonly #faults: FaultInjector;
  /** Kept across consumers: a change of server is noticed from one ownership run to the next. */
  readonly #server: ServerWatch;
  #state: OwnershipState = { name: 'standby' };

  constructor(branch: BranchContext, pacing: ConsumerPacing, faults = new FaultInjector(branch.partition)) {
    this.#branch = branch;
    this.#pacing = pacing;
    this.#fetchStall = new FetchStallCheck(branch);
    this.#faults = faults;
    this.#server = new ServerWatch(branch.log);
  }

  get state(): OwnershipState['name'] {
    return this.#state.name;
  }

  /** Runs the lifecycle until stop is requested; throws when the branch fails. */
  async run(): Promise<void> {
    while (this.#state.name !== 'released') {
      this.#state = this.#state.name === 'standby' ? await this.#standby() : await this.#own(this.#state.lease);
    }
  }

  /** Polls for the branch's lease until it is free, or until asked to stop. */
  async #standby(): Promise<OwnershipState> {
    const { prisma, topics, partition, owner, log, events } = this.#branch;
    let announced = false;
    while (!this.#branch.stopped) {
      const lease = await this.#branch.attempt('take the branch lease', () =>
        tryAcquire(prisma, topics.transactions, partition, owner),
      );
      if (lease === undefined) break; // stopping
      if (lease) {
        this.#branch.stall.lease = lease;
        events.emit({ type: 'leaseTaken', partition, epoch: String(lease.epoch) });
        return { name: 'owning', lease };
      }
      if (!announced) {
        log.info({ owner }, 'another supervisor owns this branch; standing by');
        events.emit({ type: 'standby', partition });
        announced = true;
      }
      if (await this.#branch.sleep(LEASE_POLL_MS)) break;
    }
    return { name: 'released' };
  }

  /** Owns the branch until stopped (then releases the lease) or until the lease is lost. */
  async #own(lease: Lease): Promise<OwnershipState> {
    const { prisma, log } = this.#branch;
    try {
      let end: OwnershipEnd;
      do end = await this.#ownOnce(lease);
      while (end !== 'stopped' && end !== 'retake-lease' && !this.#branch.stopped);
      if (end === 'retake-lease') {
        // The lease row went back in time with the database: take the branch again at once.
        this.#branch.stall.lease = undefined;
        return { name: 'standby' };
      }
    } catch (err) {
      this.#branch.stall.lease = undefined;
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
    }
    this.#branch.stall.lease = undefined;
    // A clean stop hands the branch over at once instead of after the lease's TTL.
    await release(prisma, lease).catch((err: unknown) =>
      log.warn({ err }, 'could not release the branch lease; it expires by itself'),
    );
    return { name: 'released' };
  }

  /**
   * The ingest loop ended on an error. When it says the branch's position is in doubt (class
   * recheck), this run ends and the next reads everything again from Postgres: offsets, lease,
   * topic fingerprints, parked backlog; a new consumer starts at the stored offsets. A moved
   * position is reported first; so is a lease lost because the database went back in time.
   */
  async #positionInDoubt(err: unknown, lease: Lease, known: StoredPosition): Promise<OwnershipEnd> {
    if (!(err instanceof IngesterError)) throw err;
    if (err.errorClass === 'standby') {
      if ((await reportPositionChange(this.#branch, lease, known)) === 'back') return 'retake-lease';
      throw err;
    }
    if (err.errorClass !== 'recheck') throw err;
    if (err instanceof PositionMovedError) {
      const change = await reportPositionChange(this.#branch, lease, err.expected, err.target);
      if (change === undefined) return 'stopped';
      if (change === 'none')
        this.#branch.log.info('the stored position moved and is back where this worker left it; reading it again');
      // Another writer that goes on writing would otherwise have this branch make a consumer
      // per write: a pause bounds it, and the error and the counter repeat meanwhile.
      if (change === 'ahead' && (await this.#branch.sleep(AHEAD_PAUSE_MS))) return 'stopped';
    }
    return 'recheck-offsets';
  }

  /** One run of ownership: offsets, gap check, consumer, ingestion. */
  async #ownOnce(lease: Lease): Promise<OwnershipEnd> {
    const branch = this.#branch;
    const { partition, topics, config, log, events } = branch;
    const consumer = await branch.attempt('connect to Kafka', () =>
      BranchConsumer.connect({
        kafka: config.kafka,
        partition,
        topics: [topics.customers, topics.transactions],
        lingerMs: config.lingerMs,
        maxBatchBytes: config.maxBatchBytes,
        pacing: this.#pacing,
      }),
    );
    if (!consumer) return 'stopped';
    branch.consumer = consumer;
    try {
      // Offsets are read only now: the previous owner's last commit is final once we hold the
      // lease. The topics are checked to be the ones committed from before anything is fetched.
      const offsets = await checkTopicIdentity(branch, lease, consumer);
      if (!offsets) return 'stopped';
      const checked = await waitUntilNoGap(branch, lease, consumer, offsets);
      if (!checked) return 'stopped';
      const customersUntil = await consumer.assignCustomersFirst(checked, topics);
      if (customersUntil !== undefined) {
        log.info(
          { customersUntil },
          'customers first: transactions wait until the customers backlog is read, so that they need not be parked',
        );
      }
      const parkedAtStart = await branch.attempt('count parked transactions', () =>
        parkedStats(branch.prisma, { partition, transactionsTopic: topics.transactions }),
      );
      if (!parkedAtStart) return 'stopped';
      // The lease read again (lost: stand by) with the branch's commit count: together with the
      // offsets just read, the position every write of this run commits from.
      const commits = await branch.attempt('renew the branch lease', () => renew(branch.prisma, lease));
      if (commits === undefined) return 'stopped';
      const position: StoredPosition = {
        offsets: new Map([topics.customers, topics.transactions].map((t) => [t, checked.get(t) ?? null])),
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
      const loop = new IngestLoop({
        branch,
        lease,
        consumer,
        position,
        parkedAtStart: parkedAtStart.count,
        server: this.#server,
        fetchStall: this.#fetchStall,
        faults: this.#faults,
      });
      try {
        return await loop.run();
      } catch (err) {
        return await this.#positionInDoubt(err, lease, loop.position);
      }
    } finally {
      branch.consumer = undefined;
      await consumer.disconnect();
    }
  }
}
