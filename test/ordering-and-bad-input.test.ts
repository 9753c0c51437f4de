// Guarantees 2, 3 and 4: customers before transactions (durably parked, posted in order when the
// customer arrives from any branch), bad input quarantined with a reason, branches isolated.
import t from 'tap';
import { json, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sql, SupervisorProcess, waitFor } from './helpers/supervisor.js';

t.test('a transaction waits, durably, for its customer, then posts in its original order', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398301, fname: 'Ada', lname: 'Lovelace' })],
    [E, 0, json({ custid: 900, type: 'dep', date: 1587398400, amt: 10000 })],
    [E, 0, json({ custid: 1, type: 'dep', date: 1587398401, amt: 700 })],
    [E, 0, json({ custid: 900, type: 'Wth', date: 1587398402, amt: 3000 })],
    [E, 0, json({ custid: 900, type: 'D', date: 1587398403, amt: 5 })],
  ]);
  const args = ['--partitions', '0-1', '--linger-ms', '20'];
  const first = new SupervisorProcess(t, topics, url, args);
  await waitFor(
    'three parked and one posted',
    async () => [await count(url, 'parked_transaction'), await count(url, '"transaction"')],
    ([p, l]) => p === 3 && l === 1,
  );
  t.equal(await count(url, '"transaction"', 'custid = 900'), 0, 'no ledger row before its customer');

  await first.kill('SIGKILL');
  t.equal(await count(url, 'parked_transaction'), 3, 'parked transactions survive a crash');
  const second = new SupervisorProcess(t, topics, url, args);
  await waitFor(
    'branch 0 restarted',
    async () => second.logs().find((l) => l.msg === 'branch worker started' && l.branch === 0),
    (l) => l !== undefined,
  );
  const started = second.logs().find((l) => l.msg === 'branch worker started' && l.branch === 0)!;
  t.equal(started.parked, 3, 'the branch reports its parked backlog');

  // The customer arrives from another branch.
  await sendRecords([[C, 1, json({ custid: 900, createdate: 1587398500, fname: 'Todd', lname: 'Cushman' })]]);
  await waitFor(
    'parked posted',
    () => count(url, 'parked_transaction'),
    (n) => n === 0,
  );
  const rows = await sql<{ kafka_offset: string; amount_cents: string; kind: string }>(
    url,
    `SELECT kafka_offset, amount_cents, kind FROM "transaction" WHERE custid = 900 ORDER BY posted_at, kafka_offset`,
  );
  t.same(
    rows.map((r) => Number(r.kafka_offset)),
    [0, 2, 3],
    'posted in the order the branch sent them',
  );
  t.same(
    rows.map((r) => r.kind),
    ['deposit', 'withdrawal', 'deposit'],
  );
  const [balance] = await sql<{ balance_cents: string }>(url, 'SELECT balance_cents FROM balance WHERE custid = 900');
  t.equal(Number(balance?.balance_cents), 10000 - 3000 + 5, 'balance reflects the posted transactions');
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.balanceMismatches, 0);
  t.equal(invariants.duplicates, 0);
});

