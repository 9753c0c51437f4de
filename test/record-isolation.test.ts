// Issue 13, point 1: no single record stalls a branch. A value starting with NUL (every
// Confluent Avro/Protobuf record does), a producer timestamp beyond what Postgres holds, and a
// record Postgres itself refuses (a balance overflowing bigint) are each posted or quarantined,
// the rest of their batch commits in order, and later records of the branch (a customer that
// another branch's transactions wait for) are not held up.
import t from 'tap';
import { BROKERS, json, runNode, sendRecords, testDatabaseUrl, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sql, SupervisorProcess, waitFor } from './helpers/supervisor.js';
import { ensureDatabase } from '../src/db/ensure-database.js';

/** Near bigint's maximum: one more deposit overflows the balance (SQLSTATE 22003). */
const NEAR_MAX_BALANCE = '9223372036854775000';

t.test('one bad record in a big batch is quarantined; the branch and the branches waiting on it go on', async (t) => {
  // Kafka 4 refuses timestamps more than an hour ahead by default; a topic may allow any.
  const topics = await withTopics(t, 2, { 'message.timestamp.after.max.ms': '9223372036854775807' });
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const supervisor = new SupervisorProcess(t, topics, url, [
    '--partitions',
    '0-1',
    '--linger-ms',
    '300',
    '--batch-size',
    '2000',
  ]);

  // Customer 5 exists with a balance one deposit away from overflowing.
  await sendRecords([[C, 1, json({ custid: 5, createdate: 1587398219, fname: 'Max', lname: 'Balance' })]]);
  await waitFor(
    'customer 5',
    () => count(url, 'balance', 'custid = 5'),
    (n) => n === 1,
  );
  await sql(url, `UPDATE balance SET balance_cents = ${NEAR_MAX_BALANCE} WHERE custid = 5`);

  const deposit = (custid: number, i: number) => json({ custid, type: 'dep', date: 1587398300 + i, amt: 100 });
  const nulPrefixed = Buffer.concat([Buffer.from([0x00, 0x00, 0x00, 0x00, 0x01]), Buffer.from('{"custid":6}')]);
  const farFuture = 9.3e15; // epoch ms, beyond what a timestamptz holds
  await sendRecords([
    [C, 1, json({ custid: 6, createdate: 1587398219, fname: 'Ada', lname: 'Byron' })],
    ...Array.from({ length: 700 }, (_, i): [string, number, Buffer] => [E, 1, deposit(6, i)]),
    [E, 1, nulPrefixed],
    [E, 1, deposit(6, 1000), farFuture],
    [E, 1, json({ custid: 5, type: 'dep', date: 1587398400, amt: 1000 })], // overflows
    ...Array.from({ length: 700 }, (_, i): [string, number, Buffer] => [E, 1, deposit(6, 2000 + i)]),
    // Created by branch 1 after its bad records; branch 0's transactions wait for it.
    [C, 1, json({ custid: 7, createdate: 1587398219, fname: 'Grace', lname: 'Hopper' })],
    ...Array.from({ length: 20 }, (_, i): [string, number, Buffer] => [E, 0, deposit(7, i)]),
  ]);

  await waitFor(
    'branch 1 committed everything',
    async () =>
      (
        await sql<{ next_offset: string }>(
          url,
          `SELECT next_offset FROM consumer_offset WHERE topic = $1 AND "partition" = 1`,
          [E],
        )
      )[0]?.next_offset,
    (n) => Number(n) === 1403,
    60_000,
  );
  await waitFor(
    'branch 0 posted the transactions that waited for customer 7',
    () => count(url, '"transaction"', 'custid = 7'),
    (n) => n === 20,
    30_000,
  );
  t.equal(await count(url, 'parked_transaction'), 0, 'nothing left parked on any branch');
  t.equal(await count(url, '"transaction"', 'custid = 6'), 1401, 'every good record of the batch posted');

  const rejected = await sql<{ kafka_offset: string; raw_value: Buffer; reason_code: string; detail: string }>(
    url,
    `SELECT kafka_offset, raw_value, reason_code, detail FROM rejected_event ORDER BY kafka_offset`,
  );
  t.equal(rejected.length, 2, 'two records quarantined');
  const notJson = rejected.find((r) => r.reason_code === 'not_json');
  t.equal(Number(notJson?.kafka_offset), 700, 'the NUL-prefixed record, at its offset');
  t.ok(notJson && Buffer.compare(notJson.raw_value, nulPrefixed) === 0, 'its raw bytes kept exactly, as bytea');
  t.notOk(notJson?.detail.includes('\u0000'), 'no NUL in the detail text');
  t.match(notJson?.detail, /\\u0000/, 'the NUL shown escaped');
  const refused = rejected.find((r) => r.reason_code === 'database_rejected');
  t.equal(Number(refused?.kafka_offset), 702, 'the record Postgres refused, at its offset');
  t.match(refused?.detail, /22003/, 'its detail carries the SQLSTATE');
  t.match(refused?.detail, /bigint out of range/, 'and the server message');
  t.same(
    JSON.parse(refused?.raw_value.toString() ?? '{}'),
    { custid: 5, type: 'dep', date: 1587398400, amt: 1000 },
    'and its raw bytes',
  );

  const [future] = await sql<{ kafka_timestamp: Date; part: string }>(
    url,
    `SELECT kafka_timestamp, tableoid::regclass::text AS part FROM "transaction" WHERE kafka_partition = 1 AND kafka_offset = 701`,
  );
  t.ok(future, 'the record with a far-future Kafka timestamp is posted');
  t.equal(future?.kafka_timestamp.getTime(), 0, 'its unusable timestamp is stored as the epoch');
  t.equal(future?.part, 'transaction_untimed', 'in the untimed partition');
  const [b5] = await sql<{ balance_cents: string }>(url, 'SELECT balance_cents FROM balance WHERE custid = 5');
  t.equal(b5?.balance_cents, NEAR_MAX_BALANCE, 'the refused deposit changed nothing');

  const order = await sql<{ kafka_offset: string }>(
    url,
    `SELECT kafka_offset FROM "transaction" WHERE kafka_partition = 1 ORDER BY posted_at, kafka_offset`,
  );
  const offsets = order.map((r) => Number(r.kafka_offset));
  t.same(
    offsets,
    [...offsets].sort((a, b) => a - b),
    'posted in offset order despite the split',
  );

  const isolated = await supervisor.logLine(
    (l) => l.msg === 'refused records quarantined as database_rejected, see table rejected_event',
  );
  t.ok(isolated, 'the isolation is logged');
  t.equal(isolated?.refused, 1);
  // Halving a batch of up to ~1,400 records: about two statements per level, 11 levels.
  t.ok(
    Number(isolated?.extraWrites) <= 30,
    `isolation took ${String(isolated?.extraWrites)} extra writes, not one per record`,
  );
  t.ok(
    await supervisor.logLine(
      (l) => l.msg === 'record refused by Postgres, quarantined as database_rejected' && l.sqlstate === '22003',
    ),
    'the refused record is logged with its SQLSTATE',
  );
  t.notOk(
    supervisor.logs().some((l) => l.msg === 'branch worker died'),
    'no worker died',
  );
  const metrics = (await supervisor.get('/metrics')).text;
  t.match(
    metrics,
    /zipbank_write_failures_total\{branch="1",cause="data"\} [1-9]/,
    'the refusal is counted as a data failure',
  );
  t.match(metrics, /zipbank_rejected_records_total\{branch="1",reason="database_rejected"\} 1/);

  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0);
  t.equal(invariants.balanceMismatches, 1, 'only the balance set by hand differs from its ledger');
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});

