// Issue 26, point 8: `cli audit` turns "exactly once" into a check anyone can run. The rule for
// one offset is pure and tested as such; the command is tested against the real broker and
// database on a branch with every kind of record, then with the ledger tampered with.
import t from 'tap';
import {
  BROKERS,
  deleteRecordsBefore,
  json,
  runNode,
  sendRecords,
  withDatabase,
  withTopics,
} from './helpers/fixtures.js';
import { SupervisorProcess, sql, waitFor } from './helpers/supervisor.js';
import { accountFor } from '../src/cli/offset-accounting.js';

t.test('one offset: accounted for once, or what is wrong with it', async (t) => {
  const facts = {
    rows: [],
    inKafka: true,
    deleted: false,
    gapAccepted: false,
    unread: false,
    repeatOfKnownCustomer: false,
  };
  t.same(accountFor({ ...facts, rows: ['ledger'] }), { account: 'ledger' });
  t.same(accountFor({ ...facts, rows: ['ledger', 'parked'] }), {
    problem: 'accounted for more than once: ledger and parked rows',
  });
  t.same(accountFor(facts), { problem: 'read, but no row accounts for it' });
  t.same(accountFor({ ...facts, repeatOfKnownCustomer: true }), { account: 'repeat' });
  t.same(accountFor({ ...facts, unread: true }), { account: 'unread' });
  t.match(accountFor({ ...facts, unread: true, rows: ['ledger'] }), { problem: /past the stored offset/ });
  t.same(accountFor({ ...facts, inKafka: false }), { account: 'marker' });
  t.match(accountFor({ ...facts, inKafka: false, rows: ['ledger'] }), { problem: /where Kafka holds no record/ });
  t.same(accountFor({ ...facts, inKafka: false, deleted: true, rows: ['ledger'] }), { account: 'ledger' });
  t.same(accountFor({ ...facts, inKafka: false, deleted: true, gapAccepted: true }), { account: 'gap' });
  t.match(accountFor({ ...facts, inKafka: false, deleted: true }), { problem: /no accepted gap/ });
});

t.test('cli audit accounts for every offset of a branch, and finds a tampered ledger', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const env = { DATABASE_URL: url, KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };
  const ada = json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' });
  const deposit = (custid: number, i: number) => json({ custid, type: 'dep', date: 1587398300 + i, amt: 100 });
  await sendRecords([
    [C, 0, ada],
    [C, 0, ada], // a repeat with the same data: no row of its own
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Eve', lname: 'Other' })], // a conflict: rejected
    [C, 0, json({ custid: 2, createdate: 1587398219, fname: 'Grace', lname: 'Hopper' })],
    ...Array.from({ length: 30 }, (_, i): [string, number, Buffer] => [E, 0, deposit(1 + (i % 2), i)]),
    [E, 0, Buffer.from('not json')],
    ...Array.from({ length: 3 }, (_, i): [string, number, Buffer] => [E, 0, deposit(99, 100 + i)]), // parked
  ]);
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await waitFor(
    'both topics committed to their ends',
    async () =>
      (await sql<{ next_offset: string }>(url, 'SELECT next_offset FROM consumer_offset ORDER BY topic')).map((r) =>
        Number(r.next_offset),
      ),
    (offsets) => offsets.join() === '4,34',
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
  await sendRecords(Array.from({ length: 5 }, (_, i): [string, number, Buffer] => [E, 0, deposit(1, 200 + i)]));

  const audit = () => runNode('dist/cli.js', ['audit', '--branch', '0'], env);
  const clean = await audit();
  t.equal(clean.code, 0, clean.stderr);
  t.match(
    clean.stdout,
    new RegExp(
      `${C}\\[0\\] offsets 0 to 3 \\(stored next offset 4\\): 0 ledger, 2 customer, 0 parked, 1 rejected, 1 repeated customers, 0 in accepted gaps, 0 markers, 0 not read yet; 0 discrepancies`,
    ),
  );
  t.match(
    clean.stdout,
    new RegExp(
      `${E}\\[0\\] offsets 0 to 38 \\(stored next offset 34\\): 30 ledger, 0 customer, 3 parked, 1 rejected, 0 repeated customers, 0 in accepted gaps, 0 markers, 5 not read yet; 0 discrepancies`,
    ),
  );
  t.match(clean.stdout, /balances of the 2 customers created on branch 0: every one equals its ledger sum/);
  t.match(clean.stdout, /audit passed/);

  // Retention deletes records that were posted: their rows still account for them.
  await deleteRecordsBefore(E, 0, 10);
  const afterRetention = await audit();
  t.equal(afterRetention.code, 0, 'records deleted after they were posted are still accounted for');
  t.match(afterRetention.stdout, /30 ledger, 0 customer, 3 parked, 1 rejected/);

  // Tampering: a ledger row removed, and a parked row added where a ledger row is.
  await sql(url, `DELETE FROM "transaction" WHERE kafka_topic = $1 AND kafka_offset = 12`, [E]);
  await sql(
    url,
    `INSERT INTO parked_transaction (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset)
     VALUES (1, 'deposit', 100, now(), $1, 0, 20)`,
    [E],
  );
  const tampered = await audit();
  t.equal(tampered.code, 3, 'exit 3 on any discrepancy');
  t.match(tampered.stdout, /offset 12: read, but no row accounts for it/);
  t.match(tampered.stdout, /offset 20: accounted for more than once: (ledger and parked|parked and ledger) rows/);
  t.match(
    tampered.stdout,
    /customer 1: balance 1500 \(15 transactions\), ledger 1400 \(14\)/,
    'the balance no longer matches',
  );
  t.match(tampered.stdout, /audit FAILED: 3 discrepancies/);

  const asJson = await runNode('dist/cli.js', ['audit', '--branch', '0', '--from', '30', '--json'], env);
  t.equal(asJson.code, 3);
  const report = JSON.parse(asJson.stdout) as {
    topics: { topic: string; from: number; counts: Record<string, number> }[];
  };
  const transactions = report.topics.find((x) => x.topic === E);
  t.equal(transactions?.from, 30, '--from starts the audit there');
  t.same(transactions?.counts, {
    ledger: 0,
    customer: 0,
    parked: 3,
    rejected: 1,
    repeat: 0,
    gap: 0,
    marker: 0,
    unread: 5,
  });
});
