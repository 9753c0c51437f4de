// The least-privilege roles of `npm run db:roles`, made for one test in its database: names of
// their own (roles are server-wide) and dropped, with their grants, when the test ends.
import { runNode, uniqueName } from './fixtures.js';
import { sql } from './supervisor.js';

type Test = { teardown(fn: () => Promise<void>): void };

export interface TestRoles {
  ingester: string;
  operator: string;
  /** What db-roles printed and its exit code. */
  granted: Awaited<ReturnType<typeof runNode>>;
}

/** Runs dist/setup/db-roles.js against `url` for two new roles; `env` adds passwords and the like. */
export async function withLeastPrivilegeRoles(
  t: Test,
  url: string,
  env: Record<string, string> = {},
): Promise<TestRoles> {
  const ingester = uniqueName('zb_ingester').toLowerCase();
  const operator = uniqueName('zb_operator').toLowerCase();
  t.teardown(async () => {
    // Roles are server-wide: drop what the test created, its grants in the test database first.
    await sql(url, `DROP OWNED BY ${ingester}, ${operator}`).catch(() => undefined);
    await sql(url.replace(/\/[^/?]*$/, '/postgres'), `DROP ROLE IF EXISTS ${ingester}, ${operator}`).catch(
      () => undefined,
    );
  });
  const granted = await runNode('dist/setup/db-roles.js', ['--ingester-role', ingester, '--operator-role', operator], {
    DATABASE_URL: url,
    ...env,
  });
  return { ingester, operator, granted };
}
