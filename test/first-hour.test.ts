// Issue 11: a new user's first mistakes cost seconds. Branches without a partition and missing
// topics exit 2 before any thread starts; a wrong broker is named within seconds and does not
// hold up SIGTERM; the CLI says what failed in one line, shows what it can without a broker, and
// calls a bad re-drive value a data error.
import t from 'tap';
import { BROKERS, json, runNode, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, SupervisorProcess, waitFor } from './helpers/supervisor.js';

t.test('branches without a partition, or a missing topic, stop the supervisor at once with exit 2', async (t) => {
  const topics = await withTopics(t, 8);
  const url = await withDatabase(t);
  const started = Date.now();
  const tooMany = await runNode(
    'dist/main.cjs',
    [
      '--partitions',
      '0-99',
      '--metrics-port',
      '0',
      '--brokers',
      BROKERS,
      '--database-url',
      url,
      '--customers-topic',
      topics.customersTopic,
      '--transactions-topic',
      topics.transactionsTopic,
    ],
    {},
    60_000,
  );
  t.equal(tooMany.code, 2, 'exit 2');
  t.ok(Date.now() - started < 20_000, `within seconds (${Date.now() - started} ms)`);
  t.match(
    tooMany.stderr,
    new RegExp(`topic ${topics.customersTopic} has 8 partitions \\(branches 0-7\\): no partition for branch 8-99`),
  );
  t.notMatch(tooMany.stdout, /branch worker started/, 'no worker thread started');
  t.equal(await count(url, 'branch_lease'), 0, 'no lease rows left behind');

  const missing = await runNode(
    'dist/main.cjs',
    [
      '--partitions',
      '0-1',
      '--metrics-port',
      '0',
      '--brokers',
      BROKERS,
      '--database-url',
      url,
      '--customers-topic',
      topics.customersTopic,
      '--transactions-topic',
      'no-such-topic',
    ],
    {},
    60_000,
  );
  t.equal(missing.code, 2);
  t.match(missing.stderr, /topic no-such-topic does not exist \(create it with npm run topics:create\)/);
});

t.test('a wrong broker is named within seconds, once, and SIGTERM does not wait for it', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--brokers', '127.0.0.1:9999']);
  const startedAt = Date.now();
  const line = await waitFor(
    'the first failure',
    async () => supervisor.logs().find((l) => /^waiting for Kafka: /.test(String(l.msg))),
    (l) => l !== undefined,
    20_000,
  );
  t.ok(Date.now() - startedAt < 10_000, `first failure logged after ${Date.now() - startedAt} ms`);
  t.match(
    line?.msg,
    /^waiting for Kafka: cannot reach Kafka at 127\.0\.0\.1:9999: Connect to ipv4#127\.0\.0\.1:9999 failed: Connection refused$/,
    'one clear message',
  );
  t.notMatch(String(line?.msg), /broker transport failure: broker transport failure/, 'not the doubled phrase');
  const stopAt = Date.now();
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
  t.ok(Date.now() - stopAt < 8_000, `stopped within ${Date.now() - stopAt} ms`);
});

