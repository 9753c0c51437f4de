// The start-up check that the database is the one this build was made for: it exists, lets us
// in, and has every migration in prisma/migrations applied. Migrations are expand and contract
// (docs/deploy.md, "Upgrades"): a newer release's migrations are additive and readable by this
// one, so during a rollout this build runs on a database its successor migrated, naming what it
// does not know; only a migration whose name ends in BREAKING_SUFFIX stops it. A setup that can
// never work is reported in one line with the fix (exit 2) instead of being retried forever; an
// unreachable server is an outage and is waited out by the caller.
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { createPrisma } from './prisma.js';
import { DEFAULT_PRISMA_DIR } from './migrator.js';
import { adapterCause, sqlState, toDatabaseError } from './database-error.js';
import { ERROR_CODES, IngesterError } from '../core/errors.js';
import { redact } from './database-url.js';

/** A migration named so cannot be read by the releases before it: they refuse to start. */
export const BREAKING_SUFFIX = '_breaking';

/** SQLSTATEs that no amount of waiting fixes: missing database, refused login. */
const FATAL_STATES: Record<string, string> = {
  '3D000': 'the database does not exist: create and migrate it with npm run db:migrate',
  '28P01': 'the password was refused: check the credentials in DATABASE_URL',
  '28000': 'the server refused this role: check the user in DATABASE_URL and pg_hba.conf',
};

export async function migrationNames(prismaDir = DEFAULT_PRISMA_DIR): Promise<string[]> {
  const entries = await readdir(path.join(prismaDir, 'migrations'), { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * Resolves with the applied migrations this build does not know (a newer release's, additive)
 * when the schema holds every migration of this build; throws DATABASE_NOT_MIGRATED or
 * DATABASE_REFUSED (class exit) for a setup that cannot work, DATABASE_UNAVAILABLE (class retry)
 * when the server cannot be reached.
 */
export async function checkSchema(
  databaseUrl: string,
  prismaDir = DEFAULT_PRISMA_DIR,
): Promise<{ newerMigrations: string[] }> {
  const expected = await migrationNames(prismaDir);
  const prisma = createPrisma(databaseUrl, 1);
  const notMigrated = (why: string) =>
    new IngesterError(
      ERROR_CODES.DATABASE_NOT_MIGRATED,
      `database ${redact(databaseUrl)} ${why}: run npm run db:migrate (in Kubernetes: the migrate Job)`,
    );
  try {
    let applied: string[];
    try {
      const rows = await prisma.$queryRaw<{ migration_name: string }[]>`
        SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`;
      applied = rows.map((r) => r.migration_name);
    } catch (err) {
      const state = sqlState(err);
      if (state === '42P01') throw notMigrated('has no migrations applied');
      const cause = adapterCause(err);
      // A server whose certificate fails verification is not an outage to wait out.
      if (cause?.kind === 'TlsConnectionError') {
        throw new IngesterError(
          ERROR_CODES.DATABASE_REFUSED,
          `database ${redact(databaseUrl)}: TLS verification of the server failed (${cause.reason ?? 'unknown reason'}): check sslrootcert and sslmode in DATABASE_URL`,
        );
      }
      if (state && FATAL_STATES[state])
        throw new IngesterError(
          ERROR_CODES.DATABASE_REFUSED,
          `database ${redact(databaseUrl)}: ${adapterCause(err)?.originalMessage ?? state}: ${FATAL_STATES[state]}`,
        );
      throw toDatabaseError(err);
    }
    const missing = expected.filter((name) => !applied.includes(name));
    const unknown = applied.filter((name) => !expected.includes(name));
    if (missing.length > 0)
      throw notMigrated(`lacks ${missing.length} migration(s) of this build (${missing.join(', ')})`);
    const breaking = unknown.filter((name) => name.endsWith(BREAKING_SUFFIX));
    if (breaking.length > 0) {
      throw new IngesterError(
        ERROR_CODES.DATABASE_NOT_MIGRATED,
        `database ${redact(databaseUrl)} has a breaking migration of a newer release (${breaking.join(', ')}) that this build cannot run with: run that release`,
      );
    }
    return { newerMigrations: unknown };
  } finally {
    await prisma.$disconnect().catch(() => undefined);
  }
}
