// Issue 37, point 6: a topic deleted, created again and refilled while its branches keep
// fetching is found without a restart. The new topic may hold fewer records than a branch's
// stored offset (its next fetch is out of range) or more (its next fetch offset exists in the new
// topic, so the consumer could go on fetching there and take the new topic's records as if they
// followed the old ones: the new topic's first records would be lost without a word). Either way
// every record of the new topic is posted once, none of the old topic's rows moves, and the
// recreation is logged, counted and listed by `cli gaps list`, within a bound, by the same
// supervisor process.
import t from 'tap';
import { BROKERS, json, runNode, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { recreateTopic } from './helpers/recreate-topic.js';
import { count, ledgerInvariants, sample, SupervisorProcess, sql, waitFor } from './helpers/supervisor.js';

/** How long a running branch may take to find the new topic and post all of it. */
const FOUND_WITHIN_MS = 60_000;
/** Records before the recreation, per branch. */
const OLD = 40;
/** Records of the new topic per branch: fewer than the stored offset on 0, more on 1. */
const NEW = [10, 100] as const;

/** A deposit whose `date` (the ledger's occurred_at) identifies it among all of the test's records. */
const deposit = (custid: number, date: number) => json({ custid, type: 'dep', date, amt: 100 + (date % 1000) });
/** The dates of the records a branch gets: old ones before the recreation, new ones after. */
const datesOf = (era: 'old' | 'new', branch: number, n: number) =>
  Array.from({ length: n }, (_, i) => (era === 'old' ? 1_587_000_000 : 1_588_000_000) + branch * 100_000 + i);

/** A branch's ledger rows in offset order: the ledger offset and the record's date. */
const customer = (custid: number) => json({ custid, createdate: 1587398219, fname: 'Ada', lname: `L${custid}` });

/** Topics with `partitions` branches and a database of the test's own, and the CLI's environment for them. */
async function scratch(t: Parameters<typeof withTopics>[0], partitions: number) {
  const topics = await withTopics(t, partitions);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const env = { DATABASE_URL: url, KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };
  return { topics, url, C, E, env };
}

async function ledger(url: string, branch: number): Promise<{ offset: number; date: number }[]> {
  const rows = await sql<{ kafka_offset: string; d: string }>(
    url,
    `SELECT kafka_offset, extract(epoch FROM occurred_at)::bigint AS d FROM "transaction"
      WHERE kafka_partition = $1 ORDER BY kafka_offset`,
    [branch],
  );
  return rows.map((r) => ({ offset: Number(r.kafka_offset), date: Number(r.d) }));
}

interface GapView {
  topic: string;
  branch: number;
  kind: string;
  expectedOffset: number;
  acceptedAt: string | null;
}

/** What `cli gaps list --json` shows, the parts this test asserts on. */
async function gapsListed(env: Record<string, string>) {
  const gaps = await runNode('dist/cli.js', ['gaps', 'list', '--json'], env);
  if (gaps.code !== 0) throw new Error(`cli gaps list failed: ${gaps.stderr}`);
  return (JSON.parse(gaps.stdout) as GapView[]).map((g) => ({
    topic: g.topic,
    branch: g.branch,
    kind: g.kind,
    expectedOffset: g.expectedOffset,
    accepted: g.acceptedAt !== null,
  }));
}

t.test('a transactions topic recreated and refilled under running branches: found without a restart', async (t) => {
  const { topics, url, C, E, env } = await scratch(t, 2);
  await sendRecords([
    [C, 0, customer(10)],
    [C, 1, customer(11)],
    ...[0, 1].flatMap((b) => datesOf('old', b, OLD).map((d): [string, number, Buffer] => [E, b, deposit(10 + b, d)])),
  ]);
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0-1', '--linger-ms', '20']);
  await waitFor(
    'the old topic posted',
    () => count(url, '"transaction"'),
    (n) => n === 2 * OLD,
  );

  await recreateTopic(E, 2);
  const refilled = Date.now();
  await sendRecords(
    [0, 1].flatMap((b) => datesOf('new', b, NEW[b]!).map((d): [string, number, Buffer] => [E, b, deposit(10 + b, d)])),
  );
  const total = 2 * OLD + NEW[0] + NEW[1];
  const posted = await waitFor(
    'every record of the new topic posted',
    () => count(url, '"transaction"'),
    (n) => n >= total,
    FOUND_WITHIN_MS,
  ).catch(async (err: Error) => {
    // Which records are where, for the failure's message.
    const seen = await Promise.all([0, 1].map((b) => ledger(url, b)));
    throw new Error(
      `${err.message}\nbranch 0: ${JSON.stringify(seen[0]?.slice(OLD))}\nbranch 1: ${JSON.stringify(seen[1]?.slice(OLD))}\n${supervisor.tail(30)}`,
    );
  });
  t.equal(posted, total, 'no record more than was produced');
  t.comment(`the new topic was posted ${Date.now() - refilled} ms after it was refilled`);
  t.equal(supervisor.child.exitCode, null, 'the same supervisor, never restarted');

  for (const b of [0, 1]) {
    const rows = await ledger(url, b);
    const old = datesOf('old', b, OLD);
    const fresh = datesOf('new', b, NEW[b]!);
    t.same(
      rows.filter((r) => r.offset < OLD),
      old.map((date, i) => ({ offset: i, date })),
      `branch ${b}: the old topic's rows are untouched`,
    );
    t.same(
      rows.filter((r) => r.offset >= OLD),
      fresh.map((date, i) => ({ offset: OLD + i, date })),
      `branch ${b}: every record of the new topic once, in its order, at ledger offsets from the old topic's end up`,
    );
    const [balance] = await sql<{ balance_cents: string }>(url, 'SELECT balance_cents FROM balance WHERE custid = $1', [
      10 + b,
    ]);
    const expected = [...old, ...fresh].reduce((sum, d) => sum + 100 + (d % 1000), 0);
    t.equal(Number(balance?.balance_cents), expected, `branch ${b}: the balance counts every deposit once`);
  }
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0, 'no record twice');
  t.equal(invariants.balanceMismatches, 0, 'balances equal their ledger sums');
  t.equal(await count(url, 'rejected_event'), 0, 'nothing quarantined');
  t.equal(await count(url, 'parked_transaction'), 0, 'nothing parked');

  const listed = await gapsListed(env);
  t.same(
    listed.sort((a, b) => a.branch - b.branch),
    [0, 1].map((branch) => ({ topic: E, branch, kind: 'recreated', expectedOffset: OLD, accepted: true })),
    'cli gaps list shows the recreation on each branch, nothing to accept',
  );
  t.notOk(
    supervisor.logs().some((l) => /records of the new topic were committed/.test(String(l.msg))),
    "no record of the new topic was committed as if it followed the old topic's",
  );
  for (const l of supervisor.logs().filter((l) => /created again/.test(String(l.msg))))
    t.comment(`branch ${String(l.branch)}: ${String(l.msg).slice(0, 120)}`);
  const metrics = (await supervisor.get('/metrics')).text;
  for (const b of [0, 1]) {
    t.equal(sample(metrics, `zipbank_topic_recreations_total{branch="${b}"}`), 1, `branch ${b}: counted once`);
    t.equal(sample(metrics, `zipbank_offset_gaps_open{branch="${b}"}`), 0, `branch ${b}: no open gap stops it`);
    t.ok(
      await supervisor.logLine(
        (l) => l.level === 'error' && l.branch === b && /was deleted and created again/.test(String(l.msg)),
      ),
      `branch ${b}: an error log line says what happened`,
    );
  }

  // The new topic is the one committed from now: more of it posts, nothing is adopted twice.
  await sendRecords([0, 1].map((b): [string, number, Buffer] => [E, b, deposit(10 + b, 1_589_000_000 + b)]));
  await waitFor(
    'one more record per branch posted',
    () => count(url, '"transaction"'),
    (n) => n === total + 2,
    30_000,
  );
  t.equal((await gapsListed(env)).length, 2, 'no second recreation recorded');
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});

