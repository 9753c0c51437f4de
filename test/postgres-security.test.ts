// Issue 9, points 3 and 4: Postgres over verified TLS (a private server started by the test,
// admitting TLS only, its certificate signed by a test CA), and least privilege (the ingester and
// the operator CLI log in as roles that cannot run DDL or TRUNCATE).
import t from 'tap';
import { BROKERS, json, runNode, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, sql, SupervisorProcess, waitFor } from './helpers/supervisor.js';
import { createTestCa } from './helpers/test-ca.js';
import { privatePostgresWithTls } from './helpers/private-postgres.js';
import { withLeastPrivilegeRoles } from './helpers/db-roles.js';

// Below the ephemeral range (32768 and up), so no outgoing connection can hold it.
const TLS_PORT = 25_432;

t.test(
  'supervisor, CLI and migrator work over sslmode=verify-full, and refuse a server the CA does not vouch for',
  async (t) => {
    const ca = await createTestCa(t, 'ca');
    const other = await createTestCa(t, 'other-ca');
    const server = await privatePostgresWithTls(t, TLS_PORT, await ca.issueServer('postgres'));
    const { serverUrl } = server;
    const url = `${serverUrl}/zipbank_tls?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.caCert)}`;
    // Created beforehand, as on a managed server, which also refuses connections to the postgres
    // database: the migrator must not need one when its database exists.
    await server.createDatabase('zipbank_tls');

    const plain = await runNode('dist/setup/migrate.js', [], {
      DATABASE_URL: `${serverUrl}/zipbank_tls?sslmode=disable`,
    });
    t.equal(plain.code, 1, 'the server admits TLS connections only');
    t.match(plain.stderr, /pg_hba.conf rejects connection .* no encryption/);

    const migrated = await runNode('dist/setup/migrate.js', [], { DATABASE_URL: url });
    t.equal(migrated.code, 0, `migrator over verify-full, without the postgres database: ${migrated.stderr}`);
    t.match(migrated.stdout, /applied \d+ migration/);

    const topics = await withTopics(t, 1);
    const { customersTopic: C, transactionsTopic: E } = topics;
    await sendRecords([
      [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
      [E, 0, json({ custid: 1, type: 'dep', date: 1587398300, amt: 100 })],
    ]);
    const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0']);
    await waitFor(
      'ingested over TLS',
      () => count(url, '"transaction"'),
      (n) => n === 1,
      60_000,
    );
    const [tls] = await sql<{ ssl: boolean }>(
      url,
      'SELECT bool_and(ssl) AS ssl FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE datname = current_database()',
    );
    t.equal(tls?.ssl, true, 'every session of the database is encrypted');
    const status = await runNode('dist/cli.js', ['status', '--partitions', '0', '--json'], {
      DATABASE_URL: url,
      KAFKA_BROKERS: BROKERS,
      CUSTOMERS_TOPIC: C,
      TRANSACTIONS_TOPIC: E,
    });
    t.equal(status.code, 0, `CLI over verify-full: ${status.stderr}`);
    t.equal(JSON.parse(status.stdout)[0]?.transactionsOffset, 1);
    t.equal((await supervisor.kill('SIGTERM')).code, 0);

    const wrongCa = `${serverUrl}/zipbank_tls?sslmode=verify-full&sslrootcert=${encodeURIComponent(other.caCert)}`;
    const refused = await runNode(
      'dist/main.cjs',
      [
        '--partitions',
        '0',
        '--metrics-port',
        '0',
        '--database-url',
        wrongCa,
        '--customers-topic',
        C,
        '--transactions-topic',
        E,
      ],
      {},
      30_000,
    );
    t.equal(refused.code, 2, 'a server certificate the CA did not sign stops the supervisor at start-up');
    t.match(
      refused.stderr,
      /TLS verification of the server failed \(.*(self[- ]signed|unable to verify|certificate).*\): check sslrootcert and sslmode/i,
    );
    // A refused password is a setup that can never work: exit 2 naming it, not a retry loop.
    await sql(url, `CREATE ROLE zb_password_user LOGIN PASSWORD 'right-password'`);
    const wrongPassword = `${serverUrl.replace('postgres@', 'zb_password_user:wrong-password@')}/zipbank_tls?sslmode=verify-full&sslrootcert=${encodeURIComponent(ca.caCert)}`;
    const badLogin = await runNode(
      'dist/main.cjs',
      [
        '--partitions',
        '0',
        '--metrics-port',
        '0',
        '--database-url',
        wrongPassword,
        '--customers-topic',
        C,
        '--transactions-topic',
        E,
      ],
      {},
      30_000,
    );
    t.equal(badLogin.code, 2, 'a refused password stops the supervisor at start-up');
    t.match(
      badLogin.stderr,
      /password authentication failed for user "zb_password_user": the password was refused: check the credentials in DATABASE_URL/,
    );
    t.notMatch(badLogin.stderr + badLogin.stdout, /wrong-password/, 'without showing the password');
    const migrateRefused = await runNode('dist/setup/migrate.js', [], { DATABASE_URL: wrongCa });
    t.equal(migrateRefused.code, 1, 'and the migrator');
    t.match(migrateRefused.stderr, /certificate/i);
  },
);

t.test('the ingester and the operator run as least-privilege roles; DDL and TRUNCATE as them fail', async (t) => {
  const url = await withDatabase(t);
  const { ingester, operator, granted } = await withLeastPrivilegeRoles(t, url, {
    INGESTER_PASSWORD: 'ingester-secret',
    OPERATOR_PASSWORD: 'operator-secret',
  });
  t.equal(granted.code, 0, granted.stderr);
  t.notMatch(granted.stdout + granted.stderr, /secret/, 'no password in the output');
  const again = await runNode('dist/setup/db-roles.js', ['--ingester-role', ingester, '--operator-role', operator], {
    DATABASE_URL: url,
  });
  t.equal(again.code, 0, 'idempotent');

  const asRole = (role: string) => url.replace('postgres@', `${role}@`);
  const topics = await withTopics(t, 2);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    [E, 0, json({ custid: 1, type: 'dep', date: 1587398300, amt: 100 })],
    [E, 1, json({ custid: 2, type: 'dep', date: 1587398300, amt: 100 })], // parked
    [E, 1, Buffer.from('{"custid": 1, "type": "dep", "date": 1587398301, "amt": "5"}')], // rejected
  ]);
  const supervisor = new SupervisorProcess(t, topics, asRole(ingester), ['--partitions', '0-1', '--linger-ms', '20']);
  await waitFor(
    'ingested as the ingester role',
    async () => [
      await count(url, '"transaction"'),
      await count(url, 'parked_transaction'),
      await count(url, 'rejected_event'),
    ],
    ([l, p, r]) => l === 1 && p === 1 && r === 1,
    60_000,
  );
  t.notOk(
    supervisor.logs().some((l) => l.level === 'error'),
    'no error as the ingester role',
  );

  for (const statement of [
    'CREATE TABLE sneaky (id int)',
    'DROP TABLE balance',
    'TRUNCATE "transaction"',
    'ALTER TABLE customer ADD COLUMN x int',
    'DELETE FROM "transaction"',
    'CREATE SCHEMA other',
  ]) {
    const failed = await sql(asRole(ingester), statement).then(
      () => 'succeeded',
      (err: { code?: string }) => err.code,
    );
    t.equal(failed, '42501', `as the ingester: ${statement} is refused (insufficient privilege)`);
  }

  const env = { DATABASE_URL: asRole(operator), KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };
  t.equal((await runNode('dist/cli.js', ['status', '--partitions', '0-1'], env)).code, 0, 'operator: status');
  const [rejected] = await sql<{ id: string }>(url, 'SELECT id FROM rejected_event');
  const redrive = await runNode(
    'dist/cli.js',
    [
      'rejected',
      'redrive',
      '--id',
      String(rejected?.id),
      '--value',
      '{"custid": 1, "type": "dep", "date": 1587398301, "amt": 5}',
    ],
    env,
  );
  t.equal(redrive.code, 0, `operator: re-drive (${redrive.stderr})`);
  t.equal(await count(url, '"transaction"'), 2);
  t.equal(
    await sql(asRole(operator), 'TRUNCATE balance').then(
      () => 'succeeded',
      (err: { code?: string }) => err.code,
    ),
    '42501',
    'operator: TRUNCATE refused',
  );
  t.equal(
    await sql(asRole(operator), "UPDATE branch_lease SET owner = 'me'").then(
      () => 'succeeded',
      (err: { code?: string }) => err.code,
    ),
    '42501',
    'operator: cannot take a branch lease',
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});
