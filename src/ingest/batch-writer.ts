// Writes one batch in one Postgres transaction, set-based: each step is one statement over
// arrays (unnest), never a statement per record. Customers, ledger rows, balance changes,
// parked and rejected records and the next offsets of both partitions commit together or not
// at all, which is what makes redelivery after a crash harmless.
import { Prisma } from '../generated/prisma/client.js';
import { advancingRenewalSql, renew } from '../db/branch-lease.js';
import {
  advance,
  fenceRefusal,
  offsetsInStepSql,
  PositionMovedError,
  type StoredPosition,
} from '../db/stored-position.js';
import type { BatchOutcome } from './commit-outcome.js';
import { TRANSACTION_LIMITS, type PrismaClient } from '../db/prisma.js';
import { numberArrayLiteral, wordArrayLiteral } from '../db/array-literal.js';
import { isForeignKeyViolation, isUniqueViolation } from '../db/constraint-violation.js';
import { toDatabaseError } from '../db/database-error.js';
import { DEFAULT_PARTITION, isLedgerKeyName } from '../db/ledger-partitions.js';
import { ERROR_CODES, IngesterError } from '../core/errors.js';
import { printable } from '../core/printable.js';
import type { BatchRows, RejectedRecord, TransactionRecord } from './batch.js';
import { insertCustomers } from './customer-writer.js';
import { takeParked, type ParkedTarget } from './parked-statements.js';

type Tx = Prisma.TransactionClient;

/** The ledger's foreign key to its customer. */
const LEDGER_CUSTOMER_KEY = 'transaction_custid_fkey';

/**
 * How one ledger statement treats what may already be there.
 * 'optimistic' spares every row two index lookups: the check for a row already posted (the
 * statement fails on one instead) and the lookup of its customer (the foreign key fails the
 * statement on a missing one). 'checked' skips rows already posted and parks those without a
 * customer.
 */
type LedgerMode = 'optimistic' | 'checked';

export interface WriteOptions extends ParkedTarget {
  /**
   * With a lease: the branch's position as its worker last saw it. The write commits only from
   * there (src/db/stored-position.ts) and throws PositionMovedError, changing nothing, otherwise.
   */
  expected?: StoredPosition;
  /**
   * The branch has parked transactions: the write is checked, and a transaction whose customer
   * still has parked ones on the branch is parked behind them, so that each customer's
   * transactions post in offset order however the parked ones are drained. False: the one-statement
   * path is open.
   */
  checkParked: boolean;
  /**
   * Re-drive: the rejected_event row this batch replaces. It is deleted in the same transaction,
   * and the write fails when it is already gone, so a record is never re-driven twice.
   */
  replacesRejectedId?: bigint;
  /** With replacesRejectedId: who re-drives it, recorded in redrive_log in the same transaction. */
  redrivenBy?: string;
}

/**
 * Writes the batch, or throws an IngesterError saying what kind of failure it was (see
 * src/db/database-error.ts): a lost lease, an outage, a schema problem, or records Postgres
 * refuses. Whatever it throws, nothing of the batch was committed.
 */
export async function writeBatch(prisma: PrismaClient, batch: BatchRows, options: WriteOptions): Promise<BatchOutcome> {
  try {
    return await writeBatchOnce(prisma, batch, options);
  } catch (err) {
    throw toDatabaseError(err);
  }
}

