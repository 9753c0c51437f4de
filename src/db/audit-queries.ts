// What the audit (src/cli/audit.ts) asks Postgres, a chunk of offsets at a time so that memory
// stays bounded on a branch of millions of records: the rows at each offset, the customers that
// exist, and the customers whose balance differs from their ledger sum.
import type { PrismaClient } from './prisma.js';

/** Every row of a topic partition's offsets from..to (inclusive), by offset, with its kind. */
export async function rowsAtOffsets(
  prisma: PrismaClient,
  topic: string,
  partition: number,
  from: number,
  to: number,
): Promise<Map<number, ('ledger' | 'customer' | 'parked' | 'rejected')[]>> {
  const rows = await prisma.$queryRaw<{ off: bigint; kind: 'ledger' | 'customer' | 'parked' | 'rejected' }[]>`
    SELECT kafka_offset AS off, 'ledger' AS kind FROM "transaction"
     WHERE kafka_topic = ${topic} AND kafka_partition = ${partition} AND kafka_offset BETWEEN ${from} AND ${to}
    UNION ALL
    SELECT kafka_offset, 'parked' FROM parked_transaction
     WHERE kafka_topic = ${topic} AND kafka_partition = ${partition} AND kafka_offset BETWEEN ${from} AND ${to}
    UNION ALL
    SELECT kafka_offset, 'rejected' FROM rejected_event
     WHERE kafka_topic = ${topic} AND kafka_partition = ${partition} AND kafka_offset BETWEEN ${from} AND ${to}
    UNION ALL
    SELECT kafka_offset, 'customer' FROM customer
     WHERE kafka_topic = ${topic} AND kafka_partition = ${partition} AND kafka_offset BETWEEN ${from} AND ${to}`;
  const byOffset = new Map<number, ('ledger' | 'customer' | 'parked' | 'rejected')[]>();
  for (const r of rows) {
    const offset = Number(r.off);
    byOffset.set(offset, [...(byOffset.get(offset) ?? []), r.kind]);
  }
  return byOffset;
}

/** Rows of a topic partition at offsets at or past `from` (none may exist past the log end). */
export async function rowsFrom(prisma: PrismaClient, topic: string, partition: number, from: number): Promise<number> {
  const [row] = await prisma.$queryRaw<{ n: bigint }[]>`
    SELECT (SELECT count(*) FROM "transaction" WHERE kafka_topic = ${topic} AND kafka_partition = ${partition} AND kafka_offset >= ${from})
         + (SELECT count(*) FROM parked_transaction WHERE kafka_topic = ${topic} AND kafka_partition = ${partition} AND kafka_offset >= ${from})
         + (SELECT count(*) FROM rejected_event WHERE kafka_topic = ${topic} AND kafka_partition = ${partition} AND kafka_offset >= ${from})
         + (SELECT count(*) FROM customer WHERE kafka_topic = ${topic} AND kafka_partition = ${partition} AND kafka_offset >= ${from}) AS n`;
  return Number(row?.n ?? 0);
}

/** Which of these customer ids exist. */
export async function existingCustomers(prisma: PrismaClient, custids: number[]): Promise<Set<number>> {
  if (custids.length === 0) return new Set();
  const rows = await prisma.$queryRaw<{ custid: bigint }[]>`
    SELECT custid FROM customer WHERE custid = ANY(${custids}::bigint[])`;
  return new Set(rows.map((r) => Number(r.custid)));
}

export interface BalanceMismatch {
  custid: number;
  balanceCents: string;
  ledgerCents: string;
  balanceCount: string;
  ledgerCount: string;
}

/**
 * Customers created on this branch whose balance (or transaction count) differs from their ledger
 * rows: how many, and the first `limit` of them. Summed in Postgres, never loaded.
 */
export async function balanceMismatches(
  prisma: PrismaClient,
  customersTopic: string,
  partition: number,
  limit: number,
): Promise<{ count: number; checked: number; first: BalanceMismatch[] }> {
  const rows = await prisma.$queryRaw<
    {
      custid: bigint;
      balance: bigint;
      ledger: bigint;
      bcount: bigint;
      lcount: bigint;
      total: bigint;
      checked: bigint;
    }[]
  >`
    WITH mine AS (
      SELECT custid FROM customer WHERE kafka_topic = ${customersTopic} AND kafka_partition = ${partition}
    ), sums AS (
      SELECT m.custid, coalesce(b.balance_cents, 0) AS balance, coalesce(b.transaction_count, 0) AS bcount,
             coalesce((SELECT sum(CASE WHEN t.kind = 'deposit' THEN t.amount_cents ELSE -t.amount_cents END) FROM "transaction" t WHERE t.custid = m.custid), 0) AS ledger,
             (SELECT count(*) FROM "transaction" t WHERE t.custid = m.custid) AS lcount
        FROM mine m LEFT JOIN balance b USING (custid)
    ), bad AS (
      SELECT * FROM sums WHERE balance <> ledger OR bcount <> lcount
    )
    SELECT custid, balance, ledger, bcount, lcount, (SELECT count(*) FROM bad) AS total, (SELECT count(*) FROM mine) AS checked
      FROM bad ORDER BY custid LIMIT ${limit}`;
  const [first] = rows;
  const checked = first
    ? Number(first.checked)
    : Number(
        (
          await prisma.$queryRaw<{ n: bigint }[]>`
            SELECT count(*) AS n FROM customer WHERE kafka_topic = ${customersTopic} AND kafka_partition = ${partition}`
        )[0]?.n ?? 0,
      );
  return {
    count: first ? Number(first.total) : 0,
    checked,
    first: rows.map((r) => ({
      custid: Number(r.custid),
      balanceCents: String(r.balance),
      ledgerCents: String(r.ledger),
      balanceCount: String(r.bcount),
      ledgerCount: String(r.lcount),
    })),
  };
}