t.test('the CLI: one-line failures, status without a broker, data errors called so', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const env = { DATABASE_URL: url, KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };

  const badDb = await runNode('dist/cli.js', ['rejected', 'list'], {
    ...env,
    DATABASE_URL: url.replace(/\/[^/]*$/, '/zipbnak_does_not_exist'),
  });
  t.equal(badDb.code, 1);
  t.match(
    badDb.stderr,
    /^cli: DATABASE_\w+: 3D000 database "zipbnak_does_not_exist" does not exist\n$/,
    'one line with the real cause',
  );
  t.notMatch(badDb.stderr, /\n\s+at |PrismaClient/, 'no stack');

  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    [E, 0, Buffer.from('{"custid": 1, "type": "dep", "date": 1587398300, "amt": "5"}')],
    // As the lab's own producer does: a transaction for a customer nobody created.
    [E, 0, json({ custid: 50, type: 'dep', date: 1587398301, amt: 1000 })],
  ]);
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await waitFor(
    'the bad record rejected and the orphan parked',
    async () => [await count(url, 'rejected_event'), await count(url, 'parked_transaction')],
    ([r, p]) => r === 1 && p === 1,
  );
  const notice = await waitFor(
    'the wait is logged',
    async () => supervisor.logs().find((l) => /transactions wait for their customers/.test(String(l.msg))),
    (l) => l !== undefined,
    10_000,
  );
  t.match(
    notice?.msg,
    new RegExp(
      `^1 transactions wait for their customers \\(ids 50\\), which do not exist yet: they post as soon as those customers are created on ${C}$`,
    ),
  );
  const withParked = await runNode('dist/cli.js', ['status', '--partitions', '0'], env);
  t.match(
    withParked.stdout,
    /branch 0: 1 transactions wait for customers 50, not created yet on/,
    'status shows who is waited for',
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0);

  const started = Date.now();
  const noBroker = await runNode('dist/cli.js', ['status', '--partitions', '0'], {
    ...env,
    KAFKA_BROKERS: '127.0.0.1:9999',
  });
  // The supervisor was just stopped, so the branch has no live owner: status says so by its code.
  t.equal(noBroker.code, 3, `status works without a broker and exits 3 for the stopped branch: ${noBroker.stderr}`);
  t.ok(Date.now() - started < 8_000, `within seconds (${Date.now() - started} ms)`);
  t.match(noBroker.stdout, /lag unknown \(-\): cannot reach Kafka at 127\.0\.0\.1:9999/);
  t.match(noBroker.stdout, /^\s+0\s+1\s+2\s+-\s+1\s/m, 'offsets and parked count from Postgres, lag marked unknown');

  const [rejected] = JSON.parse((await runNode('dist/cli.js', ['rejected', 'list', '--json'], env)).stdout) as {
    id: number;
  }[];
  const stillBad = await runNode(
    'dist/cli.js',
    ['rejected', 'redrive', '--id', String(rejected?.id), '--value', 'not json'],
    env,
  );
  t.equal(stillBad.code, 2);
  t.match(
    stillBad.stderr,
    /^cli: data error: the corrected value is still not acceptable: not_json/,
    'called a data error',
  );
  t.notMatch(stillBad.stderr, /invalid configuration/);
});

t.test('db:migrate ends as soon as it has printed its result', async (t) => {
  const url = await withDatabase(t);
  const started = Date.now();
  const again = await runNode('dist/setup/migrate.js', [], { DATABASE_URL: url });
  t.equal(again.code, 0);
  t.match(again.stdout, /up to date/);
  t.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms (it used to linger 10 s)`);
});

t.test(
  'the demo ends by saying what to explore and leaves the broker running; produce says what it sent',
  async (t) => {
    const topics = await withTopics(t, 8);
    const url = await withDatabase(t);
    const env = {
      DATABASE_URL: url,
      KAFKA_BROKERS: BROKERS,
      CUSTOMERS_TOPIC: topics.customersTopic,
      TRANSACTIONS_TOPIC: topics.transactionsTopic,
    };
    const demo = await runNode('dist/lab/demo.js', ['--customers', '16', '--transactions', '400'], env, 180_000);
    t.equal(demo.code, 0, demo.stderr.slice(-2000));
    const said = demo.stdout + demo.stderr;
    t.match(said, /every produced record is in Postgres exactly once/);
    t.match(said, /explore what it wrote \(the Kafka broker is still running; npm run kafka:stop stops it\)/);
    t.match(said, /node dist\/cli\.js status/);
    // The demo stopped its supervisor: every branch is stopped, which status reports by exit 3.
    const status = await runNode('dist/cli.js', ['status', '--json'], env);
    t.equal(status.code, 3, `and the command it suggests works right after: ${status.stderr}`);
    t.equal(JSON.parse(status.stdout).length, 8, 'with the eight branches');

    const again = await runNode('dist/lab/produce.js', [
      '--branches',
      '8',
      '--customers',
      '16',
      '--transactions',
      '0',
      '--customers-topic',
      topics.customersTopic,
      '--transactions-topic',
      topics.transactionsTopic,
    ]);
    t.equal(again.code, 0);
    t.match(
      again.stderr,
      /sent 16 customer creations with ids 1 to 16; ids that already exist are repeats and create nothing \(use --first-custid for new ones\)/,
    );
  },
);
