// Branch ownership fenced in Postgres. A worker writes a branch only while it holds the branch's
// lease row with its epoch; taking the lease bumps the epoch, so a paused or partitioned former
// owner fails its next batch instead of committing after losing the branch. The row lock the
// renewal takes inside each batch transaction serialises it against a takeover.
import { Prisma } from '../generated/prisma/client.js';
import { LEASE_TTL_SECONDS, type PrismaClient } from './prisma.js';

export { LEASE_TTL_SECONDS };
import { ERROR_CODES, IngesterError } from '../core/errors.js';

export interface Lease {
  transactionsTopic: string;
  partition: number;
  owner: string;
  epoch: bigint;
}

/** Not retried: the branch has another owner now, so this worker stands by. */
export class LeaseLostError extends IngesterError {
  constructor(lease: Lease) {
    super(
      ERROR_CODES.LEASE_LOST,
      `branch ${lease.partition}: lease (epoch ${lease.epoch}) is no longer held by ${lease.owner}`,
    );
    this.name = 'LeaseLostError';
  }
}

/** Takes the branch when it is free, expired, or already ours; resolves null when another owner holds it. */
export async function tryAcquire(
  prisma: PrismaClient,
  transactionsTopic: string,
  partition: number,
  owner: string,
): Promise<Lease | null> {
  const rows = await prisma.$queryRaw<{ epoch: bigint }[]>`
    INSERT INTO branch_lease AS l (transactions_topic, "partition", owner, epoch, expires_at)
    VALUES (${transactionsTopic}, ${partition}, ${owner}, 1, now() + make_interval(secs => ${LEASE_TTL_SECONDS}))
    ON CONFLICT (transactions_topic, "partition") DO UPDATE
      SET owner = EXCLUDED.owner, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at, acquired_at = now()
      WHERE l.expires_at < now() OR l.owner = EXCLUDED.owner
    RETURNING l.epoch`;
  const epoch = rows[0]?.epoch;
  return epoch === undefined ? null : { transactionsTopic, partition, owner, epoch };
}

/**
 * Extends the lease and resolves the branch's commit count (src/db/stored-position.ts); throws
 * LeaseLostError when it is no longer ours. Inside a batch transaction it locks the row first.
 */
export async function renew(db: PrismaClient | Prisma.TransactionClient, lease: Lease): Promise<bigint> {
  const [renewed] = await db.$queryRaw<{ commits: bigint }[]>(renewalSql(lease));
  if (renewed === undefined) throw new LeaseLostError(lease);
  return renewed.commits;
}

/**
 * The renewal statement: extends the lease only while this owner and epoch still hold it, and
 * returns the branch's commit count (no row: the lease is lost).
 */
export function renewalSql(lease: Lease): Prisma.Sql {
  return Prisma.sql`UPDATE branch_lease SET expires_at = now() + make_interval(secs => ${LEASE_TTL_SECONDS})
     WHERE ${heldBy(lease)}
    RETURNING commits`;
}

/**
 * The batch statement's renewal: it also advances the branch's commit count, only from `commits`
 * and only where `inStep` holds (the stored offsets are the ones the worker last saw,
 * src/db/stored-position.ts). No row: the lease is lost or the position moved.
 */
export function advancingRenewalSql(lease: Lease, commits: bigint, inStep: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`UPDATE branch_lease SET expires_at = now() + make_interval(secs => ${LEASE_TTL_SECONDS}), commits = commits + 1
     WHERE ${heldBy(lease)} AND commits = ${commits} AND ${inStep}
    RETURNING 1`;
}

/** True while the owner still holds the lease: is it this owner's, at this epoch? */
export async function stillHeld(db: PrismaClient | Prisma.TransactionClient, lease: Lease): Promise<boolean> {
  const rows = await db.$queryRaw<unknown[]>`SELECT 1 FROM branch_lease WHERE ${heldBy(lease)}`;
  return rows.length === 1;
}

/** The lease row while this owner holds it at its epoch. */
function heldBy(lease: Lease): Prisma.Sql {
  return Prisma.sql`transactions_topic = ${lease.transactionsTopic} AND "partition" = ${lease.partition} AND owner = ${lease.owner} AND epoch = ${lease.epoch}`;
}

/** Gives the branch up at once (clean shutdown), so a standby takes over without waiting out the TTL. */
export async function release(prisma: PrismaClient, lease: Lease): Promise<void> {
  await prisma.$executeRaw`
    UPDATE branch_lease SET expires_at = now() - interval '1 second', stalled_reason = NULL, stalled_since = NULL
     WHERE ${heldBy(lease)}`;
}

/**
 * Records why the owner cannot move the branch (null: it moves again), for `cli status`. Best
 * effort: the caller ignores failures, since the database may be what fails.
 */
export async function recordStall(prisma: PrismaClient, lease: Lease, reason: string | null): Promise<void> {
  await prisma.$executeRaw`
    UPDATE branch_lease SET stalled_reason = ${reason}, stalled_since = CASE WHEN ${reason}::text IS NULL THEN NULL ELSE coalesce(stalled_since, now()) END
     WHERE ${heldBy(lease)}`;
}
