// Issue 25, point 2: a database change that refuses every row is not bad data. A CHECK added
// NOT VALID under the ledger during a steady stream pauses the branches (not ready, the
// constraint and SQLSTATE named in the log, /readyz, `cli status` and a metric) and nothing is
// quarantined; once the constraint is dropped they go on by themselves, every record exactly
// once. A constraint that refuses one record alone still quarantines that record only.
import t from 'tap';
import { BROKERS, json, runNode, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sample, SupervisorProcess, sql, waitFor } from './helpers/supervisor.js';
import { ConfirmedProducer } from '../src/kafka/confirmed-producer.js';
import { LEASE_TTL_SECONDS } from '../src/db/prisma.js';

const deposit = (custid: number, i: number, amt = 100) => json({ custid, type: 'dep', date: 1587398300 + i, amt });

t.test('a constraint that refuses every new ledger row pauses the branches instead of quarantining', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0-1', '--linger-ms', '50']);
  const env = { DATABASE_URL: url, KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };

  // Customer 1 on branch 0, customer 2 on branch 1, and 20 deposits each.
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    [C, 1, json({ custid: 2, createdate: 1587398219, fname: 'Grace', lname: 'Hopper' })],
    ...Array.from({ length: 40 }, (_, i): [string, number, Buffer] => [E, i % 2, deposit(1 + (i % 2), i)]),
  ]);
  await waitFor(
    'the first 40 deposits posted',
    () => count(url, '"transaction"'),
    (n) => n === 40,
  );

  // A DBA's change: every new deposit is refused from now on (rows already there are kept).
  await sql(url, 'ALTER TABLE "transaction" ADD CONSTRAINT dba_negative_only CHECK (amount_cents < 0) NOT VALID');
  const producer = await ConfirmedProducer.connect(BROKERS, 'steady-stream');
  t.teardown(() => producer.close());
  let sent = 0;
  const stream = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      for (const branch of [0, 1]) await producer.send(E, branch, 'k', deposit(1 + branch, 100 + sent++));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await producer.confirmAll();
  };

  const streaming = stream(8_000);
  const paused = await waitFor(
    '/readyz says the database refuses rows it accepted before',
    () => supervisor.get('/readyz'),
    (r) => r.status === 503 && /refuses rows it accepted before/.test(r.text),
    30_000,
  );
  t.match(paused.text, /23514/, 'readiness names the SQLSTATE');
  t.match(paused.text, /dba_negative_only/, 'and the constraint');
  const logged = await supervisor.logLine(
    (l) =>
      l.level === 'error' &&
      l.code === 'DATABASE_REFUSING' &&
      /could not write batch, retrying: Postgres refuses transaction rows like ones it accepted before/.test(
        String(l.msg),
      ),
  );
  t.ok(logged, 'an error log line names the cause');
  t.match(String(logged?.msg), /dba_negative_only/, 'with the constraint');
  await streaming;
  // Past the lease's TTL: the paused owner still holds its branches (it keeps renewing the lease).
  await new Promise((resolve) => setTimeout(resolve, (LEASE_TTL_SECONDS + 2) * 1000));

  const status = await runNode('dist/cli.js', ['status', '--partitions', '0-1'], env);
  t.equal(status.code, 3, 'cli status exits 3: needs attention');
  t.match(status.stdout, /database refuses rows it accepted before: .*23514.*dba_negative_only/, 'and says why');
  t.notMatch(status.stdout, /no live owner/, 'a paused owner is not taken for a missing one');
  const metrics = (await supervisor.get('/metrics')).text;
  t.ok(
    (sample(metrics, 'zipbank_write_failures_total{branch="0",cause="refusing"}') ?? 0) > 0,
    'counted as a refusing failure',
  );
  t.equal(sample(metrics, 'zipbank_write_failures_total{branch="0",cause="data"}'), 0, 'not as bad data');
  t.equal(await count(url, 'rejected_event'), 0, 'nothing quarantined while the database refuses every row');
  t.equal(await count(url, '"transaction"'), 40, 'nothing posted meanwhile');

  await sql(url, 'ALTER TABLE "transaction" DROP CONSTRAINT dba_negative_only');
  await waitFor(
    'every deposit of the stream posted once the constraint is gone',
    () => count(url, '"transaction"'),
    (n) => n === 40 + sent,
    60_000,
  );
  await waitFor(
    '/readyz 200 again',
    () => supervisor.get('/readyz'),
    (r) => r.status === 200,
    30_000,
  );
  t.equal(await count(url, 'rejected_event'), 0, 'still nothing quarantined');

  // A constraint that one record alone breaks: that record is quarantined, the branch goes on.
  await sql(url, 'ALTER TABLE "transaction" ADD CONSTRAINT dba_no_4242 CHECK (amount_cents <> 4242) NOT VALID');
  await sendRecords([
    [E, 0, deposit(1, 500)],
    [E, 0, deposit(1, 501, 4242)],
    [E, 0, deposit(1, 502)],
  ]);
  await waitFor(
    'the lone refused record quarantined',
    () => count(url, 'rejected_event'),
    (n) => n === 1,
    30_000,
  );
  await waitFor(
    'the records around it posted',
    () => count(url, '"transaction"'),
    (n) => n === 42 + sent,
    30_000,
  );
  const [rejected] = await sql<{ reason_code: string; detail: string }>(
    url,
    'SELECT reason_code, detail FROM rejected_event',
  );
  t.equal(rejected?.reason_code, 'database_rejected');
  t.match(rejected?.detail, /23514.*dba_no_4242/, 'its detail names the SQLSTATE and the constraint');

  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0, 'nothing posted twice');
  t.equal(invariants.balanceMismatches, 0, 'balances equal their ledger sums');
  t.notOk(
    supervisor.logs().some((l) => l.msg === 'branch worker died'),
    'no worker died',
  );
  const { code } = await supervisor.kill('SIGTERM');
  t.equal(code, 0);
});
