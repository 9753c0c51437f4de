// The owner's periodic health check as one statement: it renews the branch lease (which keeps an
// idle branch's lease alive and tells a lost one), reads the branch's commit count (a database
// that went back in time shows here even on an idle branch) and the parked backlog. Two
// statements cost an idle branch thread two trips through Prisma every health period; with many
// idle branches on a supervisor that was a large share of their CPU (docs/performance.md).
import { LeaseLostError, renewalSql, type Lease } from './branch-lease.js';
import { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient } from './prisma.js';
import { parkedStatsSql, toParkedStats, type ParkedStats, type ParkedStatsRow } from './read-queries.js';

export interface BranchHealth {
  parked: ParkedStats;
  /** The branch's commit count as stored (src/db/stored-position.ts). */
  commits: bigint;
}

/**
 * Renews the lease and returns the branch's health figures; throws LeaseLostError when the lease
 * is no longer this owner's (then nothing was renewed), and the database's error when it fails.
 */
export async function renewAndReadHealth(prisma: PrismaClient, lease: Lease): Promise<BranchHealth> {
  const branch = { partition: lease.partition, transactionsTopic: lease.transactionsTopic };
  // A data-modifying WITH runs once, whether or not the rest reads it.
  const statement = Prisma.sql`WITH renewed AS (${renewalSql(lease)})
    SELECT (SELECT count(*) FROM renewed) AS held, (SELECT commits FROM renewed) AS commits, p.*
      FROM (${parkedStatsSql(branch)}) p`;
  // Text and values, as the batch statement: cheaper in Prisma than a composed Sql object.
  const [row] = await prisma.$queryRawUnsafe<(ParkedStatsRow & { held: bigint; commits: bigint | null })[]>(
    statement.text,
    ...statement.values,
  );
  if (!row || Number(row.held) !== 1 || row.commits === null) throw new LeaseLostError(lease);
  return { parked: toParkedStats(row), commits: row.commits };
}