t.test(
  'bad records become rejected rows with raw bytes, coordinates and reasons; other branches are unaffected',
  async (t) => {
    const topics = await withTopics(t, 2);
    const url = await withDatabase(t);
    const { customersTopic: C, transactionsTopic: E } = topics;
    const bad: [string, Buffer, string][] = [
      [E, Buffer.from('not json at all'), 'not_json'],
      [E, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 'not_json'],
      [E, json({ custid: 5, type: 'dep', date: 1587398219 }), 'missing_field'],
      [E, json({ custid: 5, type: 'dep', date: 1587398219, amt: '10' }), 'wrong_type'],
      [E, json({ custid: 5, type: 'dep', date: 1587398219, amt: 12.5 }), 'invalid_amount'],
      [E, json({ custid: 5, type: 'dep', date: 1587398219, amt: -1 }), 'invalid_amount'],
      [E, json({ custid: 5, type: 'bonus', date: 1587398219, amt: 1 }), 'unknown_type'],
      [E, json({ custid: 5, type: 'dep', date: -99, amt: 1 }), 'invalid_date'],
      [
        E,
        Buffer.from(JSON.stringify({ custid: 5, type: 'dep', date: 1, amt: 1, pad: 'x'.repeat(70_000) })),
        'payload_too_large',
      ],
      [C, json({ custid: 6, createdate: 'today', fname: 'A', lname: 'B' }), 'wrong_type'],
      [C, json({ custid: 7, createdate: 1587398219, fname: 'Other', lname: 'Person' }), 'customer_conflict'],
    ];
    // Branch 0 creates customer 7 and posts for it; branch 1 gets the bad records and one good one.
    await sendRecords([
      [C, 0, json({ custid: 7, createdate: 1587398219, fname: 'Grace', lname: 'Hopper' })],
      [C, 0, json({ custid: 7, createdate: 1587398219, fname: 'Grace', lname: 'Hopper' })],
      ...Array.from({ length: 50 }, (_, i): [string, number, Buffer] => [
        E,
        0,
        json({ custid: 7, type: 'dep', date: 1587398300 + i, amt: 100 }),
      ]),
    ]);
    const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0-1', '--linger-ms', '20']);
    await waitFor(
      'customer 7 exists',
      () => count(url, 'customer', 'custid = 7'),
      (n) => n === 1,
    );
    await sendRecords([
      [C, 1, json({ custid: 5, createdate: 1587398219, fname: 'Linus', lname: 'T' })],
      ...bad.map(([topic, value]): [string, number, Buffer] => [topic, 1, value]),
      [E, 1, json({ custid: 5, type: 'W', date: 1587398220, amt: 250 })],
    ]);
    await waitFor(
      'all rejected',
      () => count(url, 'rejected_event'),
      (n) => n >= bad.length,
    );
    await waitFor(
      'good records posted',
      () => count(url, '"transaction"'),
      (n) => n === 51,
    );

    const rejected = await sql<{
      kafka_topic: string;
      kafka_partition: number;
      kafka_offset: string;
      raw_value: Buffer;
      reason_code: string;
      detail: string;
    }>(
      url,
      'SELECT kafka_topic, kafka_partition, kafka_offset, raw_value, reason_code, detail FROM rejected_event ORDER BY kafka_topic, kafka_offset',
    );
    t.equal(
      rejected.length,
      bad.length,
      'one rejected row per bad record, none for the identical repeat of customer 7',
    );
    for (const [topic, value, reason] of bad) {
      // An oversized value keeps its first max-payload-bytes (65,536) bytes, its length and hash in the detail.
      const stored = reason === 'payload_too_large' ? value.subarray(0, 65_536) : value;
      const row = rejected.find((r) => r.kafka_topic === topic && Buffer.compare(r.raw_value, stored) === 0);
      t.ok(
        row,
        reason === 'payload_too_large'
          ? `${reason}: its first 65,536 bytes stored`
          : `${reason}: stored with its exact raw bytes`,
      );
      if (reason === 'payload_too_large')
        t.match(
          row?.detail,
          new RegExp(`sha256 of all ${value.length} bytes [0-9a-f]{64}`),
          'the detail names the whole length and hash',
        );
      t.equal(row?.reason_code, reason, `${reason}: reason code`);
      t.equal(row?.kafka_partition, 1, `${reason}: Kafka partition`);
      t.ok((row?.detail.length ?? 0) > 0, `${reason}: has a detail`);
    }
    const [customer7] = await sql<{ fname: string }>(url, 'SELECT fname FROM customer WHERE custid = 7');
    t.equal(customer7?.fname, 'Grace', 'the conflicting creation did not change the customer');
    const offsets = await sql<{ topic: string; next_offset: string }>(
      url,
      `SELECT topic, next_offset FROM consumer_offset WHERE "partition" = 1 ORDER BY topic`,
    );
    t.same(
      offsets.map((o) => [o.topic, Number(o.next_offset)]).sort(),
      [
        [C, 3],
        [E, 10],
      ].sort(),
      'rejected records are committed with their offsets',
    );
    const [b5] = await sql<{ balance_cents: string }>(url, 'SELECT balance_cents FROM balance WHERE custid = 5');
    t.equal(Number(b5?.balance_cents), -250, 'the good record on the bad branch is posted');
    t.ok(
      await supervisor.logLine((l) => l.msg === 'records rejected, see table rejected_event' && l.branch === 1),
      'rejections are logged with their branch',
    );
    t.notOk(
      supervisor.logs().some((l) => l.msg === 'branch worker died'),
      'no worker died',
    );
  },
);
