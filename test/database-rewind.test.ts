// Issue 36: exactly once when the database goes back in time. Postgres is the only truth about a
// branch's position; when it loses its last commits, the records those commits held are read
// again from Kafka and posted once, with a warning and a counter, and no restart by hand. Two ways
// a real database loses commits, with real servers of the test's own:
// - a failover to an asynchronous streaming standby that had stopped receiving, behind a
//   read-write endpoint (a proxy, as a Kubernetes Service or HAProxy) that moves to it;
// - a restore of an older copy of the data folder while the ingester keeps running, idle by
//   then, so that only its health check can notice.
import t, { type Test } from 'tap';
import { BROKERS, json, runNode, sendRecords, withTopics, type TestTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sample, SupervisorProcess, sql, waitFor } from './helpers/supervisor.js';
import { commitsOn, PrivatePostgres, type PostgresServer } from './helpers/replicated-postgres.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

const BRANCHES = 4;
const CUSTOMERS = 40;
const TRANSACTIONS = 8_000;
/** Transactions per second over all branches: a steady stream of about 20 s. */
const RATE = 400;
/** The commits the database must lose, at least. */
const LOST_COMMITS = 300;

function produceStream(topics: TestTopics) {
  return runNode('dist/lab/produce.js', [
    '--branches',
    String(BRANCHES),
    '--customers',
    String(CUSTOMERS),
    '--transactions',
    String(TRANSACTIONS),
    '--rate',
    String(RATE),
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ]);
}

/**
 * Besides the stream, in the failover's lost tail: a customer created on branch 0 after its
 * transactions (parked, then posted), and the customer of transactions parked on branch 1 before
 * the tail (their un-parking is lost). After the failover neither may post a transaction before
 * its customer, leave one parked or post one twice.
 */
const LATE_CUSTOMER = 1_001;
const PARKED_CUSTOMER = 2_001;
const LATE_TRANSACTIONS = 20;
const PARKED_TRANSACTIONS = 10;
const deposit = (custid: number, i: number) => json({ custid, type: 'dep', date: 1587398300 + i, amt: 100 + i });
const newCustomer = (custid: number) => json({ custid, createdate: 1587398219, fname: 'Late', lname: 'Comer' });

/** A migrated database on a private server. */
async function migrate(url: string): Promise<void> {
  const migrated = await runNode('dist/setup/migrate.js', [], { DATABASE_URL: url });
  if (migrated.code !== 0) throw new Error(`migration failed: ${migrated.stderr}`);
}

/** Every transaction once, balances equal to their ledgers, nothing parked or rejected, the audit clean. */
async function checkExactlyOnce(t: Test, url: string, topics: TestTopics, extraCustomers = 0): Promise<void> {
  t.equal(await count(url, 'customer'), CUSTOMERS + extraCustomers, 'every customer');
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0, 'no record twice in the ledger');
  t.equal(invariants.balanceMismatches, 0, 'every balance equals its ledger');
  t.equal(await count(url, 'parked_transaction'), 0, 'nothing left parked');
  t.equal(await count(url, 'rejected_event'), 0, 'nothing rejected');
  const env = {
    DATABASE_URL: url,
    KAFKA_BROKERS: BROKERS,
    CUSTOMERS_TOPIC: topics.customersTopic,
    TRANSACTIONS_TOPIC: topics.transactionsTopic,
  };
  for (let branch = 0; branch < BRANCHES; branch++) {
    const audit = await runNode('dist/cli.js', ['audit', '--branch', String(branch)], env);
    t.equal(audit.code, 0, `cli audit of branch ${branch} passes: ${audit.stdout.slice(-400)}${audit.stderr}`);
    t.match(audit.stdout, /audit passed/);
  }
}

