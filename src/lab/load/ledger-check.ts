// What the load test and the benchmark read back from Postgres: progress, latency, and the
// verification that every produced transaction is in the ledger exactly once.
import type pg from 'pg';
import type { BranchExpectation } from './branch-load.js';

/** Committed next offset of the transactions topic per branch: records fully handled. */
export async function committedPerBranch(
  db: pg.Client,
  transactionsTopic: string,
  branches: number,
): Promise<number[]> {
  const { rows } = await db.query<{ partition: number; next_offset: string }>(
    'SELECT "partition", next_offset FROM consumer_offset WHERE topic = $1',
    [transactionsTopic],
  );
  const result = new Array<number>(branches).fill(0);
  for (const r of rows) if (r.partition < branches) result[r.partition] = Number(r.next_offset);
  return result;
}

/** Connections to this database other than the caller's own: the ingester's, while it runs. */
export async function otherConnections(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return Number(rows[0]?.n ?? 0);
}

/** One branch's ledger rows and its first and last commit (epoch ms, Postgres's clock). */
export interface BranchWindow {
  rows: number;
  firstMs: number;
  lastMs: number;
}

/**
 * When each branch committed its first and its last ledger row: a branch's rate while it ran,
 * whatever the others did before or after (64 threads take seconds to start).
 */
export async function branchWindows(db: pg.Client, transactionsTopic: string): Promise<Map<number, BranchWindow>> {
  const { rows } = await db.query<{ branch: number; rows: string; first_ms: number; last_ms: number }>(
    `SELECT kafka_partition AS branch, count(*) AS rows,
            extract(epoch FROM min(posted_at)) * 1000 AS first_ms, extract(epoch FROM max(posted_at)) * 1000 AS last_ms
       FROM "transaction" WHERE kafka_topic = $1 GROUP BY kafka_partition`,
    [transactionsTopic],
  );
  return new Map(
    rows.map((r) => [r.branch, { rows: Number(r.rows), firstMs: Number(r.first_ms), lastMs: Number(r.last_ms) }]),
  );
}

export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Rows per latency bucket, upper bounds in ms (the last is open). */
  histogram: { upToMs: number | null; count: number }[];
}

const BUCKETS_MS = [5, 10, 20, 50, 100, 150, 200, 250, 500, 1000, 2000, 5000];

/** Rows with a Kafka timestamp: the ingester stores the epoch for a record without one. */
const TIMED = `kafka_timestamp > timestamptz 'epoch'`;

/**
 * Produce-to-ledger latency (posted_at minus Kafka's timestamp) in ms, overall and per branch, of
 * the rows produced at or after `fromMs` (epoch ms; every row by default).
 */
export async function latency(
  db: pg.Client,
  fromMs = 0,
): Promise<{ overall: LatencySummary; perBranch: Map<number, Omit<LatencySummary, 'histogram'>> }> {
  const q = `extract(epoch FROM posted_at - kafka_timestamp) * 1000`;
  const { rows } = await db.query<{ branch: number | null; p: number[]; max: number }>(
    `SELECT kafka_partition AS branch, percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY ${q}) AS p, max(${q}) AS max
       FROM "transaction" WHERE ${TIMED} AND kafka_timestamp >= to_timestamp($1 / 1000.0) GROUP BY GROUPING SETS ((kafka_partition), ())`,
    [fromMs],
  );
  const pick = (r: { p: number[]; max: number } | undefined) => ({
    p50: r?.p[0] ?? 0,
    p95: r?.p[1] ?? 0,
    p99: r?.p[2] ?? 0,
    max: Number(r?.max ?? 0),
  });
  const perBranch = new Map(rows.filter((r) => r.branch !== null).map((r) => [r.branch!, pick(r)]));
  const buckets = await db.query<{ bucket: number; n: string }>(
    `SELECT width_bucket(${q}, $1::float8[]) AS bucket, count(*) AS n FROM "transaction" WHERE ${TIMED} AND kafka_timestamp >= to_timestamp($2 / 1000.0) GROUP BY 1 ORDER BY 1`,
    [BUCKETS_MS, fromMs],
  );
  const histogram = [...BUCKETS_MS, null].map((upToMs, i) => ({
    upToMs,
    count: Number(buckets.rows.find((b) => b.bucket === i)?.n ?? 0),
  }));
  return { overall: { ...pick(rows.find((r) => r.branch === null)), histogram }, perBranch };
}

