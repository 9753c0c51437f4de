// #5 point 5: two supervisors on the same branches (a rolling update, or two replicas). The
// database lease lets one write each branch; the other stands by and takes over when the owner
// dies (SIGKILL: within the lease TTL plus a poll) or stops (SIGTERM: at once).
import t from 'tap';
import { runNode, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, SupervisorProcess, waitFor } from './helpers/supervisor.js';

/** Documented bound (docs/deploy.md): lease TTL 10 s + standby poll 1 s + consumer start. */
const TAKEOVER_BOUND_MS = 20_000;

t.test(
  'a standby supervisor takes over a killed owner within the bound, and every record lands exactly once',
  async (t) => {
    const topics = await withTopics(t, 2);
    const url = await withDatabase(t);
    const produce = (seed: number, first: number, rate: number) =>
      runNode('dist/lab/produce.js', [
        '--branches',
        '2',
        '--customers',
        '10',
        '--transactions',
        '6000',
        '--rate',
        String(rate),
        '--seed',
        String(seed),
        '--first-custid',
        String(first),
        '--customers-topic',
        topics.customersTopic,
        '--transactions-topic',
        topics.transactionsTopic,
      ]);
    const args = ['--partitions', '0-1', '--batch-size', '200'];

    const first = new SupervisorProcess(t, topics, url, args);
    await waitFor(
      'the first supervisor owns both branches',
      async () => first.logs().filter((l) => l.msg === 'branch worker started').length,
      (n) => n === 2,
    );
    const second = new SupervisorProcess(t, topics, url, args);
    await waitFor(
      'the second stands by on both branches',
      async () => second.logs().filter((l) => l.msg === 'another supervisor owns this branch; standing by').length,
      (n) => n === 2,
    );
    const readyz = await fetch(`http://127.0.0.1:${await second.httpPort()}/readyz`);
    t.equal(readyz.status, 200, 'a standby is ready (a rolling update can proceed)');
    t.match(await readyz.text(), /standing by .*branches 0, 1/);

    const load = produce(1, 1, 3000); // about 2 s of traffic, the kill lands in the middle
    await waitFor(
      'ingestion under way',
      () => count(url, '"transaction"'),
      (n) => n > 500,
    );
    await first.kill('SIGKILL');
    const killedAt = Date.now();
    t.equal((await load).code, 0, 'the load was produced');
    await waitFor(
      'the standby owns both branches',
      async () => second.logs().filter((l) => l.msg === 'branch worker started').length,
      (n) => n === 2,
      30_000,
    );
    const takeoverMs = Date.now() - killedAt;
    t.ok(
      takeoverMs <= TAKEOVER_BOUND_MS,
      `takeover after SIGKILL within ${TAKEOVER_BOUND_MS} ms (took ${takeoverMs} ms)`,
    );
    await waitFor(
      'the whole load',
      () => count(url, '"transaction"'),
      (n) => n >= 6000,
      60_000,
    );
    t.ok(
      second.logs().every((l) => l.msg !== 'branch worker started' || Number(l.epoch) >= 2),
      'the takeover bumped the lease epoch',
    );

    // A third supervisor joins; the owner stops cleanly; the hand-over is immediate.
    const third = new SupervisorProcess(t, topics, url, args);
    await waitFor(
      'the third stands by',
      async () => third.logs().filter((l) => l.msg === 'another supervisor owns this branch; standing by').length,
      (n) => n === 2,
    );
    t.equal((await produce(2, 100, 0)).code, 0);
    const stoppedAt = Date.now();
    t.equal((await second.kill('SIGTERM')).code, 0, 'the owner stops cleanly');
    await waitFor(
      'the third owns both branches',
      async () => third.logs().filter((l) => l.msg === 'branch worker started').length,
      (n) => n === 2,
      30_000,
    );
    t.ok(Date.now() - stoppedAt < 5_000, `hand-over after SIGTERM is quick (${Date.now() - stoppedAt} ms)`);
    await waitFor(
      'both loads',
      () => count(url, '"transaction"'),
      (n) => n >= 12000,
      60_000,
    );

    t.equal(await count(url, '"transaction"'), 12000, 'every transaction exactly once');
    const invariants = await ledgerInvariants(url);
    t.equal(invariants.duplicates, 0);
    t.equal(invariants.balanceMismatches, 0, 'balances equal their ledgers');
    t.equal((await third.kill('SIGTERM')).code, 0);
  },
);