async function writeBatchOnce(prisma: PrismaClient, batch: BatchRows, options: WriteOptions): Promise<BatchOutcome> {
  // Common case under load: no customers to create and nothing to un-park. Then the whole batch
  // is one statement, which Postgres runs atomically without an explicit transaction: one round
  // trip. With nothing parked on the branch it assumes what is almost always true (no row posted
  // before, every customer exists) and so spares every row two index lookups; the foreign key and
  // the primary key still check both, and a failed statement changed nothing, so the batch is
  // then written again with the checks in the statement: duplicates skipped, transactions without
  // a customer parked. With parked rows on the branch it is checked from the start.
  const unparking = (options.unparkCustomers?.length ?? 0) > 0 || options.parkedOffset !== undefined;
  if (batch.customers.length === 0 && !unparking && options.replacesRejectedId === undefined) {
    const write = (mode: LedgerMode | { unparked: number }) =>
      writeRecords(prisma, batch.transactions, batch.rejected, batch, options, mode);
    let written: Awaited<ReturnType<typeof write>>;
    try {
      // With parked rows on the branch, checked at once: each row's customer may have some.
      written = await write(options.checkParked ? { unparked: 0 } : 'optimistic');
    } catch (err) {
      // A record already in the ledger is only possible when stored offsets were moved back by
      // hand; a customer not yet created is a transaction read before its customer.
      if (options.checkParked) throw err;
      if (!isUniqueViolation(err, isLedgerKeyName) && !isForeignKeyViolation(err, LEDGER_CUSTOMER_KEY)) throw err;
      written = await write('checked');
    }
    return { customersCreated: 0, unparked: 0, ...written };
  }
  return prisma.$transaction(
    async (tx) => {
      // First: the lease row lock is held from here to the commit, so no takeover can interleave.
      // A commit count other than the worker's fails the write before anything else runs.
      if (options.lease) {
        const commits = await renew(tx, options.lease);
        if (options.expected && commits !== options.expected.commits)
          throw new PositionMovedError(
            options.partition,
            options.expected,
            advance(options.expected, batch.nextOffsets),
          );
      }
      if (options.replacesRejectedId !== undefined) {
        const removed = await tx.$executeRaw`
          WITH gone AS (DELETE FROM rejected_event WHERE id = ${options.replacesRejectedId} RETURNING *)
          INSERT INTO redrive_log (rejected_id, kafka_topic, kafka_partition, kafka_offset, reason_code, redriven_by)
          SELECT id, kafka_topic, kafka_partition, kafka_offset, reason_code, ${options.redrivenBy ?? 'unknown'} FROM gone`;
        if (removed !== 1)
          throw new IngesterError(
            ERROR_CODES.DATABASE_ERROR,
            `rejected record ${options.replacesRejectedId} does not exist (already re-driven?)`,
          );
      }
      const rejected = [...batch.rejected];
      const customersCreated = await insertCustomers(tx, batch.customers, rejected);
      // Transactions parked earlier come first: they are older than anything in this batch.
      const unparked = await takeParked(tx, options);
      const written = await writeRecords(tx, [...unparked, ...batch.transactions], rejected, batch, options, {
        unparked: unparked.length,
      });
      const taken = new Set(unparked.map((t) => t.custid));
      const list = options.unparkCustomers ?? [];
      let unparkedThrough: number | undefined;
      for (let i = list.length - 1; i >= 0 && unparkedThrough === undefined; i--)
        if (taken.has(list[i]!)) unparkedThrough = i;
      return { customersCreated, unparked: unparked.length, unparkedThrough, ...written };
    },
    // Within the shutdown bound: a stuck transaction gives up rather than hold the stop up.
    TRANSACTION_LIMITS,
  );
}

/** The batch statement's text per shape (see writeRecords): a handful, built once each. */
const STATEMENT_TEXTS = new Map<string, string>();

/**
 * The rest of a batch in one statement: ledger rows for transactions whose customer exists (with
 * the balance changes they make), parked rows for the others, rejected records, and the next
 * offsets. Data-modifying CTEs all run, atomically, whether or not the final SELECT reads them.
 * Customers created earlier in the same transaction are visible here (an earlier statement).
 */
