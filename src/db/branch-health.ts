// The owner's periodic health check as one statement: it renews the branch lease (which keeps an
// idle branch's lease alive and tells a lost one), reads the branch's commit count (a database
// that went back in time shows here even on an idle branch), which server answers, and the
// parked backlog. Two statements cost an idle branch thread two trips through Prisma every health
// period; with many idle branches on a supervisor that was a large share of their CPU
// (docs/performance.md).
import { LeaseLostError, renewalSql, type Lease } from './branch-lease.js';
import { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient } from './prisma.js';
import { parkedStatsSql, toParkedStats, type ParkedStats, type ParkedStatsRow } from './read-queries.js';

/** Which Postgres server answers: a promoted standby keeps the identifier and starts a timeline. */
export interface ServerIdentity {
  systemIdentifier: string;
  /** The current WAL timeline; null on a server in recovery (a standby). */
  timeline: number | null;
}

export interface BranchHealth {
  parked: ParkedStats;
  /** The branch's commit count as stored (src/db/stored-position.ts). */
  commits: bigint;
  server: ServerIdentity;
}

type HealthRow = ParkedStatsRow & {
  held: bigint;
  commits: bigint | null;
  system_identifier: string;
  wal_file: string | null;
};

/**
 * Renews the lease and returns the branch's health figures; throws LeaseLostError when the lease
 * is no longer this owner's (then nothing was renewed), and the database's error when it fails.
 */
export async function renewAndReadHealth(prisma: PrismaClient, lease: Lease): Promise<BranchHealth> {
  const branch = { partition: lease.partition, transactionsTopic: lease.transactionsTopic };
  // A data-modifying WITH runs once, whether or not the rest reads it. pg_current_wal_lsn() fails
  // during recovery, hence the CASE; the WAL file name starts with the timeline in hex.
  const statement = Prisma.sql`WITH renewed AS (${renewalSql(lease)})
    SELECT (SELECT count(*) FROM renewed) AS held, (SELECT commits FROM renewed) AS commits,
           (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
           CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS wal_file,
           p.*
      FROM (${parkedStatsSql(branch)}) p`;
  // Text and values, as the batch statement: cheaper in Prisma than a composed Sql object.
  const [row] = await prisma.$queryRawUnsafe<HealthRow[]>(statement.text, ...statement.values);
  if (!row || Number(row.held) !== 1 || row.commits === null) throw new LeaseLostError(lease);
  return {
    parked: toParkedStats(row),
    commits: row.commits,
    server: {
      systemIdentifier: row.system_identifier,
      timeline: row.wal_file === null ? null : Number.parseInt(row.wal_file.slice(0, 8), 16),
    },
  };
}