/** What the supervisor said and counted about the rewind. */
async function checkRewindReported(t: Test, supervisor: SupervisorProcess, topics: TestTopics): Promise<void> {
  const warnings = supervisor.logs().filter((l) => /the database went back in time/.test(String(l.msg)));
  const branches = new Set(warnings.map((l) => Number(l.branch)));
  t.equal(branches.size, BRANCHES, `every branch warned (${[...branches].join(', ')})`);
  const first = warnings[0] ?? {};
  t.comment(`the first warning: ${JSON.stringify(first)}`);
  t.equal(first.level, 'warn', 'a warning');
  t.ok(Number(first.recordsToReadAgain) > 0, `it says how many records are read again (${first.recordsToReadAgain})`);
  const offsets = (first.offsets ?? {}) as Record<string, { stored: number | null; worker: number | null }>;
  const transactions = offsets[topics.transactionsTopic];
  t.ok(
    transactions !== undefined && (transactions.worker ?? 0) > (transactions.stored ?? 0),
    `the stored transactions offset and the worker's, behind it (${JSON.stringify(transactions)})`,
  );
  t.match(String(first.msg), /stored .* this worker /, 'both positions in its message');
  const metrics = (await supervisor.get('/metrics')).text;
  let rewinds = 0;
  let reread = 0;
  for (let branch = 0; branch < BRANCHES; branch++) {
    rewinds += sample(metrics, `zipbank_database_rewinds_total{branch="${branch}"}`) ?? 0;
    reread += sample(metrics, `zipbank_database_rewound_records_total{branch="${branch}"}`) ?? 0;
  }
  t.ok(rewinds >= BRANCHES, `zipbank_database_rewinds_total counts them (${rewinds})`);
  t.ok(reread > 0, `and the records read again (${reread})`);
  t.notOk(
    supervisor.logs().some((l) => l.msg === 'branch worker died'),
    'no worker died',
  );
  t.notOk(
    supervisor.logs().some((l) => /ahead of this worker/.test(String(l.msg))),
    'no position taken for another writer',
  );
}

t.test(
  'a failover to an asynchronous standby that lost the last commits: every transaction once, within 60 s',
  async (t) => {
    const topics = await withTopics(t, BRANCHES);
    const servers = await PrivatePostgres.create(t);
    const primary = await servers.primary();
    const endpoint = await TcpProxy.start({ host: '127.0.0.1', port: primary.port });
    t.teardown(() => endpoint.down());
    const url = `postgresql://postgres@127.0.0.1:${endpoint.port}/zipbank_failover`;
    await migrate(url);
    const { standby, link } = await servers.standbyOf(primary);
    const onPrimary = primary.url('zipbank_failover');
    const onStandby = standby.url('zipbank_failover');

    const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', `0-${BRANCHES - 1}`]);
    const producer = produceStream(topics);
    await waitFor(
      'a first part of the stream committed',
      () => count(onPrimary, '"transaction"'),
      (n) => n >= 1_500,
    );
    // Transactions of a customer that does not exist yet: parked, on the standby too.
    await sendRecords(
      Array.from({ length: PARKED_TRANSACTIONS }, (_, i): [string, number, Buffer] => [
        topics.transactionsTopic,
        1,
        deposit(PARKED_CUSTOMER, i),
      ]),
    );
    const parked = `custid = ${PARKED_CUSTOMER}`;
    await waitFor(
      'parked on the standby',
      () => count(onStandby, 'parked_transaction', parked),
      (n) => n === PARKED_TRANSACTIONS,
    );
    await waitFor(
      'the standby caught up',
      async () => (await commitsOn(onPrimary)) - (await commitsOn(onStandby)),
      (behind) => behind < 50,
      30_000,
    );

    // The standby stops receiving; the primary goes on committing for a few seconds, among them
    // the parked transactions' customer and a customer that comes after its transactions.
    await link.down();
    const cutAt = Date.now();
    const frozen = await commitsOn(onStandby);
    await sendRecords([
      [topics.customersTopic, 1, newCustomer(PARKED_CUSTOMER)],
      ...Array.from({ length: LATE_TRANSACTIONS }, (_, i): [string, number, Buffer] => [
        topics.transactionsTopic,
        0,
        deposit(LATE_CUSTOMER, i),
      ]),
    ]);
    await waitFor(
      'the late transactions parked',
      () => count(onPrimary, 'parked_transaction', `custid = ${LATE_CUSTOMER}`),
      (n) => n === LATE_TRANSACTIONS,
    );
    await sendRecords([[topics.customersTopic, 0, newCustomer(LATE_CUSTOMER)]]);
    const late = `custid IN (${LATE_CUSTOMER}, ${PARKED_CUSTOMER})`;
    await waitFor(
      'both customers created and their transactions posted on the primary',
      async () => ({
        posted: await count(onPrimary, '"transaction"', late),
        parked: await count(onPrimary, 'parked_transaction'),
      }),
      ({ posted, parked }) => posted === LATE_TRANSACTIONS + PARKED_TRANSACTIONS && parked === 0,
    );
    await waitFor(
      `the primary committing ${LOST_COMMITS} or more the standby never receives`,
      async () => ({ lost: (await commitsOn(onPrimary)) - frozen, seconds: (Date.now() - cutAt) / 1000 }),
      ({ lost, seconds }) => lost >= LOST_COMMITS && seconds >= 4,
      30_000,
    );
    // Read before the primary goes: it loses these and whatever it commits until then.
    const lostCommits = (await commitsOn(onPrimary)) - (await commitsOn(onStandby));
    const lostRows = (await count(onPrimary, '"transaction"')) - (await count(onStandby, '"transaction"'));
    const standbyLacks = {
      customers: await count(onStandby, 'customer', late),
      posted: await count(onStandby, '"transaction"', late),
      parked: await count(onStandby, 'parked_transaction', parked),
    };
    await primary.kill();
    t.same(
      standbyLacks,
      { customers: 0, posted: 0, parked: PARKED_TRANSACTIONS },
      'the standby lacks both customers, and still parks',
    );
    t.ok(lostCommits >= LOST_COMMITS, `the failover loses ${lostCommits} commits`);
    t.ok(lostRows >= 100, `holding ${lostRows} ledger rows`);
    await standby.promote();
    endpoint.moveTo({ host: '127.0.0.1', port: standby.port });
    const movedAt = Date.now();

    const produced = await producer;
    t.equal(produced.code, 0, `the stream was produced: ${produced.stderr.slice(-300)}`);
    const all = TRANSACTIONS + LATE_TRANSACTIONS + PARKED_TRANSACTIONS;
    await waitFor(
      'every transaction in the promoted database',
      () => count(onStandby, '"transaction"'),
      (n) => n >= all,
      Math.max(5_000, 60_000 - (Date.now() - movedAt)),
    );
    t.ok(
      Date.now() - movedAt <= 60_000,
      `complete ${Math.round((Date.now() - movedAt) / 1000)} s after the endpoint moved`,
    );
    t.equal(await count(onStandby, '"transaction"'), all, 'exactly the stream and the late transactions');
    t.equal(
      await count(onStandby, '"transaction"', late),
      LATE_TRANSACTIONS + PARKED_TRANSACTIONS,
      'each of the late ones once',
    );
    const [order] = await sql<{ early: string }>(
      onStandby,
      `SELECT count(*) AS early FROM "transaction" t JOIN customer c USING (custid)
        WHERE t.custid IN (${LATE_CUSTOMER}, ${PARKED_CUSTOMER}) AND t.posted_at < c.ingested_at`,
    );
    t.equal(Number(order?.early), 0, 'none posted before its customer');
    await checkExactlyOnce(t, onStandby, topics, 2);
    await checkRewindReported(t, supervisor, topics);
    t.ok(
      supervisor.logs().some((l) => /now reaches the same cluster on another timeline/.test(String(l.msg))),
      'the new server is named in a line of its own',
    );
    t.equal((await supervisor.kill('SIGTERM')).code, 0, 'a clean stop');
  },
);