async function writeRecords(
  db: Tx | PrismaClient,
  transactions: TransactionRecord[],
  rejected: RejectedRecord[],
  { nextOffsets, fingerprints }: Pick<BatchRows, 'nextOffsets' | 'fingerprints'>,
  options: WriteOptions,
  mode: LedgerMode | { unparked: number },
): Promise<Omit<BatchOutcome, 'customersCreated' | 'unparked'>> {
  // Raw bytes travel as base64 text: exact for any bytes, including invalid UTF-8.
  const b64 = (b: Buffer | null | undefined) => (b ? b.toString('base64') : null);
  const topics = [...nextOffsets.keys()];
  const lease = options.lease;
  // The lease renewal runs in the same statement and advances the branch's commit count from the
  // position the worker last saw; every write below is gated on it, so a worker that lost its
  // branch, or whose database went back in time, changes nothing (and learns it from held = 0).
  const expected = options.expected;
  if (lease && !expected) throw new Error('a write under a lease needs the position it starts from');
  const leaseCheck =
    lease && expected
      ? advancingRenewalSql(lease, expected.commits, offsetsInStepSql(options.partition, expected))
      : Prisma.sql`SELECT 1`;
  // Every row is from the branch's own transactions partition (re-drive included), so topic and
  // partition go once per statement, not per row.
  const topic = options.transactionsTopic;
  // Checked: a customer lookup per row decides between ledger and parking; with parked rows on
  // the branch, also whether the customer still has some, which this row then waits behind (the
  // first `unparked` rows are those being posted now, oldest of all).
  const leading = typeof mode === 'object' ? mode.unparked : 0;
  const exists = Prisma.sql`EXISTS (SELECT 1 FROM customer c WHERE c.custid = i.custid)`;
  const known =
    mode === 'optimistic'
      ? Prisma.sql`true`
      : options.checkParked
        ? Prisma.sql`${exists} AND (i.n <= ${leading} OR NOT EXISTS (SELECT 1 FROM parked_transaction w
              WHERE w.kafka_topic = ${options.transactionsTopic} AND w.kafka_partition = ${options.partition} AND w.custid = i.custid))`
        : exists;
  const checked = mode !== 'optimistic';
  const statement = Prisma.sql`
    WITH lease AS (${leaseCheck}), input AS (
      -- Unless assumed, one customer lookup per row decides between ledger and parking.
      SELECT i.*, ${known} AS known
        FROM unnest(${numberArrayLiteral(transactions.map((t) => t.custid))}::bigint[], ${wordArrayLiteral(transactions.map((t) => t.kind))}::text[],
                    ${numberArrayLiteral(transactions.map((t) => t.amountCents))}::bigint[], ${numberArrayLiteral(transactions.map((t) => t.occurredAt))}::float8[],
                    ${numberArrayLiteral(transactions.map((t) => t.offset))}::bigint[], ${numberArrayLiteral(transactions.map((t) => t.kafkaTimestampMs))}::float8[])
             WITH ORDINALITY AS i(custid, kind, amount, occurred, off, kafka_ms, n)
       WHERE EXISTS (SELECT 1 FROM lease)
    ), posted AS (
      -- posted_at is the clock at insert, not the transaction's start: it is the far end of the
      -- produce-to-ledger latency (only the commit follows). 'checked': ON CONFLICT DO NOTHING
      -- plus RETURNING, so a row already posted changes no balance. 'optimistic': the statement
      -- fails instead, sparing every row the conflict check, and is written again checked.
      INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, posted_at)
      -- A record without a usable Kafka timestamp is stored with the epoch: the ledger's key and
      -- its monthly partitions include the timestamp, so it cannot be null.
      SELECT custid, kind, amount, to_timestamp(occurred), ${topic}::text, ${options.partition}::int, off,
             coalesce(to_timestamp(kafka_ms / 1000.0), timestamptz 'epoch'), clock_timestamp()
        FROM input WHERE known ORDER BY n
      ${checked ? Prisma.sql`ON CONFLICT (kafka_topic, kafka_partition, kafka_offset, kafka_timestamp) DO NOTHING` : Prisma.empty}
      RETURNING custid, CASE WHEN kind = 'deposit' THEN amount_cents ELSE -amount_cents END AS delta,
                tableoid = '${Prisma.raw(DEFAULT_PARTITION)}'::regclass AS unpartitioned
    ), per_customer AS (
      SELECT custid, sum(delta)::bigint AS delta, count(*) AS n FROM posted GROUP BY custid ORDER BY custid
    ), balances AS (
      -- Every customer gets its balance row when it is created, so an UPDATE finds it. An
      -- upsert (INSERT ... ON CONFLICT DO UPDATE) also locked each row before updating it, which
      -- Postgres paid for on every row (docs/performance.md). Joined in custid order when
      -- Postgres walks the index, the order in which the customers' rows are locked.
      UPDATE balance AS b
         SET balance_cents = b.balance_cents + p.delta, transaction_count = b.transaction_count + p.n, updated_at = now()
        FROM per_customer p
       WHERE b.custid = p.custid
      RETURNING b.custid
    ), first_balances AS (
      -- A customer without a balance row (written by something other than the ingester): its
      -- first one. ON CONFLICT covers a row committed by another branch since this statement began.
      INSERT INTO balance AS b (custid, balance_cents, transaction_count, updated_at)
      SELECT custid, delta, n, now() FROM per_customer p WHERE NOT EXISTS (SELECT 1 FROM balances u WHERE u.custid = p.custid)
      ORDER BY custid
      ON CONFLICT (custid) DO UPDATE
        SET balance_cents = b.balance_cents + EXCLUDED.balance_cents,
            transaction_count = b.transaction_count + EXCLUDED.transaction_count,
            updated_at = now()
    ), parked AS (
      INSERT INTO parked_transaction (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp)
      SELECT custid, kind, amount, to_timestamp(occurred), ${topic}::text, ${options.partition}::int, off, to_timestamp(kafka_ms / 1000.0)
        FROM input WHERE NOT known ORDER BY n
      ON CONFLICT (kafka_topic, kafka_partition, kafka_offset) DO NOTHING
      RETURNING 1
    ), rejected AS (
      INSERT INTO rejected_event (kafka_topic, kafka_partition, kafka_offset, raw_key, raw_value, reason_code, detail)
      SELECT topic, part, off, decode(k, 'base64'), decode(v, 'base64'), reason, detail
        FROM unnest(${rejected.map((r) => r.source.topic)}::text[], ${rejected.map((r) => r.source.partition)}::int[],
                    ${rejected.map((r) => r.source.offset)}::bigint[], ${rejected.map((r) => b64(r.source.key))}::text[],
                    ${rejected.map((r) => b64(r.source.value))}::text[], ${rejected.map((r) => r.reason)}::text[],
                    ${rejected.map((r) => printable(r.detail, 2_000))}::text[])
             AS r(topic, part, off, k, v, reason, detail)
       WHERE EXISTS (SELECT 1 FROM lease)
      ON CONFLICT (kafka_topic, kafka_partition, kafka_offset) DO NOTHING
    ), offsets AS (
      -- With the fingerprint of the last record and its offset (src/worker/topic-incarnation.ts).
      INSERT INTO consumer_offset (topic, "partition", next_offset, last_fingerprint, fingerprint_offset, updated_at)
      SELECT topic, ${options.partition}, next_offset, decode(fp, 'base64'), next_offset - 1, now()
        FROM unnest(${topics}::text[], ${topics.map((t) => nextOffsets.get(t)!)}::bigint[],
                    ${topics.map((t) => b64(fingerprints.get(t)))}::text[]) AS o(topic, next_offset, fp)
       WHERE EXISTS (SELECT 1 FROM lease)
      ON CONFLICT (topic, "partition") DO UPDATE
        SET next_offset = EXCLUDED.next_offset, last_fingerprint = EXCLUDED.last_fingerprint,
            fingerprint_offset = EXCLUDED.fingerprint_offset, updated_at = now()
    )
    SELECT (SELECT count(*) FROM lease) AS held,
           (SELECT count(*) FROM input WHERE known) AS posted,
           (SELECT count(*) FROM posted) AS inserted,
           (SELECT count(*) FROM parked) AS parked,
           (SELECT count(*) FROM posted WHERE unpartitioned) AS unpartitioned`;
  // Sent as text and values: Prisma's handling of a composed Sql object is a large share of the
  // client's CPU per batch (docs/performance.md). Its text depends only on the statement's shape,
  // so each shape's text is built once and is the same string every batch (statement names and
  // pg look it up by it).
  const shape = `${mode === 'optimistic'}|${options.checkParked}|${lease !== undefined}`;
  let text = STATEMENT_TEXTS.get(shape);
  if (text === undefined) {
    text = statement.text;
    STATEMENT_TEXTS.set(shape, text);
  }
  const [row] = await db.$queryRawUnsafe<
    { held: bigint; posted: bigint; inserted: bigint; parked: bigint; unpartitioned: bigint }[]
  >(text, ...statement.values);
  if (lease && expected && Number(row?.held ?? 0) !== 1)
    throw await fenceRefusal(db, lease, expected, advance(expected, nextOffsets));
  const rejectedByReason: Record<string, number> = {};
  for (const r of rejected) rejectedByReason[r.reason] = (rejectedByReason[r.reason] ?? 0) + 1;
  const posted = Number(row?.posted ?? 0);
  return {
    posted,
    alreadyPosted: posted - Number(row?.inserted ?? 0),
    parked: Number(row?.parked ?? 0),
    rejected: rejected.length,
    rejectedByReason,
    postedToDefaultPartition: Number(row?.unpartitioned ?? 0),
  };
}