/**
 * Latency percentiles over time: rows grouped by when they were produced (Kafka's timestamp) into
 * about `buckets` buckets from `startMs` (null: from the first row produced) to the last row
 * produced. Each point is p50, p99 and max of the rows produced in its bucket.
 */
export async function latencyOverTime(
  db: pg.Client,
  startMs: number | null,
  buckets = 50,
): Promise<{ seconds: number; p50: number; p99: number; max: number }[]> {
  const span = await db.query<{ first: number | null; last: number | null }>(
    `SELECT extract(epoch FROM min(kafka_timestamp)) * 1000 AS first, extract(epoch FROM max(kafka_timestamp)) * 1000 AS last FROM "transaction" WHERE ${TIMED}`,
  );
  const first = startMs ?? Number(span.rows[0]?.first ?? 0);
  const last = Number(span.rows[0]?.last ?? first);
  // A catch-up backlog may be produced within a second: buckets follow the span, not a clock.
  const bucketMs = Math.max(5, (last - first) / buckets);
  const q = `extract(epoch FROM posted_at - kafka_timestamp) * 1000`;
  const { rows } = await db.query<{ b: string; p: number[]; max: number }>(
    `SELECT floor((extract(epoch FROM kafka_timestamp) * 1000 - $1) / $2) AS b,
            percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY ${q}) AS p, max(${q}) AS max
       FROM "transaction" WHERE ${TIMED} GROUP BY 1 ORDER BY 1`,
    [first, bucketMs],
  );
  return rows.map((r) => ({
    seconds: ((Number(r.b) + 0.5) * bucketMs) / 1000,
    p50: r.p[0] ?? 0,
    p99: r.p[1] ?? 0,
    max: Number(r.max),
  }));
}

export interface Verification {
  ok: boolean;
  problems: string[];
  perBranch: { branch: number; ledgerRows: number; parked: number; rejected: number; netCents: number }[];
}

/** Every valid produced transaction in the ledger exactly once, balances equal to the expected totals. */
export async function verifyLedger(
  db: pg.Client,
  expected: BranchExpectation[],
  transactionsTopic: string,
): Promise<Verification> {
  const problems: string[] = [];
  const { rows } = await db.query<{ branch: number; n: string; distinct_offsets: string; net: string }>(
    `SELECT kafka_partition AS branch, count(*) AS n, count(DISTINCT kafka_offset) AS distinct_offsets,
            sum(CASE WHEN kind = 'deposit' THEN amount_cents ELSE -amount_cents END) AS net
       FROM "transaction" WHERE kafka_topic = $1 GROUP BY 1`,
    [transactionsTopic],
  );
  const parked = await db.query<{ branch: number; n: string }>(
    'SELECT kafka_partition AS branch, count(*) AS n FROM parked_transaction GROUP BY 1',
  );
  const rejected = await db.query<{ branch: number; n: string }>(
    'SELECT kafka_partition AS branch, count(*) AS n FROM rejected_event GROUP BY 1',
  );
  const perBranch = expected.map((e) => {
    const row = rows.find((r) => r.branch === e.branch);
    const got = {
      branch: e.branch,
      ledgerRows: Number(row?.n ?? 0),
      parked: Number(parked.rows.find((r) => r.branch === e.branch)?.n ?? 0),
      rejected: Number(rejected.rows.find((r) => r.branch === e.branch)?.n ?? 0),
      netCents: Number(row?.net ?? 0),
    };
    if (got.ledgerRows !== e.transactions)
      problems.push(`branch ${e.branch}: ${got.ledgerRows} ledger rows, ${e.transactions} produced`);
    if (Number(row?.distinct_offsets ?? 0) !== got.ledgerRows)
      problems.push(`branch ${e.branch}: a Kafka record is in the ledger more than once`);
    if (got.netCents !== e.netCents)
      problems.push(`branch ${e.branch}: net ${got.netCents} cents, expected ${e.netCents}`);
    return got;
  });
  const [balances] = (
    await db.query<{ mismatched: string }>(
      `SELECT count(*) AS mismatched FROM balance b
         LEFT JOIN (SELECT custid, sum(CASE WHEN kind = 'deposit' THEN amount_cents ELSE -amount_cents END) AS s FROM "transaction" GROUP BY custid) l USING (custid)
        WHERE b.balance_cents <> coalesce(l.s, 0)`,
    )
  ).rows;
  if (Number(balances?.mismatched) > 0)
    problems.push(`${balances?.mismatched} balances differ from the sum of their ledger rows`);
  return { ok: problems.length === 0, problems, perBranch };
}
