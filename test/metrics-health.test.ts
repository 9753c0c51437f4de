// /healthz, /readyz and /metrics of a running supervisor, against the real broker and database.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { json, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, sample, SupervisorProcess, waitFor } from './helpers/supervisor.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

t.test('health, readiness and metrics follow what the branches do', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const proxy = await TcpProxy.start({ host: '127.0.0.1', port: 5432 });
  t.teardown(() => proxy.down());
  const supervisor = new SupervisorProcess(t, topics, url.replace('127.0.0.1:5432', `127.0.0.1:${proxy.port}`), [
    '--partitions',
    '0-1',
    '--linger-ms',
    '20',
  ]);
  const get = (path: string) => supervisor.get(path);

  t.equal((await get('/healthz')).status, 200, '/healthz answers while the process is alive');
  await waitFor(
    '/readyz 200',
    () => get('/readyz'),
    (r) => r.status === 200,
  );
  t.equal((await get('/nope')).status, 404);

  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398301, fname: 'Ada', lname: 'Lovelace' })],
    ...Array.from({ length: 30 }, (_, i): [string, number, Buffer] => [
      E,
      0,
      json({ custid: 1, type: 'dep', date: 1587398400 + i, amt: 100 }),
    ]),
    [E, 1, json({ custid: 77, type: 'dep', date: 1587398400, amt: 5 })],
    [E, 1, Buffer.from('garbage')],
    [E, 1, json({ custid: 1, type: 'dep', date: 1587398400, amt: -5 })],
  ]);
  await waitFor(
    'ledger rows',
    () => count(url, '"transaction"'),
    (n) => n === 30,
  );
  const metrics = await waitFor(
    'lag and parked reported',
    async () => (await get('/metrics')).text,
    (text) =>
      sample(text, `zipbank_consumer_lag{branch="0",topic="${E}"}`) === 0 &&
      sample(text, 'zipbank_parked_transactions{branch="1"}') === 1,
  );
  t.equal(sample(metrics, 'zipbank_ledger_rows_total{branch="0"}'), 30, 'ledger rows by branch');
  t.equal(sample(metrics, 'zipbank_ledger_rows_total{branch="1"}'), 0);
  t.equal(sample(metrics, 'zipbank_customers_created_total{branch="0"}'), 1);
  t.equal(sample(metrics, 'zipbank_records_consumed_total{branch="1"}'), 3);
  t.equal(sample(metrics, 'zipbank_rejected_records_total{branch="1",reason="not_json"}'), 1, 'rejections by reason');
  t.equal(sample(metrics, 'zipbank_rejected_records_total{branch="1",reason="invalid_amount"}'), 1);
  t.equal(sample(metrics, 'zipbank_parked_transactions{branch="1"}'), 1, 'parked count');
  t.ok((sample(metrics, 'zipbank_oldest_parked_age_seconds{branch="1"}') ?? -1) >= 0, 'age of the oldest parked');
  t.ok((sample(metrics, 'zipbank_batch_size_count{branch="0"}') ?? 0) >= 1, 'batch size histogram');
  t.ok((sample(metrics, 'zipbank_batch_write_seconds_count{branch="0"}') ?? 0) >= 1, 'write latency histogram');
  t.equal(sample(metrics, 'zipbank_worker_restarts_total{branch="0"}'), 0);
  t.equal(sample(metrics, 'zipbank_lease_acquisitions_total{branch="0"}'), 1, 'the lease taken once at start');
  const lastCommit = sample(metrics, 'zipbank_last_commit_timestamp_seconds{branch="0"}') ?? 0;
  t.ok(Date.now() / 1000 - lastCommit < 60, `the last commit time is recent (${lastCommit})`);
  const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  t.match(
    metrics,
    new RegExp(
      `^zipbank_build_info\\{version="${version}",commit="[0-9a-f]{12}",node="${process.version}",librdkafka="\\d+\\.\\d+\\.\\d+"\\} 1$`,
      'm',
    ),
    'build info: release, commit, Node and librdkafka versions',
  );
  t.equal(sample(metrics, 'zipbank_branch_ready{branch="0"}'), 1);
  t.match(metrics, /^process_cpu_user_seconds_total /m, 'process figures');

  // A database outage makes the branches not ready; they are ready again once it is over.
  await proxy.down();
  await sendRecords([[E, 0, json({ custid: 1, type: 'wth', date: 1587398500, amt: 1 })]]);
  // Both branches notice: branch 0 through its failing write, idle branch 1 through its 2 s check.
  // Each line names what fails: the server that cannot be reached, host and port. A statement
  // in flight when the proxy cut its connection reports that first (Connection terminated
  // unexpectedly); the next attempt finds the server unreachable.
  const unreachable =
    /branch 0: database: cannot reach the database server at 127\.0\.0\.1:\d+.*\nbranch 1: database: cannot reach the database server at 127\.0\.0\.1:\d+/;
  const notReady = await waitFor(
    '/readyz 503 naming the unreachable server for both branches',
    () => get('/readyz'),
    (r) => r.status === 503 && unreachable.test(r.text),
    30_000,
  );
  t.match(notReady.text, unreachable, 'both branches name the server they cannot reach');
  t.equal((await get('/healthz')).status, 200, 'still alive during the outage');
  // While the branch retries, its lag keeps moving (lag alerts can fire) and failures are counted.
  await sendRecords(
    Array.from({ length: 20 }, (_, i): [string, number, Buffer] => [
      E,
      0,
      json({ custid: 1, type: 'dep', date: 1587398600 + i, amt: 1 }),
    ]),
  );
  const during = await waitFor(
    'lag grows during the outage',
    async () => (await get('/metrics')).text,
    (text) => (sample(text, `zipbank_consumer_lag{branch="0",topic="${E}"}`) ?? 0) >= 21,
    30_000,
  );
  t.ok(
    (sample(during, 'zipbank_write_failures_total{branch="0",cause="outage"}') ?? 0) >= 1,
    'failed writes are counted by cause',
  );
  t.equal((await get('/readyz')).status, 503, 'still not ready');
  await proxy.up();
  await waitFor(
    '/readyz 200 again',
    () => get('/readyz'),
    (r) => r.status === 200,
    60_000,
  );
  await waitFor(
    'the waiting records posted',
    () => count(url, '"transaction"'),
    (n) => n === 51,
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});