t.test('a customers topic recreated and refilled with more customers under a running branch', async (t) => {
  const { topics, url, C, E, env } = await scratch(t, 1);
  // Old topic: customers 1-5 (offsets 0-4), one deposit each.
  const oldCustomers = [1, 2, 3, 4, 5];
  await sendRecords([
    ...oldCustomers.map((c): [string, number, Buffer] => [C, 0, customer(c)]),
    ...oldCustomers.map((c): [string, number, Buffer] => [E, 0, deposit(c, 1_587_000_000 + c)]),
  ]);
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await waitFor(
    'the old customers and their deposits posted',
    () => count(url, '"transaction"'),
    (n) => n === oldCustomers.length,
  );

  // New topic: customers 101-120 (offsets 0-19, past the stored offset 5), a deposit each.
  await recreateTopic(C, 1);
  const newCustomers = Array.from({ length: 20 }, (_, i) => 101 + i);
  await sendRecords(newCustomers.map((c): [string, number, Buffer] => [C, 0, customer(c)]));
  await sendRecords(newCustomers.map((c): [string, number, Buffer] => [E, 0, deposit(c, 1_588_000_000 + c)]));
  await waitFor(
    "every new customer's deposit posted",
    () => count(url, '"transaction"'),
    (n) => n === oldCustomers.length + newCustomers.length,
    FOUND_WITHIN_MS,
  ).catch(async (err: Error) => {
    const customers = await sql<{ custid: string; kafka_offset: string }>(
      url,
      'SELECT custid, kafka_offset FROM customer ORDER BY kafka_offset',
    );
    throw new Error(
      `${err.message}\ncustomers: ${JSON.stringify(customers)}\nparked: ${await count(url, 'parked_transaction')}\n${supervisor.tail(30)}`,
    );
  });
  t.equal(supervisor.child.exitCode, null, 'the same supervisor, never restarted');
  const customers = await sql<{ custid: string; kafka_offset: string }>(
    url,
    'SELECT custid, kafka_offset FROM customer ORDER BY kafka_offset',
  );
  t.same(
    customers.map((c) => [Number(c.custid), Number(c.kafka_offset)]),
    [...oldCustomers.map((c, i) => [c, i]), ...newCustomers.map((c, i) => [c, oldCustomers.length + i])],
    "every customer of both topics once, the new topic's from the old topic's end up",
  );
  t.equal(await count(url, 'parked_transaction'), 0, 'no deposit waits for a customer');
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0);
  t.equal(invariants.balanceMismatches, 0);
  t.same(
    await gapsListed(env),
    [{ topic: C, branch: 0, kind: 'recreated', expectedOffset: oldCustomers.length, accepted: true }],
    'cli gaps list shows the recreation, nothing to accept',
  );
  const metrics = (await supervisor.get('/metrics')).text;
  t.equal(sample(metrics, 'zipbank_topic_recreations_total{branch="0"}'), 1, 'counted');
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});
