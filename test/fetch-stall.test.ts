// A Kafka consumer that stops fetching without an error (librdkafka can, after a broker restart)
// must not stall its branch silently: the stall logic alone, then a branch whose consumer is made
// deaf (ZIPBANK_FAULT_DEAF_BRANCH) against the real broker and Postgres: its lag tells the truth,
// its consumer is recreated, and every record posts exactly once.
import t from 'tap';
import { FetchStallWatch } from '../src/kafka/fetch-stall.js';
import { TopicAdmin } from '../src/kafka/topic-admin.js';
import { retainHandle } from '../src/kafka/retain-handle.js';
import Kafka from 'node-rdkafka';
import { BROKERS, json, sendRecords, uniqueName, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, SupervisorProcess, waitFor } from './helpers/supervisor.js';

const at = (topic: string, nextOffset: number, logEnd: number) => ({ topic, nextOffset, logEnd });

/** Sends records in one Kafka transaction: its commit marker takes the offset after them. */
async function sendInTransaction(records: [topic: string, partition: number, value: Buffer][]): Promise<void> {
  // Kept reachable, as every client of the project is: the binding's destructor can abort the process under GC.
  const producer = retainHandle(
    new Kafka.Producer({ 'bootstrap.servers': BROKERS, 'transactional.id': uniqueName('fetch-stall-tx') }),
  );
  const step = (run: (done: (err: unknown) => void) => void) =>
    new Promise<void>((resolve, reject) => run((err) => (err ? reject(err as Error) : resolve())));
  await step((done) => producer.connect({}, done));
  try {
    await step((done) => producer.initTransactions(10_000, done));
    await step((done) => producer.beginTransaction(done));
    for (const [topic, partition, value] of records) producer.produce(topic, partition, value, 'k');
    await step((done) => producer.commitTransaction(10_000, done));
  } finally {
    await step((done) => producer.disconnect(done));
  }
}

t.test('records waiting at the same offset for the stall time mean a reconnect, once', async (t) => {
  const watch = new FetchStallWatch(20_000);
  t.equal(watch.observe(0, [at('E', 10, 20)]), undefined, 'first seen: not yet');
  t.equal(watch.observe(19_999, [at('E', 10, 20)]), undefined, 'not before the stall time');
  t.same(
    watch.observe(20_000, [at('E', 10, 25)]),
    { action: 'reconnect', stall: { topic: 'E', nextOffset: 10, logEnd: 25, forMs: 20_000 } },
    'at the stall time: reconnect',
  );
  t.equal(watch.observe(25_000, [at('E', 10, 25)]), undefined, 'the new consumer gets a whole stall time');
  t.equal(watch.observe(44_999, [at('E', 10, 25)]), undefined);
  t.same(
    watch.observe(45_000, [at('E', 10, 25)])?.action,
    'unfetchable',
    'still there after the reconnect: said to be unfetchable',
  );
  t.equal(watch.observe(90_000, [at('E', 10, 25)]), undefined, 'said once, and no reconnect loop');
});

t.test('a moving offset, a caught-up topic or fetched records are no stall', async (t) => {
  const watch = new FetchStallWatch(20_000);
  watch.observe(0, [at('E', 10, 20)]);
  t.equal(watch.observe(30_000, [at('E', 15, 20)]), undefined, 'the offset moved: the wait starts again');
  t.equal(watch.observe(49_999, [at('E', 15, 20)]), undefined);
  t.equal(watch.observe(50_000, [at('E', 20, 20)]), undefined, 'caught up');
  watch.observe(60_000, [at('E', 20, 30)]);
  watch.fetched(['E']);
  t.equal(watch.observe(80_000, [at('E', 20, 30)]), undefined, 'records of the topic arrived: the wait starts again');
  t.same(watch.observe(100_000, [at('E', 20, 30)])?.action, 'reconnect');
  watch.fetched(['C']);
  watch.observe(105_000, [at('E', 20, 30)]);
  t.same(watch.observe(125_000, [at('E', 20, 30)])?.action, 'unfetchable', 'records of another topic do not clear it');
  watch.fetched(['E']);
  watch.observe(130_000, [at('E', 20, 30)]);
  t.same(
    watch.observe(150_000, [at('E', 20, 30)])?.action,
    'reconnect',
    'once records came again, a later stall is reconnected again',
  );
});

