import t from 'tap';
import { readTopicWithKcat, runNode, withTopics } from './helpers/fixtures.js';
import { expectationOf, type LoadPlan } from '../src/lab/load/branch-load.js';

t.test('what produce reports equals what kcat reads back from the broker', async (t) => {
  const topics = await withTopics(t, 4);
  const result = await runNode('dist/lab/produce.js', [
    '--branches',
    '4',
    '--customers',
    '10',
    '--transactions',
    '200',
    '--seed',
    '7',
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ]);
  t.equal(result.code, 0, 'produce exits 0', { stderr: result.stderr });
  const summary = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
  t.equal(summary.totals.customers, 10);
  t.equal(summary.totals.transactions, 200);

  const customers = await readTopicWithKcat(topics.customersTopic);
  const transactions = await readTopicWithKcat(topics.transactionsTopic);
  t.equal(customers.length, 10, 'every customer is on the broker once');
  t.equal(transactions.length, 200, 'every transaction is on the broker once');

  for (const branch of summary.branches) {
    const mine = transactions.filter((r) => r.partition === branch.branch).map((r) => JSON.parse(r.value));
    const net = mine.reduce((sum, e) => sum + (e.type === 'dep' ? e.amt : -e.amt), 0);
    t.equal(mine.length, branch.transactions, `branch ${branch.branch}: transaction count`);
    t.equal(net, branch.netCents, `branch ${branch.branch}: net balance`);
    const custids = new Set(
      customers.filter((r) => r.partition === branch.branch).map((r) => JSON.parse(r.value).custid),
    );
    t.equal(custids.size, branch.customers, `branch ${branch.branch}: customers`);
    t.ok(
      mine.every((e) => custids.has(e.custid)),
      `branch ${branch.branch}: transactions are for the branch's own customers`,
    );
  }
  for (const c of customers) {
    const event = JSON.parse(c.value);
    t.same(Object.keys(event).sort(), ['createdate', 'custid', 'fname', 'lname'], 'customer event has the lab shape');
    t.equal(c.key, String(event.custid), 'keyed by customer id');
  }
});

t.test('the same seed sends the same events; the summary equals the plan', async (t) => {
  const plan: LoadPlan = {
    branches: 3,
    customers: 9,
    transactions: 90,
    seed: 42,
    firstCustid: 1,
    startDate: 1587398219,
    maxAmountCents: 100_000,
  };
  const topics = await withTopics(t, 3);
  const args = [
    '--branches',
    '3',
    '--customers',
    '9',
    '--transactions',
    '90',
    '--seed',
    '42',
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ];
  const first = await runNode('dist/lab/produce.js', args);
  const second = await runNode('dist/lab/produce.js', args);
  t.equal(first.code, 0, 'produce exits 0', { stderr: first.stderr });
  const a = JSON.parse(first.stdout.trim().split('\n').at(-1)!);
  const b = JSON.parse(second.stdout.trim().split('\n').at(-1)!);
  t.same(a.branches, b.branches);
  t.same(
    a.branches,
    [0, 1, 2].map((branch) => expectationOf(plan, branch)),
  );
  const records = await readTopicWithKcat(topics.transactionsTopic);
  const byPartition = (p: number) => records.filter((r) => r.partition === p).map((r) => r.value);
  for (const p of [0, 1, 2]) {
    const values = byPartition(p);
    t.same(
      values.slice(0, values.length / 2),
      values.slice(values.length / 2),
      `partition ${p}: both runs sent the same events in the same order`,
    );
  }
});

t.test("--value-format connect-json wraps the same events in Kafka Connect's schema envelope", async (t) => {
  const lab = await withTopics(t, 2);
  const connect = await withTopics(t, 2);
  const args = ['--branches', '2', '--customers', '4', '--transactions', '30', '--seed', '5'];
  const topicArgs = (topics: typeof lab) => [
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ];
  const plain = await runNode('dist/lab/produce.js', [...args, ...topicArgs(lab)]);
  const wrapped = await runNode('dist/lab/produce.js', [
    ...args,
    ...topicArgs(connect),
    '--value-format',
    'connect-json',
  ]);
  t.equal(wrapped.code, 0, 'produce exits 0', { stderr: wrapped.stderr });
  for (const kind of ['customersTopic', 'transactionsTopic'] as const) {
    const expected = await readTopicWithKcat(lab[kind]);
    const got = await readTopicWithKcat(connect[kind]);
    t.equal(got.length, expected.length, `${kind}: as many records`);
    for (const [i, record] of got.entries()) {
      const envelope = JSON.parse(record.value);
      t.same(envelope.payload, JSON.parse(expected[i]!.value), `${kind} ${i}: the same event as the payload`);
      t.equal(envelope.schema.type, 'struct');
      t.same(
        envelope.schema.fields.map((f: { field: string }) => f.field).sort(),
        Object.keys(envelope.payload).sort(),
        `${kind} ${i}: a schema field for every event field`,
      );
    }
  }
  t.equal(plain.code, 0);
});

t.test('bad options are all reported at once with exit status 2', async (t) => {
  const result = await runNode('dist/lab/produce.js', [
    '--branches',
    '0',
    '--rate',
    'fast',
    '--customers=-3',
    '--value-format',
    'avro',
  ]);
  t.equal(result.code, 2);
  t.match(result.stderr, /value-format must be one of lab, connect-json, not avro/);
  t.match(result.stderr, /branches must be between 1/);
  t.match(result.stderr, /rate must be a whole number/);
  t.match(result.stderr, /customers must be between 0/);
});
