// Which Postgres server a connection reaches. A promoted standby keeps the primary's system
// identifier and starts a new timeline; another identifier is another cluster. Read on its own,
// apart from the health statement: some managed services revoke pg_control_system() from
// ordinary roles, and a refusal here must cost a log line, never the lease renewal.
import type { PrismaClient } from './prisma.js';

export interface ServerIdentity {
  systemIdentifier: string;
  /** The current WAL timeline; null on a server in recovery (a standby). */
  timeline: number | null;
}

export async function readServerIdentity(prisma: PrismaClient): Promise<ServerIdentity> {
  // pg_current_wal_lsn() fails during recovery, hence the CASE; a WAL file's name starts with
  // its timeline in hex.
  const [row] = await prisma.$queryRawUnsafe<{ system_identifier: string; wal_file: string | null }[]>(
    `SELECT (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier,
            CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END AS wal_file`,
  );
  if (!row) throw new Error('the server identity query returned no row');
  return {
    systemIdentifier: row.system_identifier,
    timeline: row.wal_file === null ? null : Number.parseInt(row.wal_file.slice(0, 8), 16),
  };
}
