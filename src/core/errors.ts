// One closed list of error codes. Callers decide whether to retry by reading `canRetry`,
// never by matching a message.
export const ERROR_CODES = Object.freeze({
  INVALID_CONFIG: 'INVALID_CONFIG',
  KAFKA_UNAVAILABLE: 'KAFKA_UNAVAILABLE',
  KAFKA_TOPIC_MISMATCH: 'KAFKA_TOPIC_MISMATCH',
  KAFKA_ERROR: 'KAFKA_ERROR',
  /** The database cannot be reached or refused for a passing reason: wait and retry. */
  DATABASE_UNAVAILABLE: 'DATABASE_UNAVAILABLE',
  /** Postgres refused the records themselves (data exception, check violation): isolate them. */
  DATABASE_REJECTED: 'DATABASE_REJECTED',
  /** Missing table or column, missing privilege: an operator must fix it; the branch waits. */
  DATABASE_SCHEMA: 'DATABASE_SCHEMA',
  /** The database is not migrated to the schema this build expects. */
  DATABASE_NOT_MIGRATED: 'DATABASE_NOT_MIGRATED',
  /** The database does not exist, refuses the login, or fails TLS verification: fix the setup. */
  DATABASE_REFUSED: 'DATABASE_REFUSED',
  DATABASE_ERROR: 'DATABASE_ERROR',
  /** Another owner took the branch's lease: stop writing, stand by. */
  LEASE_LOST: 'LEASE_LOST',
  MIGRATION_FAILED: 'MIGRATION_FAILED',
  /** A record an operator gave (a re-drive) is itself invalid: a data error, not configuration. */
  INVALID_RECORD: 'INVALID_RECORD',
  PRODUCE_FAILED: 'PRODUCE_FAILED',
} as const);

/** Every problem found in a configuration, so that all are reported at once. */
export type Problems = string[];

export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class IngesterError extends Error {
  readonly code: ErrorCode;
  /** True when the same action may succeed later unchanged (an outage); retry loops read only this. */
  readonly canRetry: boolean;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; canRetry?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'IngesterError';
    this.code = code;
    this.canRetry = options.canRetry ?? false;
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