t.test('the database restored from an older copy under an idle ingester: every transaction once', async (t) => {
  const topics = await withTopics(t, BRANCHES);
  const servers = await PrivatePostgres.create(t);
  const server: PostgresServer = await servers.primary();
  const url = server.url('zipbank_restore');
  await migrate(url);

  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', `0-${BRANCHES - 1}`]);
  const producer = produceStream(topics);
  await waitFor(
    'a first part of the stream committed',
    () => count(url, '"transaction"'),
    (n) => n >= 1_500,
  );
  const backup = await server.baseBackup('backup');
  const backedUp = await commitsOn(url);
  const produced = await producer;
  t.equal(produced.code, 0, `the stream was produced: ${produced.stderr.slice(-300)}`);
  await waitFor(
    'the whole stream committed',
    () => count(url, '"transaction"'),
    (n) => n >= TRANSACTIONS,
  );
  const lostCommits = (await commitsOn(url)) - backedUp;
  t.ok(lostCommits >= LOST_COMMITS, `the restore loses ${lostCommits} commits`);

  // Nothing more arrives: only the health check can notice that the database went back.
  await server.restore(backup);
  const restoredAt = Date.now();
  await waitFor(
    'every transaction in the restored database again',
    () => count(url, '"transaction"'),
    (n) => n >= TRANSACTIONS,
    60_000,
  );
  t.ok(
    Date.now() - restoredAt <= 60_000,
    `complete ${Math.round((Date.now() - restoredAt) / 1000)} s after the restore`,
  );
  t.equal(await count(url, '"transaction"'), TRANSACTIONS, 'exactly the stream');
  await checkExactlyOnce(t, url, topics);
  await checkRewindReported(t, supervisor, topics);
  t.equal((await supervisor.kill('SIGTERM')).code, 0, 'a clean stop');
});
