// Guarantees 1 and 5: SIGKILL at arbitrary moments loses and duplicates nothing; SIGTERM stops
// cleanly with exit 0 within the documented bound.
import t from 'tap';
import { runNode, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sql, SupervisorProcess, waitFor } from './helpers/supervisor.js';

t.test('killing the supervisor with SIGKILL mid-load and restarting leaves every record exactly once', async (t) => {
  const topics = await withTopics(t, 4);
  const url = await withDatabase(t);
  const produced = await runNode('dist/lab/produce.js', [
    '--branches',
    '4',
    '--customers',
    '40',
    '--transactions',
    '40000',
    '--seed',
    '3',
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ]);
  t.equal(produced.code, 0, 'produce succeeds', { stderr: produced.stderr });
  const summary = JSON.parse(produced.stdout.trim().split('\n').at(-1)!);

  // Small batches, so each kill lands among many commits.
  const args = ['--partitions', '0-3', '--batch-size', '200', '--linger-ms', '20'];
  const kills: number[] = [];
  // Each run is killed as soon as it has posted a few thousand more rows, so every kill lands
  // mid-load whatever the machine's speed (fixed delays once let a fast start drain it all).
  for (const step of [3_000, 5_000, 8_000]) {
    const before = kills.at(-1) ?? 0;
    const run = new SupervisorProcess(t, topics, url, args);
    await waitFor(
      `${step} more rows in this run`,
      () => count(url, '"transaction"'),
      (n) => n >= before + step,
      60_000,
      10,
    );
    const { signal } = await run.kill('SIGKILL');
    t.equal(signal, 'SIGKILL', `run ${kills.length + 1} was killed`);
    kills.push(await count(url, '"transaction"'));
  }
  t.ok(
    kills.some((n) => n < 40000),
    `at least one kill landed mid-load (ledger sizes at the kills: ${kills.join(', ')})`,
  );

  const last = new SupervisorProcess(t, topics, url, args);
  await waitFor(
    'the whole load in the ledger',
    () => count(url, '"transaction"'),
    (n) => n >= 40000,
    120_000,
  );

  const invariants = await ledgerInvariants(url);
  t.equal(await count(url, '"transaction"'), 40000, 'every transaction posted once');
  t.equal(invariants.duplicates, 0, 'no Kafka record posted twice');
  t.equal(invariants.balanceMismatches, 0, 'every balance equals the sum of its ledger');
  t.equal(invariants.netCents, summary.totals.netCents, 'net of all balances equals what was produced');
  t.equal(await count(url, 'customer'), 40, 'every customer once');
  t.equal(await count(url, 'parked_transaction'), 0, 'nothing left parked');
  t.equal(await count(url, 'rejected_event'), 0, 'nothing rejected');
  const offsets = await sql<{ topic: string; partition: number; next_offset: string }>(
    url,
    'SELECT topic, "partition", next_offset FROM consumer_offset ORDER BY 1, 2',
  );
  const txOffsets = offsets.filter((o) => o.topic === topics.transactionsTopic).map((o) => Number(o.next_offset));
  t.same(
    txOffsets,
    summary.branches.map((b: { transactions: number }) => b.transactions),
    'stored offsets are at the end of each partition',
  );

  // Guarantee 5: a clean stop under SIGTERM, once every worker is up (the last kill may have
  // landed after the whole load was in, so this run may have nothing left to do).
  await waitFor(
    'all four workers started',
    async () => last.logs().filter((l) => l.msg === 'branch worker started').length,
    (n) => n === 4,
  );
  const stopStarted = Date.now();
  const { code } = await last.kill('SIGTERM');
  const stopMs = Date.now() - stopStarted;
  t.equal(code, 0, 'SIGTERM exits 0');
  t.ok(stopMs < 30_000, `stopped within the 30 s bound (took ${stopMs} ms)`);
  t.ok(
    last.logs().some((l) => l.msg === 'supervisor stopped cleanly'),
    'says it stopped cleanly',
  );
  t.ok(
    last.logs().filter((l) => l.msg === 'branch worker stopping').length === 4,
    'each of the 4 workers disconnected',
  );
});

t.test('SIGTERM in the middle of a heavy load stops cleanly and loses nothing', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const produced = await runNode('dist/lab/produce.js', [
    '--branches',
    '2',
    '--customers',
    '10',
    '--transactions',
    '30000',
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ]);
  t.equal(produced.code, 0);
  const args = ['--partitions', '0,1', '--batch-size', '500'];
  const first = new SupervisorProcess(t, topics, url, args);
  await waitFor(
    'some commits',
    () => count(url, '"transaction"'),
    (n) => n > 0,
  );
  const stopStarted = Date.now();
  const { code } = await first.kill('SIGTERM');
  t.equal(code, 0, 'exit 0');
  t.ok(Date.now() - stopStarted < 30_000, 'within the bound');
  const atStop = await count(url, '"transaction"');
  new SupervisorProcess(t, topics, url, args);
  await waitFor(
    'the rest',
    () => count(url, '"transaction"'),
    (n) => n >= 30000,
    120_000,
  );
  const invariants = await ledgerInvariants(url);
  t.equal(await count(url, '"transaction"'), 30000, `all posted once (${atStop} before the stop)`);
  t.equal(invariants.duplicates, 0);
  t.equal(invariants.balanceMismatches, 0);
});

t.test('stored offsets moved back by hand: the replayed records are skipped, not posted twice', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const produced = await runNode('dist/lab/produce.js', [
    '--branches',
    '2',
    '--customers',
    '10',
    '--transactions',
    '4000',
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ]);
  t.equal(produced.code, 0);
  const summary = JSON.parse(produced.stdout.trim().split('\n').at(-1)!);
  const args = ['--partitions', '0,1', '--batch-size', '500'];
  const first = new SupervisorProcess(t, topics, url, args);
  await waitFor(
    'the whole load',
    () => count(url, '"transaction"'),
    (n) => n >= 4000,
  );
  t.equal((await first.kill('SIGTERM')).code, 0);
  const balancesBefore = await sql<{ custid: string; balance_cents: string }>(
    url,
    'SELECT custid, balance_cents FROM balance ORDER BY custid',
  );

  // Only the transactions topic moves back, so the replay is customer-free: the fast path.
  await sql(url, 'UPDATE consumer_offset SET next_offset = next_offset - 700 WHERE topic = $1', [
    topics.transactionsTopic,
  ]);
  const second = new SupervisorProcess(t, topics, url, args);
  await waitFor(
    'offsets back at the end',
    async () => {
      const rows = await sql<{ next_offset: string }>(
        url,
        'SELECT next_offset FROM consumer_offset WHERE topic = $1 ORDER BY "partition"',
        [topics.transactionsTopic],
      );
      return rows.map((r) => Number(r.next_offset));
    },
    (offsets) => offsets.join() === summary.branches.map((b: { transactions: number }) => b.transactions).join(),
  );
  t.equal((await second.kill('SIGTERM')).code, 0);

  t.equal(await count(url, '"transaction"'), 4000, 'still every transaction once');
  t.same(
    await sql(url, 'SELECT custid, balance_cents FROM balance ORDER BY custid'),
    balancesBefore,
    'no balance changed',
  );
  const skipped = second
    .logs()
    .filter((l) => String(l.msg).startsWith('records already in the ledger were skipped'))
    .reduce((n, l) => n + Number(l.alreadyPosted), 0);
  t.equal(skipped, 1400, 'the worker reports each replayed record as skipped');
  t.equal((await ledgerInvariants(url)).balanceMismatches, 0);
});
