// Writes one batch in one Postgres transaction, set-based: each step is one statement over
// arrays (unnest), never a statement per record. Customers, ledger rows, balance changes,
// parked and rejected records and the next offsets of both partitions commit together or not
// at all, which is what makes redelivery after a crash harmless.
import { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient } from '../db/prisma.js';
import { conflictDetail, sameCustomer, type Batch, type CustomerRecord, type RejectedRecord, type TransactionRecord } from './batch.js';
import { REJECT_REASONS, type TransactionKind } from './event-parser.js';

export interface BatchOutcome {
  customersCreated: number;
  posted: number;
  parked: number;
  /** Parked earlier, posted now that their customer exists. */
  unparked: number;
  rejected: number;
  /** Parked transactions of this branch still waiting after the batch. */
  stillParked: number;
}

type Tx = Prisma.TransactionClient;

export interface WriteOptions {
  partition: number;
  transactionsTopic: string;
  /** False when this branch is known to have nothing parked: saves the un-park statement. */
  checkParked: boolean;
}

export async function writeBatch(prisma: PrismaClient, batch: Batch, options: WriteOptions): Promise<BatchOutcome> {
  return prisma.$transaction(
    async (tx) => {
      const rejected = [...batch.rejected];
      const customersCreated = await insertCustomers(tx, batch.customers, rejected);

      // Transactions parked earlier come first: they are older than anything in this batch.
      const unparked = options.checkParked ? await takeParkedWithCustomer(tx, options) : [];
      const known = await existingCustomers(tx, batch.transactions.map((t) => t.custid));
      const ready = batch.transactions.filter((t) => known.has(t.custid));
      const waiting = batch.transactions.filter((t) => !known.has(t.custid));

      await postToLedger(tx, [...unparked, ...ready]);
      await park(tx, waiting);
      await insertRejected(tx, rejected);
      await storeOffsets(tx, batch.nextOffsets, options.partition);
      const stillParked = options.checkParked || waiting.length > 0 ? await countParked(tx, options) : 0;
      return { customersCreated, posted: ready.length + unparked.length, parked: waiting.length, unparked: unparked.length, rejected: rejected.length, stillParked };
    },
    { maxWait: 10_000, timeout: 20_000 },
  );
}

/** Inserts new customers (with a zero balance); a repeat with other data becomes a rejection. */
async function insertCustomers(tx: Tx, customers: CustomerRecord[], rejected: RejectedRecord[]): Promise<number> {
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
    const byId = new Map(existing.map((e) => [Number(e.custid), { custid: Number(e.custid), firstName: e.fname, lastName: e.lname, createdAt: Number(e.created) }]));
    for (const repeat of repeats) {
      const current = byId.get(repeat.custid);
      if (current && !sameCustomer(current, repeat)) {
        rejected.push({ source: repeat.source, reason: REJECT_REASONS.CUSTOMER_CONFLICT, detail: conflictDetail(current, repeat) });
      }
    }
  }
  return createdIds.size;
}

async function existingCustomers(tx: Tx, custids: number[]): Promise<Set<number>> {
  if (custids.length === 0) return new Set();
  const unique = [...new Set(custids)];
  const rows = await tx.$queryRaw<{ custid: bigint }[]>`SELECT custid FROM customer WHERE custid = ANY(${unique}::bigint[])`;
  return new Set(rows.map((r) => Number(r.custid)));
}

/**
 * Removes and returns this branch's parked transactions whose customer exists now, oldest
 * first. Only the owning branch takes its parked rows, so branches never contend for them; a
 * customer created by another branch is seen here on this branch's next batch.
 */
async function takeParkedWithCustomer(tx: Tx, options: WriteOptions): Promise<TransactionRecord[]> {
  const rows = await tx.$queryRaw<{ custid: bigint; kind: string; amount_cents: bigint; occurred: number; kafka_offset: bigint; kafka_ms: number | null }[]>`
    DELETE FROM parked_transaction p USING customer c
     WHERE p.kafka_topic = ${options.transactionsTopic} AND p.kafka_partition = ${options.partition} AND c.custid = p.custid
    RETURNING p.custid, p.kind, p.amount_cents, extract(epoch FROM p.occurred_at)::float8 AS occurred, p.kafka_offset,
              (extract(epoch FROM p.kafka_timestamp) * 1000)::float8 AS kafka_ms`;
  return rows
    .map((r) => ({
      custid: Number(r.custid),
      kind: r.kind as TransactionKind,
      amountCents: Number(r.amount_cents),
      occurredAt: Number(r.occurred),
      topic: options.transactionsTopic,
      partition: options.partition,
      offset: Number(r.kafka_offset),
      kafkaTimestampMs: r.kafka_ms === null ? null : Number(r.kafka_ms),
    }))
    .sort((a, b) => a.offset - b.offset);
}

