// Issue 25, point 6: in a rollout the next release's migrate Job runs first while pods of the
// current release still restart. A supervisor that finds an additive migration it does not know
// starts anyway, naming it in a warning and a metric; only a migration marked breaking (its name
// ends in _breaking) stops it, with exit 2 and one line naming it. Against the real database
// and broker.
import t from 'tap';
import { json, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, sample, sql, SupervisorProcess, waitFor } from './helpers/supervisor.js';

/** Records a migration as applied, as `prisma migrate deploy` of a newer release would. */
async function recordMigration(url: string, name: string, statement: string): Promise<void> {
  await sql(url, statement);
  await sql(
    url,
    `INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, started_at, applied_steps_count)
     VALUES (gen_random_uuid()::text, 'newer-release', now(), $1, now(), 1)`,
    [name],
  );
}

t.test('a newer additive migration is named and run on; a breaking one stops the start', async (t) => {
  const url = await withDatabase(t);
  const topics = await withTopics(t, 1);
  await recordMigration(url, '20991231000000_customer_note', 'ALTER TABLE customer ADD COLUMN note text');

  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await sendRecords([
    [topics.customersTopic, 0, json({ custid: 3, createdate: 1587398219, fname: 'Ada', lname: 'Byron' })],
    [topics.transactionsTopic, 0, json({ custid: 3, type: 'dep', date: 1587398300, amt: 100 })],
  ]);
  await waitFor(
    'the deposit posted',
    () => count(url, '"transaction"'),
    (n) => n === 1,
    60_000,
  );
  const warning = await supervisor.logLine((l) => Array.isArray(l.newerMigrations));
  t.same(warning?.newerMigrations, ['20991231000000_customer_note'], 'the warning names the newer migration');
  t.equal(warning?.level, 'warn');
  t.equal(
    sample((await supervisor.get('/metrics')).text, 'zipbank_schema_newer_migrations'),
    1,
    'and the metric counts it',
  );
  t.equal((await supervisor.get('/readyz')).status, 200, 'the branch is ready on the newer schema');
  t.equal((await supervisor.kill('SIGTERM')).code, 0);

  await recordMigration(url, '20991231010000_drop_kind_breaking', 'SELECT 1');
  const refused = new SupervisorProcess(t, topics, url, ['--partitions', '0']);
  const exit = await refused.exited;
  t.equal(exit.code, 2, 'a breaking migration of a newer release stops the start');
  t.match(refused.tail(), /breaking migration of a newer release \(20991231010000_drop_kind_breaking\)/);
});
