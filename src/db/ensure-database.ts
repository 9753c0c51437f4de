import pg from 'pg';
import { splitDatabaseUrl } from './database-url.js';

/**
 * Creates the database a URL names when it is missing. Resolves true when it created it. The
 * maintenance database (postgres) is only touched when the target does not exist: managed
 * servers often refuse connections to it.
 */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const { name, maintenanceUrl } = splitDatabaseUrl(databaseUrl);
  const target = new pg.Client({ connectionString: databaseUrl });
  try {
    await target.connect();
    return false;
  } catch (err) {
    // 3D000: the database does not exist; anything else (unreachable, refused) is the answer.
    if ((err as { code?: string }).code !== '3D000') throw err;
  } finally {
    await target.end().catch(() => undefined);
  }
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount) return false;
    try {
      await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
    } catch (err) {
      // Two migrators racing: the other one created it first, which is what we wanted.
      if ((err as { code?: string }).code === '42P04') return false;
      throw err;
    }
    return true;
  } finally {
    await client.end();
  }
}

/** Drops a database, disconnecting its sessions first (tests clean up with it). */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { name, maintenanceUrl } = splitDatabaseUrl(databaseUrl);
  const client = new pg.Client({ connectionString: maintenanceUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
