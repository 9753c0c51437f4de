// What every part of one branch's worker shares: who and where it is, its connection, its events
// to the supervisor, its position, and `attempt`, the branch's way of running a database or Kafka
// call through the one retry loop (src/core/retry.ts) with the branch's reporting around it.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { createLogger, type Logger } from '../core/log.js';
import { retry, type RetryFailure } from '../core/retry.js';
import { sleepUnlessStopped, stopRequested } from '../core/stop-flag.js';
import { type ErrorCode, IngesterError } from '../core/errors.js';
import { Heartbeat } from '../core/heartbeat.js';
import type { IngesterConfig } from '../config/ingester-config.js';
import { toDatabaseError } from '../db/database-error.js';
import type { PrismaClient } from '../db/prisma.js';
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import { BranchEvents } from './branch-events.js';
import { BranchPosition } from './branch-position.js';
import { StallRecorder } from './stall-recorder.js';
import type { BranchResult, BranchTask, LagReport, WriteFailureCause } from './protocol.js';

/** While retrying, lag is asked of the broker at most this often (the consumer's figure freezes). */
const RETRY_LAG_INTERVAL_MS = 2_000;

/** The write-failure cause of each database code a retried call can fail with. */
const DATABASE_CAUSES = {
  DATABASE_UNAVAILABLE: 'outage',
  DATABASE_SCHEMA: 'schema',
  DATABASE_REFUSING: 'refusing',
  DATABASE_UNKNOWN: 'unknown',
} as const satisfies Partial<Record<ErrorCode, WriteFailureCause>>;

/** How readiness and `cli status` name each cause. */
const CAUSE_LABELS: Record<(typeof DATABASE_CAUSES)[keyof typeof DATABASE_CAUSES], string> = {
  outage: 'database',
  schema: 'database schema or privileges',
  refusing: 'database refuses rows it accepted before',
  unknown: 'database error unknown to this build',
};

export class BranchContext {
  readonly partition: number;
  readonly config: IngesterConfig;
  readonly topics: { readonly customers: string; readonly transactions: string };
  readonly log: Logger;
  readonly prisma: PrismaClient;
  /** One owner identity per run of this task: a restarted worker is a new owner. */
  readonly owner = `${os.hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  readonly events: BranchEvents;
  readonly position: BranchPosition;
  readonly stall: StallRecorder;
  /** What the worker returns when it stops: its batches and records. */
  readonly result: BranchResult;
  /** The consumer while the branch is owned: lag is read from it even while writes fail. */
  consumer: BranchConsumer | undefined;
  readonly #stop: Int32Array;
  readonly #heartbeat: Heartbeat;
  #lastRetryLag = 0;

  constructor(task: BranchTask, prisma: PrismaClient) {
    this.partition = task.partition;
    this.config = task.config;
    this.topics = { customers: task.config.customersTopic, transactions: task.config.transactionsTopic };
    this.#stop = new Int32Array(task.stopFlag);
    this.#heartbeat = new Heartbeat(task.heartbeat);
    this.#heartbeat.beat();
    // The thread too: with --branches-per-thread, branches of one thread share its fate.
    this.log = createLogger(task.config.logLevel, { branch: task.partition, thread: threadId });
    this.prisma = prisma;
    this.events = new BranchEvents(task.events, task.partition);
    this.position = new BranchPosition(task.partition, [this.topics.customers, this.topics.transactions]);
    this.stall = new StallRecorder(prisma);
    this.result = { partition: task.partition, batches: 0, records: 0 };
  }

  get stopped(): boolean {
    return stopRequested(this.#stop);
  }

  /** Sleeps up to `ms`; true when stop was requested (at once, whatever is left of the sleep). */
  sleep(ms: number): Promise<boolean> {
    this.#heartbeat.beat(ms);
    return sleepUnlessStopped(this.#stop, ms);
  }

  /** The branch's loop turned: a sign of life for the supervisor's liveness check. */
  alive(): void {
    this.#heartbeat.beat();
  }

  /**
   * Runs `action` until it succeeds, waiting out what the error's class says to wait out (an
   * outage, a schema problem being fixed); anything else is rethrown. Undefined when stop is
   * requested first. Each failure is logged (repeats summarised) and reported before the wait.
   */
  async attempt<T>(what: string, action: () => Promise<T>): Promise<T | undefined> {
    try {
      return await retry(
        () => {
          this.#heartbeat.beat();
          this.stall.holdLease(false);
          return action();
        },
        {
          stop: this.#stop,
          classify: (thrown) => (thrown instanceof IngesterError ? thrown : toDatabaseError(thrown)),
          onFailure: (failure) => this.#failed(what, failure),
          onRecovered: async (attempts, failedForMs) => {
            this.log.info({ attempts, failedForSeconds: Math.round(failedForMs / 1000) }, `${what}: works again`);
            this.events.emit({ type: 'database', partition: this.partition, ok: true });
            this.events.emit({ type: 'kafka', partition: this.partition, ok: true });
            await this.stall.record(null);
          },
        },
      );
    } finally {
      this.stall.holdLease(false);
    }
  }

  async #failed(
    what: string,
    { err, errorClass, attempt, delayMs, failingForMs, repeated }: RetryFailure,
  ): Promise<void> {
    // The backoff is a wait on purpose, not a stuck loop.
    this.#heartbeat.beat(delayMs);
    const paused = errorClass === 'pause';
    const cause = DATABASE_CAUSES[err.code as keyof typeof DATABASE_CAUSES];
    // Logged before readiness changes, so an operator who sees /readyz turn finds the line.
    if (!repeated) {
      const level = paused || attempt > 1 ? 'error' : 'warn';
      this.log[level](
        { code: err.code, cause, attempt, delayMs, failingForSeconds: Math.round(failingForMs / 1000) },
        `could not ${what}, retrying: ${err.message}`,
      );
    }
    if (err.code.startsWith('KAFKA_')) {
      this.events.emit({ type: 'kafka', partition: this.partition, ok: false, reason: `kafka: ${err.message}` });
    }
    if (cause) {
      this.events.emit({ type: 'writeFailed', partition: this.partition, cause });
      const label = CAUSE_LABELS[cause];
      this.events.emit({ type: 'database', partition: this.partition, ok: false, reason: `${label}: ${err.message}` });
      // Reachable but refusing: say so in Postgres too, where `cli status` reads it, and keep the
      // lease while waiting (the backoff outlasts its TTL), so the branch shows as stalled, not
      // as without an owner.
      if (paused) {
        await this.stall.record(`${label}: ${err.message}`);
        this.stall.holdLease(true);
      }
    }
    await this.#reportLagFromBroker();
  }

  /** Lag keeps moving while calls fail: the broker is asked, the consumer's figures freeze. */
  async #reportLagFromBroker(): Promise<void> {
    const consumer = this.consumer;
    if (!consumer || Date.now() - this.#lastRetryLag < RETRY_LAG_INTERVAL_MS) return;
    await this.position.readWatermarks(consumer);
    this.reportLag(this.position.report(consumer));
  }

  reportLag(report: LagReport): void {
    if (Object.keys(report.lag).length > 0) this.events.emit({ type: 'lag', partition: this.partition, ...report });
    this.#lastRetryLag = Date.now();
  }
}