/** Ledger rows and the balance changes they make, in one statement. */
async function postToLedger(tx: Tx, transactions: TransactionRecord[]): Promise<void> {
  if (transactions.length === 0) return;
  // ON CONFLICT DO NOTHING plus RETURNING: a row that is somehow already posted changes no balance.
  await tx.$executeRaw`
    WITH input AS (
      SELECT * FROM unnest(${transactions.map((t) => t.custid)}::bigint[], ${transactions.map((t) => t.kind)}::text[],
                           ${transactions.map((t) => t.amountCents)}::bigint[], ${transactions.map((t) => t.occurredAt)}::float8[],
                           ${transactions.map((t) => t.topic)}::text[], ${transactions.map((t) => t.partition)}::int[],
                           ${transactions.map((t) => t.offset)}::bigint[], ${transactions.map((t) => t.kafkaTimestampMs)}::float8[])
             WITH ORDINALITY AS i(custid, kind, amount, occurred, topic, part, off, kafka_ms, n)
    ), posted AS (
      -- posted_at is the clock at insert, not the transaction's start: it is the far end of the
      -- produce-to-ledger latency (the rest of the batch's statements and the commit follow).
      INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, posted_at)
      SELECT custid, kind, amount, to_timestamp(occurred), topic, part, off, to_timestamp(kafka_ms / 1000.0), clock_timestamp() FROM input ORDER BY n
      ON CONFLICT (kafka_topic, kafka_partition, kafka_offset) DO NOTHING
      RETURNING custid, CASE WHEN kind = 'deposit' THEN amount_cents ELSE -amount_cents END AS delta
    ), per_customer AS (
      SELECT custid, sum(delta)::bigint AS delta, count(*) AS n FROM posted GROUP BY custid
    )
    INSERT INTO balance AS b (custid, balance_cents, transaction_count, updated_at)
    SELECT custid, delta, n, now() FROM per_customer ORDER BY custid
    ON CONFLICT (custid) DO UPDATE
      SET balance_cents = b.balance_cents + EXCLUDED.balance_cents,
          transaction_count = b.transaction_count + EXCLUDED.transaction_count,
          updated_at = now()`;
}

async function park(tx: Tx, transactions: TransactionRecord[]): Promise<void> {
  if (transactions.length === 0) return;
  await tx.$executeRaw`
    INSERT INTO parked_transaction (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp)
    SELECT custid, kind, amount, to_timestamp(occurred), topic, part, off, to_timestamp(kafka_ms / 1000.0)
      FROM unnest(${transactions.map((t) => t.custid)}::bigint[], ${transactions.map((t) => t.kind)}::text[],
                  ${transactions.map((t) => t.amountCents)}::bigint[], ${transactions.map((t) => t.occurredAt)}::float8[],
                  ${transactions.map((t) => t.topic)}::text[], ${transactions.map((t) => t.partition)}::int[],
                  ${transactions.map((t) => t.offset)}::bigint[], ${transactions.map((t) => t.kafkaTimestampMs)}::float8[])
           AS i(custid, kind, amount, occurred, topic, part, off, kafka_ms)
    ON CONFLICT (kafka_topic, kafka_partition, kafka_offset) DO NOTHING`;
}

async function insertRejected(tx: Tx, rejected: RejectedRecord[]): Promise<void> {
  if (rejected.length === 0) return;
  // Raw bytes travel as base64 text: exact for any bytes, including invalid UTF-8.
  const b64 = (b: Buffer | null | undefined) => (b ? b.toString('base64') : null);
  await tx.$executeRaw`
    INSERT INTO rejected_event (kafka_topic, kafka_partition, kafka_offset, raw_key, raw_value, reason_code, detail)
    SELECT topic, part, off, decode(k, 'base64'), decode(v, 'base64'), reason, detail
      FROM unnest(${rejected.map((r) => r.source.topic)}::text[], ${rejected.map((r) => r.source.partition)}::int[],
                  ${rejected.map((r) => r.source.offset)}::bigint[], ${rejected.map((r) => b64(r.source.key))}::text[],
                  ${rejected.map((r) => b64(r.source.value))}::text[], ${rejected.map((r) => r.reason)}::text[],
                  ${rejected.map((r) => r.detail)}::text[])
           AS i(topic, part, off, k, v, reason, detail)
    ON CONFLICT (kafka_topic, kafka_partition, kafka_offset) DO NOTHING`;
}

async function storeOffsets(tx: Tx, nextOffsets: Map<string, number>, partition: number): Promise<void> {
  if (nextOffsets.size === 0) return;
  const topics = [...nextOffsets.keys()];
  await tx.$executeRaw`
    INSERT INTO consumer_offset (topic, "partition", next_offset, updated_at)
    SELECT topic, ${partition}, next_offset, now()
      FROM unnest(${topics}::text[], ${topics.map((t) => nextOffsets.get(t)!)}::bigint[]) AS i(topic, next_offset)
    ON CONFLICT (topic, "partition") DO UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()`;
}

async function countParked(tx: Tx | PrismaClient, options: Pick<WriteOptions, 'partition' | 'transactionsTopic'>): Promise<number> {
  const [row] = await tx.$queryRaw<{ n: bigint }[]>`
    SELECT count(*) AS n FROM parked_transaction WHERE kafka_topic = ${options.transactionsTopic} AND kafka_partition = ${options.partition}`;
  return Number(row?.n ?? 0);
}

/** Stored next offsets of this branch's partition, per topic. */
export async function readOffsets(prisma: PrismaClient, topics: string[], partition: number): Promise<Map<string, number>> {
  const rows = await prisma.consumerOffset.findMany({ where: { topic: { in: topics }, partition } });
  return new Map(rows.map((r) => [r.topic, Number(r.nextOffset)]));
}

export interface ParkedStats {
  count: number;
  oldestAgeSeconds: number | null;
}

export async function parkedStats(prisma: PrismaClient, options: Pick<WriteOptions, 'partition' | 'transactionsTopic'>): Promise<ParkedStats> {
  const [row] = await prisma.$queryRaw<{ n: bigint; oldest: number | null }[]>`
    SELECT count(*) AS n, extract(epoch FROM now() - min(parked_at))::float8 AS oldest
      FROM parked_transaction WHERE kafka_topic = ${options.transactionsTopic} AND kafka_partition = ${options.partition}`;
  return { count: Number(row?.n ?? 0), oldestAgeSeconds: row?.oldest == null ? null : Math.round(Number(row.oldest)) };
}
