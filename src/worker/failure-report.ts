// What a branch does about a failing database or Kafka call besides retrying it: the one place
// the commit path, the fetch path and the ownership checks report through (their RetryPolicy is
// made here). Each failure is logged (repeats summarised), marks the branch not ready with its
// cause, and, while the database answers but refuses, is written where `cli status` reads it
// with the lease kept; lag keeps moving meanwhile, asked of the broker.
import { IngesterError, type ErrorCode } from '../core/errors.js';
import { RetryPolicy, type RetryFailure, type RetryObserver } from '../core/retry.js';
import { toDatabaseError } from '../db/database-error.js';
import type { BranchContext } from './branch-context.js';
import type { BranchEvents } from './branch-events.js';
import type { BranchPosition } from './branch-position.js';
import type { WriteFailureCause } from './protocol.js';
import type { StallRecorder } from './stall-recorder.js';

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

/** What the report acts on: the stall recorder while a lease is held, the position while a consumer runs. */
export interface FailureReportParts {
  events: BranchEvents;
  stall?: StallRecorder;
  position?: BranchPosition;
}

/** A branch's calls throw IngesterErrors of their own, or driver errors: those are the database's. */
export function classifyBranchFailure(thrown: unknown): IngesterError {
  return thrown instanceof IngesterError ? thrown : toDatabaseError(thrown);
}

/** The retry policy of a branch in the phase `parts` describe (standby, owned, consuming). */
export function branchRetryPolicy(branch: BranchContext, parts: FailureReportParts): RetryPolicy {
  return new RetryPolicy({
    signal: branch.signal,
    classify: classifyBranchFailure,
    observer: new FailureReport(branch, parts),
  });
}

export class FailureReport implements RetryObserver {
  readonly #branch: BranchContext;
  readonly #parts: FailureReportParts;
  #lastLag = 0;
  /** What the failures since the last success said was down: recovery says only those are up. */
  readonly #down = new Set<'database' | 'kafka'>();

  constructor(branch: BranchContext, parts: FailureReportParts) {
    this.#branch = branch;
    this.#parts = parts;
  }

  trying(): void {
    this.#branch.alive();
    this.#parts.stall?.holdLease(false);
  }

  settled(): void {
    this.#parts.stall?.holdLease(false);
  }

  async failed(
    what: string,
    { err, errorClass, attempt, delayMs, failingForMs, repeated }: RetryFailure,
  ): Promise<void> {
    const { partition, log } = this.#branch;
    const { events, stall } = this.#parts;
    // The backoff is a wait on purpose, not a stuck loop.
    this.#branch.alive(delayMs);
    const paused = errorClass === 'pause';
    const cause = DATABASE_CAUSES[err.code as keyof typeof DATABASE_CAUSES];
    // Logged before readiness changes, so an operator who sees /readyz turn finds the line.
    if (!repeated) {
      const level = paused || attempt > 1 ? 'error' : 'warn';
      log[level](
        { code: err.code, cause, attempt, delayMs, failingForSeconds: Math.round(failingForMs / 1000) },
        `could not ${what}, retrying: ${err.message}`,
      );
    }
    if (err.code.startsWith('KAFKA_')) {
      this.#down.add('kafka');
      events.emit({ type: 'kafka', partition, ok: false, reason: `kafka: ${err.message}` });
    }
    if (cause) {
      this.#down.add('database');
      events.emit({ type: 'writeFailed', partition, cause });
      const label = CAUSE_LABELS[cause];
      events.emit({ type: 'database', partition, ok: false, reason: `${label}: ${err.message}` });
      // Reachable but refusing: say so in Postgres too, where `cli status` reads it, and keep the
      // lease while waiting (the backoff outlasts its TTL), so the branch shows as stalled, not
      // as without an owner.
      if (paused && stall) {
        await stall.record(`${label}: ${err.message}`);
        stall.holdLease(true);
      }
    }
    await this.#reportLagFromBroker();
  }

  async recovered(what: string, attempts: number, failedForMs: number): Promise<void> {
    const { partition, log } = this.#branch;
    const { events, stall } = this.#parts;
    log.info({ attempts, failedForSeconds: Math.round(failedForMs / 1000) }, `${what}: works again`);
    // Only what these failures marked down: a fetch that works again says nothing of the database.
    for (const type of this.#down) events.emit({ type, partition, ok: true });
    this.#down.clear();
    await stall?.record(null);
  }

  /** Lag keeps moving while calls fail: the broker is asked, the consumer's figures freeze. */
  async #reportLagFromBroker(): Promise<void> {
    const position = this.#parts.position;
    if (!position || Date.now() - this.#lastLag < RETRY_LAG_INTERVAL_MS) return;
    this.#lastLag = Date.now();
    await position.readWatermarks();
    this.#parts.events.lag(position.report());
  }
}
