// The ledger is partitioned by time on the Kafka timestamp, by month unless told otherwise
// (migration 20261203000000_ledger_partitioned_by_month_breaking, docs/capacity.md): each
// partition's indexes stop growing when its period ends, so the current one's stay small enough
// to be cached. This file creates partitions ahead of time and moves rows out of the default
// partition into the partition it creates for them.
import pg from 'pg';

/** Where rows go that no partition holds: a period not created in time, or a far-future clock. */
export const DEFAULT_PARTITION = 'transaction_default';
/** Rows without a usable Kafka timestamp (stored as the epoch) and anything before 2000. */
export const UNTIMED_PARTITION = 'transaction_untimed';
/** Times before this are no Kafka record's: they live in the untimed partition. */
const FIRST_MONTH = Date.UTC(2000, 0, 1);

/** The months created ahead of the current one by default: a quarter of slack for the job. */
export const DEFAULT_MONTHS_AHEAD = 3;

/**
 * How much time one partition holds. A month suits most rates; a partition only stays fast while
 * its custid index fits in memory (docs/capacity.md sizes it by rate), so a ledger taking
 * thousands of transactions a second is better cut by day.
 */
export const PARTITION_PERIODS = ['month', 'day'] as const;
export type PartitionPeriod = (typeof PARTITION_PERIODS)[number];

/** transaction_p202612 holds December 2026, transaction_p20261202 the 2nd of December (UTC). */
export function partitionName(start: Date, period: PartitionPeriod): string {
  const two = (n: number) => String(n).padStart(2, '0');
  const month = `${start.getUTCFullYear()}${two(start.getUTCMonth() + 1)}`;
  return `transaction_p${period === 'month' ? month : `${month}${two(start.getUTCDate())}`}`;
}

/** The time range a partition of ours holds, read from its name; undefined for any other table. */
export function rangeOfPartition(name: string): { from: Date; to: Date } | undefined {
  const m = /^transaction_p(\d{4})(\d{2})(\d{2})?$/.exec(name);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]) - 1, m[3] === undefined ? undefined : Number(m[3])];
  const from = new Date(Date.UTC(year, month, day ?? 1));
  return { from, to: periodStart(from, day === undefined ? 'month' : 'day', 1) };
}

/**
 * True for the name of the ledger's primary key or of a partition's own copy of it: Postgres
 * reports a duplicate under the key of the partition it landed in (transaction_p202612_pkey).
 */
export function isLedgerKeyName(name: string): boolean {
  if (name === 'transaction_pkey' || name === `${DEFAULT_PARTITION}_pkey` || name === `${UNTIMED_PARTITION}_pkey`)
    return true;
  return /^transaction_p(\d{6}|\d{8})_pkey$/.test(name);
}

/** The first instant (UTC) of the month holding `at`, moved by `months`. */
export function monthStart(at: Date, months = 0): Date {
  return new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + months, 1));
}

/** The first instant (UTC) of the period holding `at`, moved by `periods`. */
function periodStart(at: Date, period: PartitionPeriod, periods = 0): Date {
  return period === 'month'
    ? monthStart(at, periods)
    : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + periods));
}

export interface EnsureOptions {
  /** The current time: partitions are created from its period on. */
  now?: Date;
  /** Months of partitions created after the current month. */
  monthsAhead?: number;
  /** Also create every period from this one on (a backfill, or the bench's prefill). */
  from?: Date;
  /** What one new partition holds (default a month). Existing partitions of another period stay. */
  period?: PartitionPeriod;
}

/**
 * Creates the ledger's partitions: from the current period (or `from`) to the end of the month
 * `monthsAhead` after the current one, and the period of every row waiting in the default
 * partition up to then. Rows in the default partition move into their new partition in the same
 * transaction that creates it. A period whose range an existing partition of ours already covers
 * (a month, when days are asked for) is skipped, so the period can change from one month on.
 * Idempotent; run by db:migrate, so the migrate Job (and its daily CronJob) keeps months ahead.
 * Returns the names of the partitions it created.
 */
export async function ensureLedgerPartitions(db: pg.ClientBase, options: EnsureOptions = {}): Promise<string[]> {
  const now = options.now ?? new Date();
  const period = options.period ?? 'month';
  const end = monthStart(now, (options.monthsAhead ?? DEFAULT_MONTHS_AHEAD) + 1);
  const wanted = new Map<number, Date>();
  const first = options.from && options.from < now ? options.from : now;
  for (let p = periodStart(first, period); p < end; p = periodStart(p, period, 1)) wanted.set(p.getTime(), p);
  // A scan of the default partition, which is empty unless a period was missing: then its rows
  // say which periods to create.
  const { rows: waiting } = await db.query<{ start: Date }>(
    `SELECT DISTINCT date_trunc($3, kafka_timestamp, 'UTC') AS start FROM ${pg.escapeIdentifier(DEFAULT_PARTITION)}
      WHERE kafka_timestamp >= $1 AND kafka_timestamp < $2`,
    [new Date(FIRST_MONTH), end, period],
  );
  for (const { start } of waiting) wanted.set(start.getTime(), start);
  const taken = (await partitionNames(db)).flatMap((name) => rangeOfPartition(name) ?? []);
  const created: string[] = [];
  for (const from of [...wanted.values()].sort((a, b) => a.getTime() - b.getTime())) {
    const to = periodStart(from, period, 1);
    if (taken.some((r) => r.from < to && from < r.to)) continue;
    const name = partitionName(from, period);
    await createPartition(db, name, from, to);
    taken.push({ from, to });
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

async function createPartition(db: pg.ClientBase, name: string, from: Date, to: Date): Promise<void> {
  const table = pg.escapeIdentifier(name);
  const fallback = pg.escapeIdentifier(DEFAULT_PARTITION);
  await db.query('BEGIN');
  try {
    // Postgres refuses a new partition while the default one holds rows of its range, so those
    // rows step aside for the moment it is created. Creating it locks the whole ledger until the
    // commit: writers wait (an ingester that waits past its lock timeout retries, as after an
    // outage), which is short unless many rows move.
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
