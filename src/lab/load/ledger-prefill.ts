// Fills a fresh ledger with rows of another topic before a bench run, as after months of
// ingesting: the question is how much of its empty-ledger rate the ingester keeps as the ledger
// grows. Generated inside Postgres (no client memory, no Kafka), in chunks so that no statement
// holds millions of rows in its trigger's transition table.
import { ensureLedgerPartitions } from '../../db/ledger-partitions.js';
import { withPgClient } from '../../db/with-pg-client.js';
import { copyRows } from './copy-writer.js';

/** The prefilled rows' Kafka times start here, 100 ms apart: months before the run's own rows. */
const PREFILL_START = new Date('2026-01-01T00:00:00Z');
/** Rows per INSERT: bounds each statement's transition table and WAL burst. */
const CHUNK_ROWS = 2_000_000;
/** The customers of the run, which the prefilled rows belong to as well. */
export interface PrefillCustomers {
  /** Their ids are firstCustid .. firstCustid + count - 1. */
  firstCustid: number;
  count: number;
  /** The customer table's rows (COPY text) as the run's customers topic carries them. */
  lines: Iterable<string>;
  columns: string[];
}

export interface LedgerSize {
  rows: number;
  tableBytes: number;
  indexBytes: number;
}

/**
 * Adds the run's customers and `rows` ledger rows of theirs on topic `zipbank-prefill-events`
 * (8 partitions), with balances that equal their ledger, then vacuums and analyses the ledger as
 * autovacuum would have. The customers are the run's own, exactly as its customers topic carries
 * them (the ingester takes those records as repeats), because a branch's customers keep
 * transacting for years: the drain then adds to index pages spread over the whole custid index,
 * as a real one does, and not only at an edge of it. The rows scatter over the customers.
 */
export async function prefillLedger(
  databaseUrl: string,
  rows: number,
  customers: PrefillCustomers,
  say: (line: string) => void,
): Promise<LedgerSize> {
  await copyRows(databaseUrl, 'customer', customers.columns, customers.lines);
  return withPgClient(databaseUrl, async (db) => {
    // The months the prefilled rows fall in, as the monthly job would have created them.
    await ensureLedgerPartitions(db, { from: PREFILL_START });
    const started = Date.now();
    for (let first = 0; first < rows; first += CHUNK_ROWS) {
      const last = Math.min(rows, first + CHUNK_ROWS) - 1;
      // A multiplicative hash scatters consecutive rows over the customers.
      await db.query(
        `INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, posted_at)
         SELECT $1::bigint + (g * 2654435761) % $2::bigint, CASE WHEN g % 3 = 0 THEN 'withdrawal' ELSE 'deposit' END,
                100 + g % 10000, t, 'zipbank-prefill-events', g % 8, g / 8, t, t
           FROM generate_series($3::bigint, $4::bigint) g,
                LATERAL (SELECT $5::timestamptz + g * interval '100 ms') x(t)`,
        [customers.firstCustid, customers.count, first, last, PREFILL_START],
      );
      say(
        `prefill: ${last + 1} of ${rows} ledger rows (${Math.round((last + 1) / ((Date.now() - started) / 1000))} rows/s)`,
      );
    }
    // Every customer gets its balance here: the ingester creates none for customers that exist.
    await db.query(
      `INSERT INTO balance (custid, balance_cents, transaction_count)
       SELECT c.custid, coalesce(l.cents, 0), coalesce(l.n, 0)
         FROM customer c
         LEFT JOIN (SELECT custid, sum(CASE WHEN kind = 'deposit' THEN amount_cents ELSE -amount_cents END) AS cents,
                           count(*) AS n
                      FROM "transaction" WHERE kafka_topic = 'zipbank-prefill-events' GROUP BY custid) l USING (custid)`,
    );
    await db.query('VACUUM (ANALYZE) "transaction"');
    // A partitioned table has no storage of its own: its size is its partitions'.
    const { rows: sizes } = await db.query<{ table_bytes: string; index_bytes: string }>(
      `SELECT sum(pg_table_size(inhrelid)) AS table_bytes, sum(pg_indexes_size(inhrelid)) AS index_bytes
         FROM pg_inherits WHERE inhparent = '"transaction"'::regclass`,
    );
    return { rows, tableBytes: Number(sizes[0]!.table_bytes), indexBytes: Number(sizes[0]!.index_bytes) };
  });
}
