// Issue 25, point 3: a Postgres connection that stops answering without being closed (a stale
// route, a dropped NAT entry) is dropped within the response timeout and the write is retried
// on a new connection, so the branches go on in seconds instead of after the kernel's TCP
// give-up (about 15 minutes). /healthz stays 200 meanwhile: liveness fails only for a branch
// whose loop is really stuck, which the second test makes happen with an injected fault.
import t from 'tap';
import { json, runNode, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sample, SupervisorProcess, waitFor } from './helpers/supervisor.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

t.test('a connection that never answers is dropped within the bound and the branches go on', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const { proxy, url: proxiedUrl } = await TcpProxy.forDatabase(t, url);
  const produce = (seed: number, first: number) =>
    runNode('dist/lab/produce.js', [
      ...['--branches', '2', '--customers', '10', '--transactions', '2000'],
      ...['--seed', String(seed), '--first-custid', String(first)],
      ...['--customers-topic', topics.customersTopic, '--transactions-topic', topics.transactionsTopic],
    ]);
  t.equal((await produce(1, 1)).code, 0);
  const supervisor = new SupervisorProcess(t, topics, proxiedUrl, [
    ...['--partitions', '0-1', '--batch-size', '200'],
    ...['--database-response-timeout-ms', '5000', '--liveness-timeout-ms', '15000'],
  ]);
  await waitFor(
    'first load ingested',
    () => count(url, '"transaction"'),
    (n) => n === 2000,
  );

  // Every connection open now goes silent; new ones work.
  t.ok(proxy.freeze() >= 2, 'the branches’ open connections stop answering');
  const frozenAt = Date.now();
  const health: number[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      health.push((await supervisor.get('/healthz')).status);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  t.equal((await produce(2, 100)).code, 0, 'more records arrive');
  await waitFor(
    'second load ingested over new connections',
    () => count(url, '"transaction"'),
    (n) => n === 4000,
    60_000,
  );
  const tookSeconds = (Date.now() - frozenAt) / 1000;
  sampling = false;
  await sampler;
  t.ok(tookSeconds < 45, `the branches went on ${tookSeconds.toFixed(1)} s after the freeze, not after 15 minutes`);
  const dropped = await supervisor.logLine(
    (l) => l.level === 'warn' && /^no answer from the database in 5 s: connection dropped/.test(String(l.msg)),
  );
  t.ok(dropped, 'a log line names the silent connection and the setting');
  t.ok(
    health.length > 0 && health.every((s) => s === 200),
    `/healthz stayed 200 while a connection hung (${health.length} samples)`,
  );
  t.equal(await count(url, 'rejected_event'), 0, 'nothing rejected');
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0, 'nothing posted twice');
  t.equal(invariants.balanceMismatches, 0);
  t.notOk(
    supervisor.logs().some((l) => l.msg === 'branch worker died'),
    'no worker died',
  );
  const { code } = await supervisor.kill('SIGTERM');
  t.equal(code, 0);
});

t.test('/healthz fails for a branch whose loop is stuck, and only for it', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const supervisor = new SupervisorProcess(
    t,
    topics,
    url,
    ['--partitions', '0-1', '--liveness-timeout-ms', '4000', '--database-response-timeout-ms', '2000'],
    { ZIPBANK_FAULT_HANG_BRANCH: '1:1' },
  );
  const deposit = (custid: number, i: number) => json({ custid, type: 'dep', date: 1587398300 + i, amt: 100 });
  await waitFor(
    'both branches ready',
    () => supervisor.get('/readyz'),
    (r) => r.status === 200,
  );
  t.equal((await supervisor.get('/healthz')).status, 200, 'healthy before the fault');
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    [C, 1, json({ custid: 2, createdate: 1587398219, fname: 'Grace', lname: 'Hopper' })],
  ]);
  const failing = await waitFor(
    '/healthz 503 naming branch 1',
    () => supervisor.get('/healthz'),
    (r) => r.status === 503,
    30_000,
  );
  t.match(failing.text, /branch 1: no progress for \d+ s \(bound 4 s\)/, 'it names the stuck branch and the bound');
  t.notMatch(failing.text, /branch 0/, 'and not the branch that moves');
  t.ok(
    await supervisor.logLine((l) => l.level === 'error' && l.branch === 1 && /liveness bound/.test(String(l.msg))),
    'an error log line says so once',
  );
  const metrics = (await supervisor.get('/metrics')).text;
  t.ok((sample(metrics, 'zipbank_branch_silent_seconds{branch="1"}') ?? 0) > 4, 'the silence of branch 1 is exported');
  t.ok((sample(metrics, 'zipbank_branch_silent_seconds{branch="0"}') ?? 99) < 4, 'branch 0 is not silent');

  await sendRecords(Array.from({ length: 5 }, (_, i): [string, number, Buffer] => [E, 0, deposit(1, i)]));
  await waitFor(
    'branch 0 goes on',
    () => count(url, '"transaction"', 'custid = 1'),
    (n) => n === 5,
    30_000,
  );
  const { code } = await supervisor.kill('SIGTERM');
  t.equal(code, 0, 'the stuck call ends with the stop, and the supervisor exits cleanly');
});