t.test('a schema or privilege problem pauses the branch with a clear reason, and it resumes once fixed', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  const get = (path: string) => supervisor.get(path);
  await sendRecords([[C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })]]);
  await waitFor(
    'customer 1',
    () => count(url, 'customer'),
    (n) => n === 1,
  );

  await sql(url, 'ALTER TABLE balance RENAME TO balance_moved');
  await sendRecords(
    Array.from({ length: 5 }, (_, i): [string, number, Buffer] => [
      E,
      0,
      json({ custid: 1, type: 'dep', date: 1587398300 + i, amt: 100 }),
    ]),
  );
  const paused = await waitFor(
    '/readyz names the schema problem',
    () => get('/readyz'),
    (r) => r.status === 503 && /schema/.test(r.text),
    30_000,
  );
  t.match(
    paused.text,
    /branch 0: database schema or privileges: 42P01 relation "balance" does not exist/,
    'readiness names the cause',
  );
  t.match(paused.text, /npm run db:migrate/, 'and the fix');
  t.equal(await count(url, '"transaction"'), 0, 'nothing posted meanwhile');
  t.ok(
    await supervisor.logLine(
      (l) => l.level === 'error' && /could not write batch, retrying: 42P01/.test(String(l.msg)),
    ),
    'an error log names the cause',
  );
  const metrics = await (await get('/metrics')).text;
  t.match(metrics, /zipbank_write_failures_total\{branch="0",cause="schema"\} [1-9]/, 'counted as a schema failure');

  const status = await runNode('dist/cli.js', ['status', '--partitions', '0'], {
    DATABASE_URL: url,
    KAFKA_BROKERS: BROKERS,
    CUSTOMERS_TOPIC: C,
    TRANSACTIONS_TOPIC: E,
  });
  t.match(
    status.stdout,
    /branch 0: database schema or privileges: 42P01 relation "balance" does not exist/,
    'status shows why the branch is not moving',
  );

  await sql(url, 'ALTER TABLE balance_moved RENAME TO balance');
  await waitFor(
    'the branch resumes by itself',
    () => count(url, '"transaction"'),
    (n) => n === 5,
    60_000,
  );
  await waitFor(
    '/readyz 200 again',
    () => get('/readyz'),
    (r) => r.status === 200,
    30_000,
  );
  t.notOk(
    supervisor.logs().some((l) => l.msg === 'branch worker died'),
    'no worker died',
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});

