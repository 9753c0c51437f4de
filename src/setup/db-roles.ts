// npm run db:roles: creates the ingester's and the operator's roles and grants them exactly what
// they need (src/db/roles.ts). Run as the schema owner, after db:migrate.
import { parseFlags, nonEmptyOption, type Problems } from '../config/options.js';
import { runMain } from '../core/run-main.js';
import { readDatabaseUrl, readSecret } from '../config/connection-options.js';
import { grantRoles } from '../db/roles.js';
import { redact } from '../db/database-url.js';
import { ConfigError } from '../core/errors.js';
import { env } from '../core/env.js';

const HELP = `Usage: npm run db:roles -- [options]

Creates (when missing) the ingester's and the operator's login roles in the database of
--database-url, which must be the schema owner's, and grants each exactly the rows it needs.
Idempotent: running it again resets their rights to this list.

  --database-url <url>      the schema owner's URL (DATABASE_URL or DATABASE_URL_FILE)
  --ingester-role <name>    (INGESTER_ROLE, default zipbank_ingester)
  --operator-role <name>    (OPERATOR_ROLE, default zipbank_operator)
  Passwords only by environment: INGESTER_PASSWORD or INGESTER_PASSWORD_FILE, OPERATOR_PASSWORD or
  OPERATOR_PASSWORD_FILE; without one the role gets none (certificate or trust authentication).
  --help                    this text
`;

runMain('db:roles', async () => {
  const flags = parseFlags(process.argv.slice(2), {
    'database-url': { type: 'string' },
    'ingester-role': { type: 'string' },
    'operator-role': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const problems: Problems = [];
  const databaseUrl = readDatabaseUrl(problems, flags['database-url']);
  const names = {
    ingester: nonEmptyOption(
      problems,
      'ingester-role',
      flags['ingester-role'] ?? env('INGESTER_ROLE'),
      'zipbank_ingester',
    ),
    operator: nonEmptyOption(
      problems,
      'operator-role',
      flags['operator-role'] ?? env('OPERATOR_ROLE'),
      'zipbank_operator',
    ),
  };
  if (names.ingester === names.operator) problems.push('ingester-role and operator-role must differ');
  const passwords = {
    ingester: readSecret(problems, 'INGESTER_PASSWORD'),
    operator: readSecret(problems, 'OPERATOR_PASSWORD'),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  await grantRoles(databaseUrl, names, passwords);
  process.stdout.write(
    `roles ready in ${redact(databaseUrl)}: ${names.ingester} (ingester), ${names.operator} (operator CLI)\n`,
  );
  return 0;
});
