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

/** Extends the lease; throws LeaseLostError when it is no longer ours. Use inside the batch transaction. */
export async function renew(db: PrismaClient | Prisma.TransactionClient, lease: Lease): Promise<void> {
  const renewed = await db.$executeRaw(renewalSql(lease));
  if (renewed !== 1) throw new LeaseLostError(lease);
}

/**
 * The renewal statement: extends the lease only while this owner and epoch still hold it. The
 * batch writer embeds it in its statement (RETURNING 1 tells whether the lease is still held).
 */
export function renewalSql(lease: Lease): Prisma.Sql {
  return Prisma.sql`UPDATE branch_lease SET expires_at = now() + make_interval(secs => ${LEASE_TTL_SECONDS})
     WHERE transactions_topic = ${lease.transactionsTopic} AND "partition" = ${lease.partition} AND owner = ${lease.owner} AND epoch = ${lease.epoch}
    RETURNING 1`;
}

/** Gives the branch up at once (clean shutdown), so a standby takes over without waiting out the TTL. */
export async function release(prisma: PrismaClient, lease: Lease): Promise<void> {
  await prisma.$executeRaw`
    UPDATE branch_lease SET expires_at = now() - interval '1 second', stalled_reason = NULL, stalled_since = NULL
     WHERE transactions_topic = ${lease.transactionsTopic} AND "partition" = ${lease.partition} AND owner = ${lease.owner} AND epoch = ${lease.epoch}`;
}

/**
 * Records why the owner cannot move the branch (null: it moves again), for `cli status`. Best
 * effort: the caller ignores failures, since the database may be what fails.
 */
export async function recordStall(prisma: PrismaClient, lease: Lease, reason: string | null): Promise<void> {
  await prisma.$executeRaw`
    UPDATE branch_lease SET stalled_reason = ${reason}, stalled_since = CASE WHEN ${reason}::text IS NULL THEN NULL ELSE coalesce(stalled_since, now()) END
     WHERE transactions_topic = ${lease.transactionsTopic} AND "partition" = ${lease.partition} AND owner = ${lease.owner} AND epoch = ${lease.epoch}`;
}