t.test('the supervisor refuses to start on a database that is missing or not migrated, naming the fix', async (t) => {
  const topics = await withTopics(t, 1);
  const empty = testDatabaseUrl(t);
  await ensureDatabase(empty);
  const unmigrated = await runNode(
    'dist/main.cjs',
    [
      '--partitions',
      '0',
      '--metrics-port',
      '0',
      '--database-url',
      empty,
      '--customers-topic',
      topics.customersTopic,
      '--transactions-topic',
      topics.transactionsTopic,
    ],
    {},
    30_000,
  );
  t.equal(unmigrated.code, 2, 'exit 2 on an unmigrated database');
  t.match(unmigrated.stderr, /has no migrations applied: run npm run db:migrate/);

  const missing = testDatabaseUrl(t);
  const noDatabase = await runNode(
    'dist/main.cjs',
    [
      '--partitions',
      '0',
      '--metrics-port',
      '0',
      '--database-url',
      missing,
      '--customers-topic',
      topics.customersTopic,
      '--transactions-topic',
      topics.transactionsTopic,
    ],
    {},
    30_000,
  );
  t.equal(noDatabase.code, 2, 'exit 2 when the database does not exist');
  t.match(noDatabase.stderr, /does not exist: create and migrate it with npm run db:migrate/);

  // One migration missing: the database is from an older build.
  const old = await withDatabase(t);
  await sql(old, `DELETE FROM _prisma_migrations WHERE migration_name = '20261125000000_offset_gap'`);
  const behind = await runNode(
    'dist/main.cjs',
    [
      '--partitions',
      '0',
      '--metrics-port',
      '0',
      '--database-url',
      old,
      '--customers-topic',
      topics.customersTopic,
      '--transactions-topic',
      topics.transactionsTopic,
    ],
    {},
    30_000,
  );
  t.equal(behind.code, 2);
  t.match(behind.stderr, /lacks 1 migration\(s\) of this build \(20261125000000_offset_gap\): run npm run db:migrate/);
  t.notMatch(behind.stderr, /\n\s+at /, 'one line, no stack');
});
