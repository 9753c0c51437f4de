// Creates the customers of a batch inside the batch's transaction (src/ingest/batch-writer.ts),
// each with its zero balance, in one statement. A customer created again with the same data is a
// harmless repeat; with other data it becomes a rejection of that record.
import type { Prisma } from '../generated/prisma/client.js';
import { REJECT_REASONS } from './event-parser.js';
import { conflictDetail, sameCustomer, type CustomerRecord, type RejectedRecord } from './batch.js';

type Tx = Prisma.TransactionClient;

/** Inserts new customers (with a zero balance); a repeat with other data becomes a rejection. */
export async function insertCustomers(
  tx: Tx,
  customers: CustomerRecord[],
  rejected: RejectedRecord[],
): Promise<number> {
  if (customers.length === 0) return 0;
  // Sorted ids: two branches creating overlapping customers lock them in the same order.
  const sorted = [...customers].sort((a, b) => a.custid - b.custid);
  const inserted = await tx.$queryRaw<{ custid: bigint }[]>`
    WITH input AS (
      SELECT * FROM unnest(${sorted.map((c) => c.custid)}::bigint[], ${sorted.map((c) => c.firstName)}::text[],
                           ${sorted.map((c) => c.lastName)}::text[], ${sorted.map((c) => c.createdAt)}::float8[],
                           ${sorted.map((c) => c.source.topic)}::text[], ${sorted.map((c) => c.source.partition)}::int[],
                           ${sorted.map((c) => c.source.offset)}::bigint[])
             AS i(custid, fname, lname, created, topic, part, off)
    ), created AS (
      INSERT INTO customer (custid, fname, lname, created_at, kafka_topic, kafka_partition, kafka_offset)
      SELECT custid, fname, lname, to_timestamp(created), topic, part, off FROM input ORDER BY custid
      ON CONFLICT (custid) DO NOTHING
      RETURNING custid
    ), balances AS (
      INSERT INTO balance (custid) SELECT custid FROM created ON CONFLICT (custid) DO NOTHING
    )
    SELECT custid FROM created`;
  const createdIds = new Set(inserted.map((r) => Number(r.custid)));
  const repeats = sorted.filter((c) => !createdIds.has(c.custid));
  if (repeats.length > 0) {
    const existing = await tx.$queryRaw<{ custid: bigint; fname: string; lname: string; created: number }[]>`
      SELECT custid, fname, lname, extract(epoch FROM created_at)::float8 AS created
        FROM customer WHERE custid = ANY(${repeats.map((c) => c.custid)}::bigint[])`;
    const byId = new Map(
      existing.map((e) => [
        Number(e.custid),
        { custid: Number(e.custid), firstName: e.fname, lastName: e.lname, createdAt: Number(e.created) },
      ]),
    );
    for (const repeat of repeats) {
      const current = byId.get(repeat.custid);
      if (current && !sameCustomer(current, repeat)) {
        rejected.push({
          source: repeat.source,
          reason: REJECT_REASONS.CUSTOMER_CONFLICT,
          detail: conflictDetail(current, repeat),
        });
      }
    }
  }
  return createdIds.size;
}
