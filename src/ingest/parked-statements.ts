// The statements on a branch's parked transactions (valid transactions whose customer did not
// exist yet): taking a chunk of them to post with a batch (src/ingest/batch-writer.ts), finding
// the offsets of a chunk to isolate a refused one, and quarantining one Postgres refuses.
import { Prisma } from '../generated/prisma/client.js';
import { renew, type Lease } from '../db/branch-lease.js';
import { advanceUnderLease, type StoredPosition } from '../db/stored-position.js';
import { TRANSACTION_LIMITS, type PrismaClient } from '../db/prisma.js';
import { numberArrayLiteral } from '../db/array-literal.js';
import { toDatabaseError } from '../db/database-error.js';
import { printable } from '../core/printable.js';
import type { TransactionRecord } from './batch.js';
import { REJECT_REASONS, type TransactionKind } from './event-parser.js';

type Tx = Prisma.TransactionClient;

/** Whose parked transactions a statement takes, and under which lease. */
export interface ParkedTarget {
  partition: number;
  transactionsTopic: string;
  /**
   * Customers known to exist whose parked transactions wait: up to PARKED_CHUNK of them are taken
   * first, oldest first per customer (src/ingest/parked-queue.ts finds these customers).
   */
  unparkCustomers?: readonly number[];
  /** Take only the parked transaction at this offset (isolating a refused one). */
  parkedOffset?: number;
  /** The branch lease the statement runs under; it fails, changing nothing, without it. */
  lease?: Lease;
}

/**
 * Parked transactions posted per write, at most: a flood of parked rows is drained a chunk per
 * write, so no statement nears the statement timeout and memory is bounded by design.
 */
export const PARKED_CHUNK = 10_000;

/**
 * Removes and returns parked transactions of this branch to post now, oldest first per customer:
 * the one at `parkedOffset` (isolating a refused one), or up to PARKED_CHUNK of the customers in
 * `unparkCustomers` (customers that exist). Only the owning branch takes its parked rows, so
 * branches never contend for them.
 */
export async function takeParked(tx: Tx, options: ParkedTarget): Promise<TransactionRecord[]> {
  const branch = Prisma.sql`kafka_topic = ${options.transactionsTopic} AND kafka_partition = ${options.partition}`;
  let chunk: Prisma.Sql;
  if (options.parkedOffset !== undefined)
    chunk = Prisma.sql`SELECT p.id FROM parked_transaction p JOIN customer c USING (custid)
                        WHERE p.kafka_topic = ${options.transactionsTopic} AND p.kafka_partition = ${options.partition}
                          AND p.kafka_offset = ${options.parkedOffset}`;
  else if (options.unparkCustomers && options.unparkCustomers.length > 0)
    // Per customer through the (topic, partition, custid, offset) index, in offset order: no sort,
    // and the outer limit stops the walk once the chunk is full.
    chunk = Prisma.sql`SELECT q.id FROM unnest(${numberArrayLiteral(options.unparkCustomers)}::bigint[]) AS g(custid),
                         LATERAL (SELECT id FROM parked_transaction WHERE ${branch} AND custid = g.custid
                                   ORDER BY kafka_offset LIMIT ${PARKED_CHUNK}) q
                        LIMIT ${PARKED_CHUNK}`;
  else return [];
  const rows = await tx.$queryRaw<
    {
      custid: bigint;
      kind: string;
      amount_cents: bigint;
      occurred: number;
      kafka_offset: bigint;
      kafka_ms: number | null;
    }[]
  >`
    DELETE FROM parked_transaction p USING (${chunk}) AS chunk
     WHERE p.id = chunk.id
    RETURNING p.custid, p.kind, p.amount_cents, extract(epoch FROM p.occurred_at)::float8 AS occurred, p.kafka_offset,
              (extract(epoch FROM p.kafka_timestamp) * 1000)::float8 AS kafka_ms`;
  return rows
    .map((r) => ({
      custid: Number(r.custid),
      kind: r.kind as TransactionKind,
      amountCents: Number(r.amount_cents),
      occurredAt: Number(r.occurred),
      offset: Number(r.kafka_offset),
      kafkaTimestampMs: r.kafka_ms === null ? null : Number(r.kafka_ms),
    }))
    .sort((a, b) => a.offset - b.offset);
}

/**
 * Offsets of this branch's parked transactions of these customers (which exist), oldest first per
 * customer, at most PARKED_CHUNK: the chunk a refused drain is isolated in, one at a time.
 */
export async function postableParkedOffsets(
  prisma: PrismaClient,
  options: Pick<ParkedTarget, 'partition' | 'transactionsTopic'>,
  custids: readonly number[],
): Promise<number[]> {
  const rows = await prisma.$queryRaw<{ kafka_offset: bigint }[]>`
    SELECT q.kafka_offset FROM unnest(${numberArrayLiteral(custids)}::bigint[]) AS g(custid),
      LATERAL (SELECT kafka_offset FROM parked_transaction
                WHERE kafka_topic = ${options.transactionsTopic} AND kafka_partition = ${options.partition} AND custid = g.custid
                ORDER BY kafka_offset LIMIT ${PARKED_CHUNK}) q
     LIMIT ${PARKED_CHUNK}`;
  return rows.map((r) => Number(r.kafka_offset));
}

/**
 * Moves a parked transaction that Postgres refuses to post into rejected_event (reason
 * database_rejected), its fields as JSON in place of the raw bytes, under the branch lease: a
 * commit of the branch, made only from the position `expected` (src/db/stored-position.ts).
 */
export async function rejectParked(
  prisma: PrismaClient,
  options: ParkedTarget & { expected?: StoredPosition },
  offset: number,
  detail: string,
): Promise<void> {
  try {
    await prisma.$transaction(async (tx) => {
      const { lease, expected } = options;
      if (lease && expected) await advanceUnderLease(tx, lease, expected);
      else if (lease) await renew(tx, lease);
      await tx.$executeRaw`
        WITH moved AS (
          DELETE FROM parked_transaction
           WHERE kafka_topic = ${options.transactionsTopic} AND kafka_partition = ${options.partition} AND kafka_offset = ${offset}
          RETURNING kafka_topic, kafka_partition, kafka_offset, custid, kind, amount_cents, extract(epoch FROM occurred_at)::bigint AS date
        )
        INSERT INTO rejected_event (kafka_topic, kafka_partition, kafka_offset, raw_value, reason_code, detail)
        SELECT kafka_topic, kafka_partition, kafka_offset,
               convert_to(json_build_object('custid', custid, 'kind', kind, 'amt', amount_cents, 'date', date)::text, 'UTF8'),
               ${REJECT_REASONS.DATABASE_REJECTED}, ${printable(`parked, then refused when posted: ${detail}`, 2_000)}
          FROM moved
        ON CONFLICT (kafka_topic, kafka_partition, kafka_offset) DO NOTHING`;
    }, TRANSACTION_LIMITS);
  } catch (err) {
    throw toDatabaseError(err);
  }
}
