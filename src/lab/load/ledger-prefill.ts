// Fills a fresh ledger with rows of another topic before a bench run, as after months of
// ingesting: the question is how much of its empty-ledger rate the ingester keeps as the ledger
// grows. Generated inside Postgres (no client memory, no Kafka), in chunks so that no statement
// holds millions of rows in its trigger's transition table.
import pg from 'pg';

/** Rows per INSERT: bounds each statement's transition table and WAL burst. */
const CHUNK_ROWS = 2_000_000;
/** Customers the prefilled rows belong to; ids far above the lab's, so the runs never meet. */
const PREFILL_CUSTOMERS = 100_000;
const FIRST_PREFILL_CUSTID = 1_000_000_000;

export interface LedgerSize {
  rows: number;
  tableBytes: number;
  indexBytes: number;
}

/**
 * Adds `rows` ledger rows on topic `zipbank-prefill` (8 partitions), their customers and balances
 * that equal their ledger, then vacuums and analyses the ledger as autovacuum would have. The
 * rows scatter over the customers as a real ledger's do, so the custid index grows at random.
 */
export async function prefillLedger(
  databaseUrl: string,
  rows: number,
  say: (line: string) => void,
): Promise<LedgerSize> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    await db.query(
      `INSERT INTO customer (custid, fname, lname, created_at, kafka_topic, kafka_partition, kafka_offset)
       SELECT $1::bigint + g, 'Prefill', 'Customer', now(), 'zipbank-prefill-customers', g % 8, g / 8
         FROM generate_series(0, $2::bigint - 1) g`,
      [FIRST_PREFILL_CUSTID, PREFILL_CUSTOMERS],
    );
    const started = Date.now();
    for (let first = 0; first < rows; first += CHUNK_ROWS) {
      const last = Math.min(rows, first + CHUNK_ROWS) - 1;
      // A multiplicative hash scatters consecutive rows over the customers.
      await db.query(
        `INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, posted_at)
         SELECT $1::bigint + (g * 2654435761) % $2::bigint, CASE WHEN g % 3 = 0 THEN 'withdrawal' ELSE 'deposit' END,
                100 + g % 10000, t, 'zipbank-prefill-events', g % 8, g / 8, t, t
           FROM generate_series($3::bigint, $4::bigint) g,
                LATERAL (SELECT timestamptz '2026-01-01' + g * interval '100 ms') x(t)`,
        [FIRST_PREFILL_CUSTID, PREFILL_CUSTOMERS, first, last],
      );
      say(
        `prefill: ${last + 1} of ${rows} ledger rows (${Math.round((last + 1) / ((Date.now() - started) / 1000))} rows/s)`,
      );
    }
    await db.query(
      `INSERT INTO balance (custid, balance_cents, transaction_count)
       SELECT custid, sum(CASE WHEN kind = 'deposit' THEN amount_cents ELSE -amount_cents END), count(*)
         FROM "transaction" WHERE kafka_topic = 'zipbank-prefill-events' GROUP BY custid`,
    );
    await db.query('VACUUM (ANALYZE) "transaction"');
    const { rows: sizes } = await db.query<{ table_bytes: string; index_bytes: string }>(
      `SELECT pg_table_size('"transaction"') AS table_bytes, pg_indexes_size('"transaction"') AS index_bytes`,
    );
    return { rows, tableBytes: Number(sizes[0]!.table_bytes), indexBytes: Number(sizes[0]!.index_bytes) };
  } finally {
    await db.end();
  }
}
