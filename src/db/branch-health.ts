// The owner's periodic health check as one statement: it renews the branch lease (which keeps an
// idle branch's lease alive and tells a lost one) and reads the parked backlog. Two statements
// cost an idle branch thread two trips through Prisma every health period; with many idle
// branches on a supervisor that was a large share of their CPU (docs/performance.md).
import { LeaseLostError, renewalSql, type Lease } from './branch-lease.js';
import { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient } from './prisma.js';
import { parkedStatsSql, toParkedStats, type ParkedStats, type ParkedStatsRow } from './read-queries.js';

/**
 * Renews the lease and returns the branch's parked backlog; throws LeaseLostError when the lease
 * is no longer this owner's (then nothing was renewed), and the database's error when it fails.
 */
export async function renewAndReadParked(prisma: PrismaClient, lease: Lease): Promise<ParkedStats> {
  const branch = { partition: lease.partition, transactionsTopic: lease.transactionsTopic };
  // A data-modifying WITH runs once, whether or not the rest reads it.
  const statement = Prisma.sql`WITH renewed AS (${renewalSql(lease)})
    SELECT (SELECT count(*) FROM renewed) AS held, p.* FROM (${parkedStatsSql(branch)}) p`;
  // Text and values, as the batch statement: cheaper in Prisma than a composed Sql object.
  const [row] = await prisma.$queryRawUnsafe<(ParkedStatsRow & { held: bigint })[]>(
    statement.text,
    ...statement.values,
  );
  if (Number(row?.held ?? 0) !== 1) throw new LeaseLostError(lease);
  return toParkedStats(row);
}
