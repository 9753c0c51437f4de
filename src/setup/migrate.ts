// npm run db:migrate: creates the database named by DATABASE_URL when missing, then applies
// prisma/migrations with Prisma's WASM schema engine (works offline, see src/db/migrator.ts),
// then creates the ledger's partitions ahead (src/db/ledger-partitions.ts).
import { DEFAULTS } from '../config/defaults.js';
import { integerOption, parseFlags, type Problems } from '../config/options.js';
import { readDatabaseUrl } from '../config/connection-options.js';
import { runMain } from '../core/run-main.js';
import { ensureDatabase } from '../db/ensure-database.js';
import { applyMigrations, DEFAULT_PRISMA_DIR } from '../db/migrator.js';
import { redact } from '../db/database-url.js';
import { withPgClient } from '../db/with-pg-client.js';
import {
  DEFAULT_MONTHS_AHEAD,
  ensureLedgerPartitions,
  PARTITION_PERIODS,
  type PartitionPeriod,
} from '../db/ledger-partitions.js';
import { ConfigError, ERROR_CODES, IngesterError } from '../core/errors.js';

const HELP = `Usage: npm run db:migrate -- [options]

Creates the database if it is missing, applies every pending migration, and creates the ledger's
partitions from now to the end of the month --ledger-months-ahead after the current one (moving
any rows of theirs out of the default partition). Idempotent: run it daily to keep months ahead.

  --database-url <url>  PostgreSQL URL of the schema owner (DATABASE_URL or DATABASE_URL_FILE,
                        default ${DEFAULTS.databaseUrl}); give secrets by environment or file
  --prisma-dir <dir>    folder with schema.prisma and migrations/ (default ${DEFAULT_PRISMA_DIR})
  --ledger-months-ahead <n>  months of ledger partitions after the current one (default ${DEFAULT_MONTHS_AHEAD})
  --ledger-partition-period <p>  what a new ledger partition holds: ${PARTITION_PERIODS.join(' or ')} (default month;
                        day when one month's custid index would outgrow the database's memory)
  --help                this text
`;

runMain(
  'db:migrate',
  async () => {
    const flags = parseFlags(process.argv.slice(2), {
      'database-url': { type: 'string' },
      'prisma-dir': { type: 'string' },
      'ledger-months-ahead': { type: 'string' },
      'ledger-partition-period': { type: 'string' },
      help: { type: 'boolean' },
    });
    if (flags.help) {
      process.stdout.write(HELP);
      return 0;
    }
    const problems: Problems = [];
    const databaseUrl = readDatabaseUrl(problems, flags['database-url']);
    const monthsAhead = integerOption(
      problems,
      '--ledger-months-ahead',
      flags['ledger-months-ahead'],
      DEFAULT_MONTHS_AHEAD,
      {
        min: 0,
        max: 120,
      },
    );
    const period = flags['ledger-partition-period'] ?? 'month';
    if (!PARTITION_PERIODS.includes(period as PartitionPeriod))
      problems.push(
        `--ledger-partition-period must be ${PARTITION_PERIODS.join(' or ')}, got ${JSON.stringify(period)}`,
      );
    if (problems.length > 0) throw new ConfigError(problems);
    try {
      const created = await ensureDatabase(databaseUrl);
      if (created) process.stdout.write(`created database ${redact(databaseUrl)}\n`);
      const applied = await applyMigrations(databaseUrl, flags['prisma-dir'] ?? DEFAULT_PRISMA_DIR);
      process.stdout.write(
        applied.length === 0
          ? 'database is up to date, no migration applied\n'
          : `applied ${applied.length} migration(s): ${applied.join(', ')}\n`,
      );
      const partitions = await withPgClient(databaseUrl, (db) =>
        ensureLedgerPartitions(db, { monthsAhead, period: period as PartitionPeriod }),
      );
      process.stdout.write(
        partitions.length === 0
          ? 'ledger partitions are in place, none created\n'
          : `created ${partitions.length} ledger partition(s): ${partitions.join(', ')}\n`,
      );
    } catch (err) {
      throw new IngesterError(
        ERROR_CODES.MIGRATION_FAILED,
        `migrating ${redact(databaseUrl)} failed: ${describe(err)}`,
        { cause: err },
      );
    }
    return 0;
    // Prisma's WASM schema engine leaves a 10 s timer behind after its last migration: without
    // exitWhenDone the command sat silent for 10 s after printing its result.
  },
  { exitWhenDone: true },
);

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  // The WASM engine rejects with plain objects carrying a message.
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  return JSON.stringify(err);
}
