// The ledger is partitioned by month on the Kafka timestamp (migration
// 20261203000000_ledger_partitioned_by_month_breaking, docs/capacity.md): each month's indexes stop
// growing when the month ends, so the current month's stay small enough to be cached. This file
// creates the months ahead of time and moves rows out of the default partition into their month.
import pg from 'pg';

/** Where rows go that no month holds: a month not created in time, or a far-future clock. */
export const DEFAULT_PARTITION = 'transaction_default';
/** Rows without a usable Kafka timestamp (stored as the epoch) and anything before 2000. */
export const UNTIMED_PARTITION = 'transaction_untimed';
/** Times before this are no Kafka record's: they live in the untimed partition. */
const FIRST_MONTH = Date.UTC(2000, 0, 1);

/** The months created ahead of the current one by default: a quarter of slack for the job. */
export const DEFAULT_MONTHS_AHEAD = 3;

/** transaction_p202612 holds December 2026 (UTC). */
export function monthPartitionName(monthStart: Date): string {
  return `transaction_p${monthStart.getUTCFullYear()}${String(monthStart.getUTCMonth() + 1).padStart(2, '0')}`;
}

/**
 * True for the name of the ledger's primary key or of a partition's own copy of it: Postgres
 * reports a duplicate under the key of the partition it landed in (transaction_p202612_pkey).
 */
export function isLedgerKeyName(name: string): boolean {
  return name === 'transaction_pkey' || /^transaction_(p\d{6}|default|untimed)_pkey$/.test(name);
}

/** The first instant (UTC) of the month holding `at`, moved by `months`. */
export function monthStart(at: Date, months = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1));
}

export interface EnsureOptions {
  /** The current time: months are created from its month on. */
  now?: Date;
  /** Months created after the current one. */
  monthsAhead?: number;
  /** Also create every month from this one on (a backfill, or the bench's prefill). */
  from?: Date;
}

/**
 * Creates the ledger's monthly partitions: from the current month (or `from`) to `monthsAhead`
 * after it, and the month of every row waiting in the default partition up to then. Rows in the
 * default partition are moved into their new month in the same transaction that creates it.
 * Idempotent; run by db:migrate, so the migrate Job (and its monthly CronJob) keeps months ahead.
 * Returns the names of the partitions it created.
 */
export async function ensureLedgerPartitions(db: pg.ClientBase, options: EnsureOptions = {}): Promise<string[]> {
  const now = options.now ?? new Date();
  const last = monthStart(now, options.monthsAhead ?? DEFAULT_MONTHS_AHEAD);
  const months = new Map<number, Date>();
  for (let m = monthStart(options.from && options.from < now ? options.from : now); m <= last; m = monthStart(m, 1))
    months.set(m.getTime(), m);
  // A scan of the default partition, which is empty unless a month was missing: then its rows say
  // which months to create.
  const { rows: waiting } = await db.query<{ month: Date }>(
    `SELECT DISTINCT date_trunc('month', kafka_timestamp, 'UTC') AS month FROM ${pg.escapeIdentifier(DEFAULT_PARTITION)}
      WHERE kafka_timestamp >= $1 AND kafka_timestamp < $2`,
    [new Date(FIRST_MONTH), monthStart(last, 1)],
  );
  for (const { month } of waiting) months.set(month.getTime(), month);
  const existing = new Set(await partitionNames(db));
  const created: string[] = [];
  for (const month of [...months.values()].sort((a, b) => a.getTime() - b.getTime())) {
    const name = monthPartitionName(month);
    if (existing.has(name)) continue;
    await createMonth(db, name, month, monthStart(month, 1));
    created.push(name);
  }
  return created;
}

/** The ledger's partitions, by name. */
export async function partitionNames(db: pg.ClientBase): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = '"transaction"'::regclass ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

async function createMonth(db: pg.ClientBase, name: string, from: Date, to: Date): Promise<void> {
  const table = pg.escapeIdentifier(name);
  const fallback = pg.escapeIdentifier(DEFAULT_PARTITION);
  await db.query('BEGIN');
  try {
    // Postgres refuses a new partition while the default one holds rows of its range, so those
    // rows step aside for the moment it is created. Writers of other months only wait for it.
    await db.query(`LOCK TABLE ${fallback} IN EXCLUSIVE MODE`);
    await db.query(`CREATE TEMP TABLE moving (LIKE "transaction") ON COMMIT DROP`);
    const range = [from, to];
    await db.query(
      `WITH gone AS (DELETE FROM ${fallback} WHERE kafka_timestamp >= $1 AND kafka_timestamp < $2 RETURNING *)
       INSERT INTO moving SELECT * FROM gone`,
      range,
    );
    await db.query(
      `CREATE TABLE ${table} PARTITION OF "transaction" FOR VALUES FROM ('${from.toISOString()}') TO ('${to.toISOString()}')`,
    );
    await db.query(`INSERT INTO "transaction" SELECT * FROM moving`);
    await db.query('COMMIT');
  } catch (err) {
    await db.query('ROLLBACK');
    throw err;
  }
}
