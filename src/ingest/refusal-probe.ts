// The breaker between quarantine and pause. When Postgres refuses a record on its own, the
// question is whose fault it is: the record's (an overflowing balance), or the database's (a
// constraint or column added under the ledger, which refuses every new row). The probe asks
// Postgres to take again rows it already took, copies of the latest ledger or customer rows
// under keys that cannot exist, in a transaction that is always rolled back. Refused the same
// way (same SQLSTATE), the database changed: the branch pauses and nothing is quarantined.
import { ERROR_CODES, IngesterError } from '../core/errors.js';
import { DatabaseError, toDatabaseError } from '../db/database-error.js';
import { TRANSACTION_LIMITS, type PrismaClient } from '../db/prisma.js';

/** How many recent rows the probe copies: enough to hold both kinds of transaction. */
const PROBE_ROWS = 20;

/** Customer ids of the probe's copies: shifted far above any id a record can carry (2^53). */
const PROBE_CUSTID_SHIFT = 2n ** 62n;

export interface ProbeTarget {
  /** Which table refused the record: the ledger for a transaction, customer for a creation. */
  table: 'transaction' | 'customer';
  transactionsTopic: string;
  partition: number;
}

/** Thrown only to roll the probe back. */
const ROLLBACK = Symbol('rollback');

/**
 * Resolves when the refusal is the record's own; throws DATABASE_REFUSING (class pause) when
 * Postgres refuses rows like ones it took before with the same SQLSTATE, so that the retry loop
 * waits until it takes them again. Outages during the probe are thrown as such (retried).
 */
export async function checkRefusalIsTheRecords(
  prisma: PrismaClient,
  target: ProbeTarget,
  refusal: DatabaseError,
): Promise<void> {
  const probe = await probeKnownRows(prisma, target);
  if (probe === undefined || probe.sqlstate !== refusal.sqlstate) return;
  throw new IngesterError(
    ERROR_CODES.DATABASE_REFUSING,
    `Postgres refuses ${target.table} rows like ones it accepted before: ${probe.message}; a constraint or column was changed under the table, so records are not quarantined and the branch waits until the database accepts them again`,
    { cause: probe },
  );
}

/** The refusal of the copied rows, or undefined when Postgres takes them (rolled back either way). */
async function probeKnownRows(prisma: PrismaClient, target: ProbeTarget): Promise<DatabaseError | undefined> {
  try {
    await prisma.$transaction(async (tx) => {
      if (target.table === 'transaction') {
        // The branch's latest rows (its primary key's order), at negative offsets no record has;
        // any rows at all on a branch that has posted none yet.
        const copied = await tx.$executeRaw`
          INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, posted_at)
          SELECT custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, -1 - kafka_offset, kafka_timestamp, clock_timestamp()
            FROM "transaction" WHERE kafka_topic = ${target.transactionsTopic} AND kafka_partition = ${target.partition}
           ORDER BY kafka_offset DESC LIMIT ${PROBE_ROWS}`;
        if (copied === 0)
          await tx.$executeRaw`
            INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp, posted_at)
            SELECT custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, -1 - kafka_offset, kafka_timestamp, clock_timestamp()
              FROM "transaction" LIMIT ${PROBE_ROWS}`;
      } else {
        await tx.$executeRaw`
          INSERT INTO customer (custid, fname, lname, created_at, kafka_topic, kafka_partition, kafka_offset)
          SELECT custid + ${PROBE_CUSTID_SHIFT}, fname, lname, created_at, kafka_topic, kafka_partition, kafka_offset
            FROM customer ORDER BY custid DESC LIMIT ${PROBE_ROWS}`;
      }
      throw ROLLBACK;
    }, TRANSACTION_LIMITS);
  } catch (err) {
    if (err === ROLLBACK) return undefined;
    const failure = toDatabaseError(err);
    if (failure instanceof DatabaseError && failure.failure === 'data') return failure;
    throw failure;
  }
  return undefined;
}
