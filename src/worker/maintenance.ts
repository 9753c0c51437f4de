// The owned branch's periodic chores, run by the ingest loop between batches (src/worker/chores.ts
// says why not from a timer): the health report that also renews an idle branch's lease, the
// fetch-stall check, the stats log line, the notices about parked transactions and about ledger
// rows in the default partition, and how often the branch looks for parked transactions'
// customers.
import v8 from 'node:v8';
import type { Lease } from '../db/branch-lease.js';
import { IngesterError } from '../core/errors.js';
import { renewAndReadHealth } from '../db/branch-health.js';
import { PositionMovedError, type StoredPosition } from '../db/stored-position.js';
import { toDatabaseError } from '../db/database-error.js';
import { DEFAULT_PARTITION } from '../db/ledger-partitions.js';
import { parkedStats } from '../db/read-queries.js';
import { poolFigures } from '../db/prisma.js';
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import type { CommitOutcome } from '../ingest/commit-outcome.js';
import type { ParkedQueue } from '../ingest/parked-queue.js';
import type { BranchContext } from './branch-context.js';
import type { BranchEvents } from './branch-events.js';
import type { BranchPosition } from './branch-position.js';
import { Chores } from './chores.js';
import type { FetchStallCheck } from './fetch-stall-check.js';
import type { ServerWatch } from './server-watch.js';

/** What the chores act on in one ownership run. */
export interface MaintenanceParts {
  lease: Lease;
  consumer: BranchConsumer;
  events: BranchEvents;
  /** Where the branch stands on its topics, for lag. */
  lag: BranchPosition;
  fetchStall: FetchStallCheck;
  /** The Postgres server reached, compared from one check to the next. */
  server: ServerWatch;
  /** The position the worker's last write left (the committer's), which the health check compares. */
  stored: () => StoredPosition;
  /** The branch's parked queue, recounted by each health report. */
  parked: ParkedQueue;
}

const INTERVALS_MS = {
  /** Health and lag for /metrics and readiness; renews the lease of an idle branch. */
  health: 2_000,
  /** Which Postgres server answers (a failover, a restore: src/worker/server-watch.ts). */
  server: 10_000,
  /** How often the broker is asked where the topics end, to notice a stalled consumer. */
  fetchCheck: 5_000,
  /** The branch stats log line. */
  stats: 10_000,
  /** The warning that transactions wait for their customers, at most this often. */
  parkedNotice: 10_000,
  /** The warning that ledger rows went to the default partition (a partition is missing). */
  monthNotice: 60_000,
  /** How often a branch with parked transactions looks for their customers (a bounded look); an idle one looks after each idle wait. */
  parkedLook: 500,
} as const;

type ParkedFigures = Awaited<ReturnType<typeof parkedStats>>;

export class Maintenance {
  readonly #branch: BranchContext;
  readonly #parts: MaintenanceParts;
  readonly #chores: Chores<keyof typeof INTERVALS_MS>;
  /** Counts since the last stats line. */
  #window = { records: 0, posted: 0, parked: 0, rejected: 0 };
  /** The parked backlog as the last health report saw it, for the stats line. */
  #parked: ParkedFigures | undefined;

  constructor(branch: BranchContext, parts: MaintenanceParts) {
    this.#branch = branch;
    this.#parts = parts;
    const now = Date.now();
    // Health is due at once (the first report); the others count from the start.
    this.#chores = new Chores(INTERVALS_MS, { fetchCheck: now, stats: now });
  }

  /** True when a branch with parked transactions should look for their customers now (and marks it done). */
  parkedLookDue(): boolean {
    if (!this.#chores.due('parkedLook')) return false;
    this.#chores.ran('parkedLook');
    return true;
  }

  /** After each commit: counts for the stats line, and the parked notice when it is due. */
  async committed(records: number, outcome: CommitOutcome): Promise<void> {
    // Customers created here may be what parked transactions wait for: look at once.
    if (outcome.customersCreated > 0) this.#chores.forget('parkedLook');
    const w = this.#window;
    w.records += records;
    w.posted += outcome.posted;
    w.parked += outcome.parked;
    w.rejected += outcome.rejected;
    if (outcome.postedToDefaultPartition > 0 && this.#chores.due('monthNotice')) {
      this.#chores.ran('monthNotice');
      this.#branch.log.warn(
        { postedToDefaultPartition: outcome.postedToDefaultPartition },
        `ledger rows went to the default partition ${DEFAULT_PARTITION}: no partition holds their time yet; run npm run db:migrate (in Kubernetes the ledger-months CronJob), which creates it and moves them`,
      );
    }
    if (outcome.parked > 0 && this.#chores.due('parkedNotice')) {
      this.#chores.ran('parkedNotice');
      await this.#parkedNotice();
    }
  }