t.test('branches split across two supervisors are each owned by one, and every record lands once', async (t) => {
  const topics = await withTopics(t, 4);
  const url = await withDatabase(t);
  const low = new SupervisorProcess(t, topics, url, ['--partitions', '0-1']);
  const high = new SupervisorProcess(t, topics, url, ['--partitions', '2-3']);
  const produced = await runNode('dist/lab/produce.js', [
    '--branches',
    '4',
    '--customers',
    '20',
    '--transactions',
    '8000',
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ]);
  t.equal(produced.code, 0);
  await waitFor(
    'all records',
    () => count(url, '"transaction"'),
    (n) => n >= 8000,
    60_000,
  );
  const started = (s: SupervisorProcess) =>
    s
      .logs()
      .filter((l) => l.msg === 'branch worker started')
      .map((l) => l.branch)
      .sort();
  t.same(started(low), [0, 1], 'the first supervisor owns branches 0 and 1');
  t.same(started(high), [2, 3], 'the second owns branches 2 and 3');
  t.notOk(
    [...low.logs(), ...high.logs()].some((l) => l.msg === 'another supervisor owns this branch; standing by'),
    'nobody stands by',
  );
  t.equal(await count(url, '"transaction"'), 8000);
  t.equal((await ledgerInvariants(url)).balanceMismatches, 0);
  t.equal((await low.kill('SIGTERM')).code, 0);
  t.equal((await high.kill('SIGTERM')).code, 0);
});

t.test(
  'an owner frozen past the lease TTL and thawed commits nothing, stands by cleanly, and takes the branches back later',
  async (t) => {
    const topics = await withTopics(t, 2);
    const url = await withDatabase(t);
    const produce = (seed: number, first: number, rate: number, transactions: number) =>
      runNode('dist/lab/produce.js', [
        '--branches',
        '2',
        '--customers',
        '10',
        '--transactions',
        String(transactions),
        '--rate',
        String(rate),
        '--seed',
        String(seed),
        '--first-custid',
        String(first),
        '--customers-topic',
        topics.customersTopic,
        '--transactions-topic',
        topics.transactionsTopic,
      ]);
    const args = ['--partitions', '0-1', '--batch-size', '200'];
    const frozen = new SupervisorProcess(t, topics, url, args);
    await waitFor(
      'the first supervisor owns both branches',
      async () => frozen.logs().filter((l) => l.msg === 'branch worker started').length,
      (n) => n === 2,
    );
    const other = new SupervisorProcess(t, topics, url, args);
    await waitFor(
      'the second stands by',
      async () => other.logs().filter((l) => l.msg === 'another supervisor owns this branch; standing by').length,
      (n) => n === 2,
    );

    const load = produce(3, 1, 1000, 20000); // 20 s of traffic, the freeze in the middle
    await waitFor(
      'ingestion under way',
      () => count(url, '"transaction"'),
      (n) => n > 500,
    );
    frozen.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    await waitFor(
      'the other takes both branches over',
      async () => other.logs().filter((l) => l.msg === 'branch worker started').length,
      (n) => n === 2,
      30_000,
    );
    // Frozen mid-batch, the owner may hold the lease row lock in an open transaction: the server
    // ends it after idle_in_transaction_session_timeout (the lease TTL), so the bound still holds.
    const takeoverMs = Date.now() - frozenAt;
    t.ok(
      takeoverMs <= TAKEOVER_BOUND_MS,
      `takeover from a frozen owner within ${TAKEOVER_BOUND_MS} ms (took ${takeoverMs} ms)`,
    );
    await new Promise((r) => setTimeout(r, 5_000)); // well past the 10 s TTL by now
    frozen.child.kill('SIGCONT');
    await waitFor(
      'the thawed owner stands by on both branches',
      async () => frozen.logs().filter((l) => l.msg === 'lost the branch lease to another owner; standing by').length,
      (n) => n === 2,
      30_000,
    );
    t.equal((await load).code, 0, 'the load was produced');
    await waitFor(
      'the whole load',
      () => count(url, '"transaction"'),
      (n) => n >= 20000,
      60_000,
    );
    t.equal(frozen.child.exitCode, null, 'the thawed process is alive');
    const thawedLogs = frozen.logs();
    t.notOk(
      thawedLogs.some((l) => l.msg === 'branch worker died' || l.msg === 'restarting branch worker'),
      'no worker failed or was restarted',
    );
    t.notOk(
      frozen.lines.some((l) => /Assertion failed|uv_loop_close|Segmentation/.test(l)),
      'no native abort',
    );

    // The thawed one is now the standby: when the other dies, it takes the branches back.
    await other.kill('SIGKILL');
    const resumed = produce(4, 100, 0, 4000);
    await waitFor(
      'the thawed supervisor owns both branches again',
      async () => frozen.logs().filter((l) => l.msg === 'branch worker started').length,
      (n) => n === 4,
      30_000,
    );
    t.equal((await resumed).code, 0);
    await waitFor(
      'both loads',
      () => count(url, '"transaction"'),
      (n) => n >= 24000,
      60_000,
    );
    t.equal(await count(url, '"transaction"'), 24000, 'every transaction exactly once');
    const invariants = await ledgerInvariants(url);
    t.equal(invariants.duplicates, 0);
    t.equal(invariants.balanceMismatches, 0, 'balances equal their ledgers');
    t.equal((await frozen.kill('SIGTERM')).code, 0, 'and it still stops cleanly');
  },
);
