// Sorts what Postgres (through Prisma and its pg adapter) throws into the three things a branch
// can do about it, by SQLSTATE, never by message:
//   outage  - connection lost, server shutting down, serialization failure, deadlock, timeouts,
//             too many connections: the same statement may succeed later, so wait and retry;
//   data    - data exceptions (class 22) and integrity violations (class 23): the records are
//             the problem, so find them and quarantine them (src/ingest/batch-committer.ts);
//   schema  - undefined table or column, missing privilege: an operator must act; the branch
//             pauses and retries until it is fixed;
//   unknown - a SQLSTATE outside the classes above: named as such (not as an outage), and the
//             branch pauses like a schema problem, so an operator sees it at once.
import { ERROR_CODES, type ErrorCode, IngesterError } from '../core/errors.js';

export type DatabaseFailure = 'outage' | 'data' | 'schema' | 'unknown';

interface AdapterCause {
  originalCode?: string;
  originalMessage?: string;
  kind?: string;
  message?: string;
  host?: string;
  port?: number;
  reason?: string;
  constraint?: { index?: string };
}

/** The pg driver's error as Prisma's adapter reports it (P2010 and friends), when there is one. */
export function adapterCause(err: unknown): AdapterCause | undefined {
  return (err as { meta?: { driverAdapterError?: { cause?: AdapterCause } } } | null)?.meta?.driverAdapterError?.cause;
}

/** The SQLSTATE of a database error, when the server sent one. */
export function sqlState(err: unknown): string | undefined {
  return adapterCause(err)?.originalCode;
}

/** Adapter error kinds that come without a SQLSTATE: they are all about the connection. */
const CONNECTION_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TlsConnectionError',
  'TooManyConnections',
  'TransactionAlreadyClosed',
]);

/** SQLSTATEs that are about privileges or the schema rather than the records or the server. */
const SCHEMA_STATES = new Set(['42P01', '42703', '42883', '42501', '42704', '3F000']);

/**
 * SQLSTATE classes that pass by themselves: 08 connection, 40 rollback (serialization,
 * deadlock), 53 insufficient resources, 57 operator intervention (admin shutdown, statement
 * timeout 57014, cannot connect now), 58 system error (I/O); and the login's, which an operator
 * fixes while the branch waits: 28 authorization (a rotated password), 3D database not found.
 * (At start-up the same states stop the supervisor with the fix named: src/db/schema-check.ts.)
 */
const OUTAGE_CLASSES = new Set(['08', '40', '53', '57', '58', '28', '3D']);
/**
 * Single states that pass: lock not available, object in use, a read-only transaction (the
 * connection reached a standby during a failover), and 25P02, a transaction already failed.
 */
const OUTAGE_STATES = new Set(['55P03', '55006', '25006', '25P02']);

export function classify(err: unknown): DatabaseFailure {
  const cause = adapterCause(err);
  const state = cause?.originalCode;
  if (state) {
    if (SCHEMA_STATES.has(state)) return 'schema';
    // 23505 is handled by the writer where it is expected (the ledger key); elsewhere it is data.
    if (state.startsWith('22') || state.startsWith('23')) return 'data';
    if (OUTAGE_CLASSES.has(state.slice(0, 2)) || OUTAGE_STATES.has(state)) return 'outage';
    return 'unknown';
  }
  if (cause?.kind && CONNECTION_KINDS.has(cause.kind)) return 'outage';
  // Anything else (a transaction timeout, a dropped socket before any SQLSTATE): retrying is
  // the safe choice, and every attempt is logged.
  return 'outage';
}

const FAILURE_CODES = {
  outage: ERROR_CODES.DATABASE_UNAVAILABLE,
  data: ERROR_CODES.DATABASE_REJECTED,
  schema: ERROR_CODES.DATABASE_SCHEMA,
  unknown: ERROR_CODES.DATABASE_UNKNOWN,
} as const satisfies Record<DatabaseFailure, ErrorCode>;

/** A database failure with its class: outage (retry), schema or unknown (pause), data (isolate). */
export class DatabaseError extends IngesterError {
  readonly failure: DatabaseFailure;
  readonly sqlstate: string | undefined;

  constructor(failure: DatabaseFailure, message: string, sqlstate: string | undefined, cause: unknown) {
    super(FAILURE_CODES[failure], message, { cause });
    this.name = 'DatabaseError';
    this.failure = failure;
    this.sqlstate = sqlstate;
  }
}

/** Wraps whatever a database call threw; IngesterErrors (a lost lease) pass through unchanged. */
export function toDatabaseError(err: unknown): IngesterError {
  if (err instanceof IngesterError) return err;
  const failure = classify(err);
  return new DatabaseError(failure, describeDatabaseError(err, failure), sqlState(err), err);
}

/**
 * One line saying what went wrong: the server's own message with its SQLSTATE, or where the
 * connection failed (host and port, never a password), and for schema problems what to do.
 */
export function describeDatabaseError(err: unknown, failure: DatabaseFailure = classify(err)): string {
  const cause = adapterCause(err);
  let text: string;
  if (cause?.originalCode) text = `${cause.originalCode} ${cause.originalMessage ?? ''}`.trim();
  else if (cause?.kind === 'DatabaseNotReachable')
    text = `cannot reach the database server at ${cause.host ?? '?'}:${cause.port ?? '?'}`;
  else if (cause?.kind)
    text = `${cause.kind}${(cause.message ?? cause.reason) ? `: ${cause.message ?? cause.reason}` : ''}`;
  else text = lastLine(err instanceof Error ? err.message : String(err));
  if (failure === 'unknown')
    text = `SQLSTATE unknown to this build: ${text} (not retried as an outage: check the server log and docs/runbook.md)`;
  if (failure === 'schema')
    text +=
      " (the schema or the role's privileges do not match this build: run npm run db:migrate, or grant the ingester role its privileges)";
  return text;
}

/** Prisma prefixes its messages with the call site; the last non-empty line is the cause. */
function lastLine(message: string): string {
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? message;
}