t.test(
  'a consumer that stops fetching is recreated; its lag is read from the broker meanwhile; nothing is lost',
  async (t) => {
    const topics = await withTopics(t, 2);
    const url = await withDatabase(t);
    const { customersTopic: C, transactionsTopic: E } = topics;
    const deposits = (branch: number, from: number) =>
      Array.from({ length: 10 }, (_, i): [string, number, Buffer] => [
        E,
        branch,
        json({ custid: 10 + branch, type: 'dep', date: 1587398300 + from + i, amt: 100 }),
      ]);
    await sendRecords([
      [C, 0, json({ custid: 10, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
      [C, 1, json({ custid: 11, createdate: 1587398219, fname: 'Grace', lname: 'Hopper' })],
      ...deposits(0, 0),
      ...deposits(1, 0),
    ]);
    // Branch 1's consumer goes deaf after the branch's first batch, as librdkafka's can.
    const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0-1', '--linger-ms', '20'], {
      ZIPBANK_FAULT_DEAF_BRANCH: '1:1',
    });
    await waitFor(
      'branch 0 posted its first 10',
      () => count(url, '"transaction"', 'kafka_partition = 0'),
      (n) => n === 10,
      30_000,
    );
    t.ok(
      await supervisor.logLine(
        (l) =>
          l.msg === 'injected fault: the Kafka consumer delivers nothing more (ZIPBANK_FAULT_DEAF_BRANCH)' &&
          l.branch === 1,
        30_000,
      ),
      "branch 1's consumer went deaf",
    );
    const before = await count(url, '"transaction"', 'kafka_partition = 1');
    await sendRecords([...deposits(0, 10), ...deposits(1, 10)]);
    await waitFor(
      'branch 0 posted the next 10',
      () => count(url, '"transaction"', 'kafka_partition = 0'),
      (n) => n === 20,
      30_000,
    );

    // The deaf consumer's own high watermark froze; the lag comes from the broker.
    const lagLine = new RegExp(`zipbank_consumer_lag\\{branch="1",topic="${E}"\\} (\\d+)`);
    const lagged = await waitFor(
      'branch 1 lag as the broker sees it',
      async () => Number(lagLine.exec((await supervisor.get('/metrics')).text)?.[1] ?? -1),
      (n) => n === 20 - before,
      15_000,
    );
    t.equal(lagged, 20 - before, `branch 1 shows the ${20 - before} records waiting for it`);

    await waitFor(
      'branch 1 posted all 20',
      () => count(url, '"transaction"', 'kafka_partition = 1'),
      (n) => n === 20,
      60_000,
    );
    const stalled = await supervisor.logLine(
      (l) =>
        l.msg ===
        `${E}[1] has records from offset ${before} to 19 on the broker and none came for ${String(l.waitingSeconds)} s: the Kafka consumer stopped fetching, recreating it`,
    );
    t.ok(stalled, 'the stall is logged with the offsets that waited');
    t.ok(Number(stalled?.waitingSeconds) >= 20, `after the stall time (${String(stalled?.waitingSeconds)} s)`);
    const metrics = (await supervisor.get('/metrics')).text;
    t.match(metrics, /zipbank_kafka_fetch_stalls_total\{branch="1"\} 1\n/, 'counted once for branch 1');
    t.match(metrics, /zipbank_kafka_fetch_stalls_total\{branch="0"\} 0\n/, 'and not for branch 0');
    t.notOk(
      supervisor.logs().some((l) => l.msg === 'branch worker died'),
      'no worker died: the consumer alone was recreated',
    );
    const invariants = await ledgerInvariants(url);
    t.equal(invariants.duplicates, 0, 'nothing posted twice');
    t.equal(invariants.balanceMismatches, 0, 'balances equal their ledgers');
    t.equal((await supervisor.kill('SIGTERM')).code, 0, 'and it stops cleanly');
  },
);

t.test('an idle branch behind a transaction marker is not taken for a stalled consumer', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendInTransaction([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    ...Array.from({ length: 5 }, (_, i): [string, number, Buffer] => [
      E,
      0,
      json({ custid: 1, type: 'dep', date: 1587398300 + i, amt: 100 }),
    ]),
  ]);
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await waitFor(
    'the 5 deposits',
    () => count(url, '"transaction"'),
    (n) => n === 5,
    30_000,
  );
  const admin = await TopicAdmin.connect(BROKERS);
  const logEnd = await admin.highWatermark(E, 0).finally(() => admin.close());
  t.equal(logEnd, 6, 'the log ends one past the 5 deposits: the commit marker');
  // Longer than the stall time: the branch has read everything there is to read.
  await new Promise((r) => setTimeout(r, 30_000));
  const metrics = (await supervisor.get('/metrics')).text;
  t.match(metrics, /zipbank_kafka_fetch_stalls_total\{branch="0"\} 0\n/, 'no stall counted');
  t.notOk(
    supervisor
      .logs()
      .some((l) => /Kafka consumer stopped fetching|also after the Kafka consumer was recreated/.test(String(l.msg))),
    'no stall logged',
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0, 'and it stops cleanly');
});