  /** Runs the periodic chores that are due; true when the consumer stalled and must be recreated. */
  async runDue(): Promise<boolean> {
    if (this.#chores.due('fetchCheck')) {
      this.#chores.ran('fetchCheck');
      if (await this.#parts.fetchStall.stalled(this.#parts.consumer, this.#parts.lag)) return true;
    }
    if (this.#chores.due('health')) {
      await this.#reportHealth();
      this.#chores.ran('health');
    }
    if (this.#chores.due('server')) {
      await this.#parts.server.check(this.#branch.prisma);
      this.#chores.ran('server');
    }
    if (this.#chores.due('stats')) {
      this.#logStats(this.#chores.sinceLastRun('stats'));
      this.#chores.ran('stats');
    }
    return false;
  }

  /**
   * Keeps an idle branch's lease alive (a lost lease ends ownership), doubles as the database
   * check that readiness follows, and sends parked figures, heap and lag. A commit count that
   * is not the worker's ends the run (PositionMovedError): the database went back in time while
   * the branch was idle.
   */
  async #reportHealth(): Promise<void> {
    const { prisma, partition } = this.#branch;
    const { events, lease, lag, parked: queue } = this.#parts;
    let reason: string | undefined;
    const health = await renewAndReadHealth(prisma, lease).catch((err: unknown) => {
      // A lost lease ends ownership (class standby); any other failure is this report's reason.
      if (err instanceof IngesterError && err.errorClass === 'standby') throw err;
      reason = `database: ${toDatabaseError(err).message}`;
      return undefined;
    });
    if (health) {
      const expected = this.#parts.stored();
      if (health.commits !== expected.commits) throw new PositionMovedError(partition, expected);
    }
    const parked = health?.parked;
    events.emit({ type: 'database', partition, ok: parked !== undefined, reason });
    if (parked) {
      events.emit({ type: 'stats', partition, parked: parked.count, oldestParkedAgeSeconds: parked.oldestAgeSeconds });
      queue.recount(parked.count);
    }
    this.#parked = parked;
    events.emit({ type: 'heap', partition, ...heapFigures() });
    const pool = poolFigures(prisma);
    if (pool) events.emit({ type: 'pool', partition, ...pool });
    events.lag(lag.report());
  }

  /** The lab's own producer sends transactions only: make the wait obvious at once. */
  async #parkedNotice(): Promise<void> {
    const { prisma, partition, topics, log } = this.#branch;
    const parked = await parkedStats(prisma, { partition, transactionsTopic: topics.transactions }).catch(
      () => undefined,
    );
    if (!parked) return;
    const more = parked.waitingFor.length === 10 ? ', ...' : '';
    log.warn(
      { parkedNow: parked.count, waitingForCustomers: parked.waitingFor },
      `${parked.count} transactions wait for their customers (ids ${parked.waitingFor.join(', ')}${more}), which do not exist yet: they post as soon as those customers are created on ${topics.customers}`,
    );
  }

  #logStats(sinceMs: number): void {
    const seconds = sinceMs / 1000;
    // heapUsedMB is this worker thread's own V8 heap; rssMB is the whole process.
    const memory = process.memoryUsage();
    this.#branch.log.info(
      {
        ...this.#window,
        recordsPerSecond: Math.round(this.#window.records / seconds),
        parkedNow: this.#parked?.count,
        oldestParkedAgeSeconds: this.#parked?.oldestAgeSeconds,
        waitingForCustomers: this.#parked?.waitingFor,
        heapUsedMB: Math.round(memory.heapUsed / 2 ** 20),
        rssMB: Math.round(memory.rss / 2 ** 20),
      },
      'branch stats',
    );
    this.#window = { records: 0, posted: 0, parked: 0, rejected: 0 };
  }
}

/** This thread's committed V8 heap: bounded by --worker-young-mb and --worker-heap-mb. */
function heapFigures(): { youngBytes: number; totalBytes: number } {
  const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return { youngBytes: young?.space_size ?? 0, totalBytes: v8.getHeapStatistics().total_heap_size };
}
