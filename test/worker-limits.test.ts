// Issue 13, point 6: memory is bounded by bytes, not counts. A batch stops growing at
// --max-batch-bytes, and a worker thread that reaches its V8 heap limit (--worker-heap-mb) is
// ended and restarted on its own, while the process and the other branches go on.
import t from 'tap';
import { json, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, sample, SupervisorProcess, waitFor } from './helpers/supervisor.js';

t.test('a batch is capped by bytes as well as records', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const pad = 'x'.repeat(60_000); // about 60 KB a record, under the 64 KiB payload limit
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    ...Array.from({ length: 40 }, (_, i): [string, number, Buffer] => [
      E,
      0,
      json({ custid: 1, type: 'dep', date: 1587398300 + i, amt: 100, pad }),
    ]),
  ]);
  // 2,000 records a batch would be allowed by count; 256 KiB allows about five of these.
  const supervisor = new SupervisorProcess(t, topics, url, [
    '--partitions',
    '0',
    '--batch-size',
    '2000',
    '--max-batch-bytes',
    '262144',
    '--linger-ms',
    '200',
  ]);
  await waitFor(
    'all posted',
    () => count(url, '"transaction"'),
    (n) => n === 40,
    60_000,
  );
  // Batches reach the metrics up to 250 ms after their commit (src/ingest/batch-reports.ts).
  const metrics = await waitFor(
    'every record in the metrics',
    async () => (await supervisor.get('/metrics')).text,
    (text) => sample(text, 'zipbank_records_consumed_total{branch="0"}') === 41,
    10_000,
  );
  const batches = sample(metrics, 'zipbank_batch_size_count{branch="0"}') ?? 0;
  t.ok(batches >= 8, `the 41 records took at least 8 batches (${batches})`);
  t.equal(
    sample(metrics, 'zipbank_batch_size_bucket{le="10",branch="0"}'),
    batches,
    'no batch held more than 10 records',
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});

t.test('a worker that reaches its heap limit is restarted; the process and other branches go on', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    [E, 1, json({ custid: 1, type: 'dep', date: 1587398300, amt: 100 })],
  ]);
  const supervisor = new SupervisorProcess(
    t,
    topics,
    url,
    ['--partitions', '0-1', '--worker-heap-mb', '64', '--linger-ms', '20'],
    { ZIPBANK_FAULT_HEAP_BRANCH: '1:1' },
  );
  await waitFor(
    'branch 1 hit its heap limit and was restarted',
    async () => supervisor.logs().filter((l) => l.msg === 'restarting branch worker' && l.branch === 1).length,
    (n) => n >= 1,
    60_000,
  );
  const died = supervisor.logs().find((l) => l.msg === 'branch worker died' && l.branch === 1);
  t.match(JSON.stringify(died?.err), /ERR_WORKER_OUT_OF_MEMORY/, 'the worker was ended by its heap limit');
  // Branch 0 keeps posting meanwhile.
  await sendRecords(
    Array.from({ length: 10 }, (_, i): [string, number, Buffer] => [
      E,
      0,
      json({ custid: 1, type: 'dep', date: 1587398400 + i, amt: 100 }),
    ]),
  );
  await waitFor(
    'branch 0 posts',
    () => count(url, '"transaction"', 'kafka_partition = 0'),
    (n) => n === 10,
    30_000,
  );
  t.equal(supervisor.child.exitCode, null, 'the process is alive');
  const metrics = (await supervisor.get('/metrics')).text;
  t.ok((sample(metrics, 'zipbank_worker_restarts_total{branch="1"}') ?? 0) >= 1, 'the restart is counted');
  t.equal(sample(metrics, 'zipbank_worker_restarts_total{branch="0"}'), 0, 'branch 0 was not touched');
  t.equal((await supervisor.kill('SIGTERM')).code, 0, 'and it stops cleanly');
});

t.test("a worker thread's young generation stays within --worker-young-mb, and /metrics shows it", async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    ...Array.from({ length: 200 }, (_, i): [string, number, Buffer] => [
      E,
      0,
      json({ custid: 1, type: 'dep', date: 1587398300 + i, amt: 100 }),
    ]),
  ]);
  // 3 MB: two 1 MB semi-spaces. Left to V8, loading the worker alone grows them to 8 MB.
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--worker-young-mb', '3']);
  await waitFor(
    'all posted',
    () => count(url, '"transaction"'),
    (n) => n === 200,
    60_000,
  );
  const young = await waitFor(
    'the heap figures',
    async () => sample((await supervisor.get('/metrics')).text, 'zipbank_worker_heap_bytes{branch="0",space="young"}'),
    (v) => v !== undefined,
    30_000,
  );
  const total =
    sample((await supervisor.get('/metrics')).text, 'zipbank_worker_heap_bytes{branch="0",space="total"}') ?? 0;
  t.ok(young! > 0 && young! <= 3 * 1_048_576, `young generation ${(young! / 1_048_576).toFixed(1)} MB, within 3 MB`);
  t.ok(total > young!, `the whole heap (${(total / 1_048_576).toFixed(1)} MB) is larger`);
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});
