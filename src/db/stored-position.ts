// Where a branch stands in Postgres: the next offset of each of its two topics and the count of
// batch statements committed on it (branch_lease.commits). Postgres is the only truth about it:
// each batch statement advances it only from the position its worker last saw (compare-and-set,
// src/ingest/batch-writer.ts), so a database that lost its last commits (an asynchronous standby
// promoted, a point-in-time restore) refuses the next write instead of taking it on top of a past
// the worker remembers and the database does not. The count catches the commits that move no
// offset (a drain of parked transactions).
import { Prisma } from '../generated/prisma/client.js';
import { ERROR_CODES, IngesterError } from '../core/errors.js';
import { advancingRenewalSql, LeaseLostError, stillHeld, type Lease } from './branch-lease.js';
import type { PrismaClient } from './prisma.js';
import { readOffsets } from './read-queries.js';

export interface StoredPosition {
  /** Next ledger offset of each of the branch's topics; null while it has no stored row. */
  readonly offsets: ReadonlyMap<string, number | null>;
  /** Batch statements committed on the branch (branch_lease.commits). */
  readonly commits: bigint;
}

/** The position a successful batch statement leaves: its topics' next offsets, one more commit. */
export function advance(position: StoredPosition, nextOffsets: ReadonlyMap<string, number>): StoredPosition {
  const offsets = new Map(position.offsets);
  for (const [topic, next] of nextOffsets) offsets.set(topic, next);
  return { offsets, commits: position.commits + 1n };
}

export function samePosition(a: StoredPosition, b: StoredPosition): boolean {
  if (a.commits !== b.commits || a.offsets.size !== b.offsets.size) return false;
  for (const [topic, offset] of a.offsets) if (b.offsets.get(topic) !== offset) return false;
  return true;
}

export function describePosition(position: StoredPosition): string {
  const offsets = [...position.offsets].map(([topic, offset]) => `${topic} ${offset ?? 'none'}`).join(', ');
  return `${offsets}, ${position.commits} commits`;
}

/**
 * True in SQL when every topic's stored next offset is the one in `expected` (no row where it
 * has none). The batch statement advances the commit count only where this holds.
 */
export function offsetsInStepSql(partition: number, expected: StoredPosition): Prisma.Sql {
  const topics = [...expected.offsets.keys()];
  const offsets = [...expected.offsets.values()];
  return Prisma.sql`NOT EXISTS (
    SELECT 1 FROM unnest(${topics}::text[], ${offsets}::bigint[]) AS e(topic, next_offset)
      LEFT JOIN consumer_offset o ON o.topic = e.topic AND o."partition" = ${partition}
     WHERE o.next_offset IS DISTINCT FROM e.next_offset)`;
}

/**
 * A write found the branch's stored position elsewhere than where its worker left it. Nothing of
 * the write was committed. `expected` is what the worker held; `target` where the write would
 * have left it (found there: the write had committed and only its answer was lost).
 */
export class PositionMovedError extends IngesterError {
  readonly expected: StoredPosition;
  readonly target: StoredPosition;

  constructor(partition: number, expected: StoredPosition, target: StoredPosition = expected) {
    super(
      ERROR_CODES.DATABASE_POSITION_MOVED,
      `branch ${partition}: the stored position is not where this worker left it (${describePosition(expected)})`,
    );
    this.name = 'PositionMovedError';
    this.expected = expected;
    this.target = target;
  }
}

/**
 * One commit that moves no offset (a parked transaction quarantined), as its own statement in
 * the transaction `tx`: advances the commit count from `expected` under the lease, or throws
 * PositionMovedError or LeaseLostError, and then the transaction must roll back. Resolves the
 * position the commit leaves.
 */
export async function advanceUnderLease(
  tx: Prisma.TransactionClient,
  lease: Lease,
  expected: StoredPosition,
): Promise<StoredPosition> {
  const advanced = await tx.$executeRaw(
    advancingRenewalSql(lease, expected.commits, offsetsInStepSql(lease.partition, expected)),
  );
  const target = advance(expected, new Map());
  if (advanced === 1) return target;
  throw await fenceRefusal(tx, lease, expected, target);
}

/**
 * Why a statement fenced by the lease and the position changed nothing: the lease is lost, or,
 * still held, the position is not `expected` (PositionMovedError, with where the write would
 * have left it).
 */
export async function fenceRefusal(
  db: PrismaClient | Prisma.TransactionClient,
  lease: Lease,
  expected: StoredPosition,
  target: StoredPosition,
): Promise<IngesterError> {
  return (await stillHeld(db, lease))
    ? new PositionMovedError(lease.partition, expected, target)
    : new LeaseLostError(lease);
}

/** The lease row as stored, if any: whose it is and the branch's commit count. */
export interface StoredLease {
  owner: string;
  epoch: bigint;
  commits: bigint;
}

/** Reads the branch's stored position and its lease row, as they are now. */
export async function readStoredPosition(
  prisma: PrismaClient,
  lease: Lease,
  topics: string[],
): Promise<{ position: StoredPosition; lease: StoredLease | undefined }> {
  const stored = await readOffsets(prisma, topics, lease.partition);
  const offsets = new Map(topics.map((topic) => [topic, stored.get(topic) ?? null]));
  const row = await prisma.branchLease.findUnique({
    where: { transactionsTopic_partition: { transactionsTopic: lease.transactionsTopic, partition: lease.partition } },
    select: { owner: true, epoch: true, commits: true },
  });
  return {
    position: { offsets, commits: row?.commits ?? 0n },
    lease: row ?? undefined,
  };
}
