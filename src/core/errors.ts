// One closed list of error codes, each with the one thing every loop does about it (its class).
// Whether to retry, pause, isolate, stand by or exit is read from this table, never from where
// the error was thrown or from its message.

/**
 * What a loop does about an error of a class:
 * - retry:   a passing outage; wait with backoff and try the same action again;
 * - pause:   the setup refuses (schema, privileges): an operator must act; retry with backoff,
 *            not ready meanwhile, the reason shown where `cli status` reads it;
 * - recheck: the branch's position or its consumer is in doubt (records gone under it, a call
 *            that never returned, a database that went back in time): make a new consumer from
 *            the stored offsets, checked against the broker again;
 * - isolate: the records themselves are refused: find them and quarantine them;
 * - standby: another owner took the branch: stop writing, wait to take it back;
 * - exit:    a setup or request that cannot work as given: stop and say what to fix;
 * - stop:    the process or the branch was asked to stop: unwind, release, return.
 */
export type ErrorClass = 'retry' | 'pause' | 'recheck' | 'isolate' | 'standby' | 'exit' | 'stop';

const CODE_TABLE = {
  INVALID_CONFIG: 'exit',
  /** A stop was requested (a signal, a revoked branch) while the call ran or waited. */
  STOPPED: 'stop',
  /** Kafka cannot be reached, or answered with an error it calls retriable. */
  KAFKA_UNAVAILABLE: 'retry',
  /** The stored offset is no longer on the broker (retention, a recreated topic). */
  KAFKA_OFFSET_RESET: 'recheck',
  /** A Kafka call did not return within its bound: the consumer is dropped and made again. */
  KAFKA_CALL_HUNG: 'recheck',
  KAFKA_TOPIC_MISMATCH: 'exit',
  /** Kafka refused a request for a reason that will not pass by itself. */
  KAFKA_ERROR: 'exit',
  /** The database cannot be reached or refused for a passing reason: wait and retry. */
  DATABASE_UNAVAILABLE: 'retry',
  /** Postgres refused the records themselves (data exception, check violation): isolate them. */
  DATABASE_REJECTED: 'isolate',
  /** Missing table or column, missing privilege: an operator must fix it; the branch waits. */
  DATABASE_SCHEMA: 'pause',
  /**
   * Postgres refuses rows like ones it accepted before (a constraint or column added under the
   * ledger): not the records' fault, so nothing is quarantined; the branch waits.
   */
  DATABASE_REFUSING: 'pause',
  /** A SQLSTATE this build does not know: shown as such, the branch waits for an operator. */
  DATABASE_UNKNOWN: 'pause',
  /** The database is not migrated to the schema this build expects. */
  DATABASE_NOT_MIGRATED: 'exit',
  /** The database does not exist, refuses the login, or fails TLS verification: fix the setup. */
  DATABASE_REFUSED: 'exit',
  /** An operator's request names something the database does not hold. */
  DATABASE_ERROR: 'exit',
  /**
   * The branch's position in Postgres is not where its worker left it: the database went back in
   * time (a failover to an asynchronous standby, a restore) or was written past. Postgres is the
   * truth: everything the worker holds is read again from it, and Kafka re-read from there.
   */
  DATABASE_POSITION_MOVED: 'recheck',
  /** Another owner took the branch's lease: stop writing, stand by. */
  LEASE_LOST: 'standby',
  MIGRATION_FAILED: 'exit',
  /** A record an operator gave (a re-drive) is itself invalid: a data error, not configuration. */
  INVALID_RECORD: 'exit',
  /** Records produced but not confirmed in time: the broker may still take them. */
  PRODUCE_TIMEOUT: 'retry',
  /** The broker refused to store records. */
  PRODUCE_FAILED: 'exit',
} as const satisfies Record<string, ErrorClass>;

export type ErrorCode = keyof typeof CODE_TABLE;

export const ERROR_CODES = Object.freeze(
  Object.fromEntries(Object.keys(CODE_TABLE).map((code) => [code, code])) as { [C in ErrorCode]: C },
);

/** The class of a code: what every loop does about it. */
export function classOf(code: ErrorCode): ErrorClass {
  return CODE_TABLE[code];
}

/** Every problem found in a configuration, so that all are reported at once. */
export type Problems = string[];

export class IngesterError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IngesterError';
    this.code = code;
  }

  /** What to do about it, from the code's class. */
  get errorClass(): ErrorClass {
    return classOf(this.code);
  }

  /** True when the same action may succeed later unchanged: an outage, or a setup being fixed. */
  get canRetry(): boolean {
    const cls = this.errorClass;
    return cls === 'retry' || cls === 'pause';
  }
}

/** A configuration problem; `problems` lists every bad value so they can be fixed in one go. */
export class ConfigError extends IngesterError {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(ERROR_CODES.INVALID_CONFIG, `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = Object.freeze([...problems]);
  }
}
