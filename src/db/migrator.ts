// Applies prisma/migrations without Prisma's native schema engine, which these machines cannot
// download: Prisma's own WASM schema engine runs the same migrations over the pg driver adapter
// and keeps the same _prisma_migrations table as `prisma migrate deploy`, so either tool can be
// used on a database the other migrated. Node 24 loads it with an ExperimentalWarning, which the
// migrate commands silence (--no-warnings=ExperimentalWarning).
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import type { MigrationDirectory, MigrationList } from '@prisma/schema-engine-wasm';
import { WholeScriptPrismaPg } from './whole-script-pg.js';

const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEFAULT_PRISMA_DIR = path.join(PROJECT_DIR, 'prisma');

export async function loadMigrations(prismaDir: string): Promise<MigrationList> {
  const baseDir = path.join(prismaDir, 'migrations');
  const entries = await readdir(baseDir, { withFileTypes: true });
  const migrationDirectories: MigrationDirectory[] = [];
  for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = path.join(baseDir, entry.name, 'migration.sql');
    const content = await readFile(file, 'utf8').then(
      (value) => ({ tag: 'ok' as const, value }),
      (err: Error) => ({ tag: 'error' as const, value: err.message }),
    );
    migrationDirectories.push({ path: entry.name, migrationFile: { path: 'migration.sql', content } });
  }
  const lockfile = await readFile(path.join(baseDir, 'migration_lock.toml'), 'utf8').catch(() => null);
  return {
    baseDir,
    lockfile: { path: 'migration_lock.toml', content: lockfile },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

/** Applies every migration not yet applied; resolves to the names of those it applied. */
export async function applyMigrations(databaseUrl: string, prismaDir = DEFAULT_PRISMA_DIR): Promise<string[]> {
  const { SchemaEngine } = await import('@prisma/schema-engine-wasm');
  const schemaPath = path.join(prismaDir, 'schema.prisma');
  const schema = await readFile(schemaPath, 'utf8');
  const adapter = bindMigrationAwareSqlAdapterFactory(
    new WholeScriptPrismaPg({ connectionString: databaseUrl, allowExitOnIdle: true }),
  );
  const engineLog: string[] = [];
  const engine = await SchemaEngine.new(
    { datamodels: [[schemaPath, schema]] },
    (line: string) => engineLog.push(line),
    adapter,
  );
  try {
    const migrationsList = await loadMigrations(prismaDir);
    const result = await engine.applyMigrations({ migrationsList, filters: { externalTables: [], externalEnums: [] } });
    return result.appliedMigrationNames;
  } finally {
    engine.free();
  }
}
