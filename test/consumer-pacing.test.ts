// An idle branch consumer waits long between empty consume calls (src/kafka/consumer-pacing.ts)
// but a call returns at its first record, so the wait costs no latency. Against the real broker
// and Postgres, with the supervisor started as in production (a Kafka call thread per branch).
import t from 'tap';
import { json, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, SupervisorProcess, waitFor } from './helpers/supervisor.js';
import { fullAt } from '../src/kafka/record-collector.js';

t.test('a record sent to an idle branch posts long before the idle wait is over', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([[C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })]]);
  // A linger of 3 s makes the idle wait 3 s; a batch of one record ends the collecting at once,
  // so what is measured is the wait for the first record alone.
  const supervisor = new SupervisorProcess(
    t,
    topics,
    url,
    ['--partitions', '0-1', '--linger-ms', '3000', '--batch-size', '1'],
    {},
    { withoutTestHooks: true },
  );
  await waitFor(
    'the customer',
    () => count(url, 'customer'),
    (n) => n === 1,
    60_000,
  );
  t.match(
    supervisor.logs().find((l) => l.msg === 'branch workers'),
    { idleWaitMs: 3000 },
    'the idle wait is 3 s',
  );
  // Three records a second apart land at different points of the idle waits. Had a call waited
  // out its whole wait, each would take up to 3 s, and all three under 1.5 s only by a 1-in-8 chance.
  const latencies: number[] = [];
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 1_000));
    await sendRecords([[E, 0, json({ custid: 1, type: 'dep', date: 1587398300 + i, amt: 100 })]]);
    // From the broker's acknowledgement: the record is there to be fetched.
    const sentAt = Date.now();
    await waitFor(
      `deposit ${i + 1}`,
      () => count(url, '"transaction"'),
      (n) => n === i + 1,
      10_000,
      10,
    );
    latencies.push(Date.now() - sentAt);
  }
  t.ok(
    latencies.every((ms) => ms < 1_500),
    `each posted within 1.5 s of the broker taking it (${latencies.join(', ')} ms)`,
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0, 'it stops cleanly');
});

t.test('a backlog fills its batches without waiting out the linger', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const deposits = Array.from({ length: 2_000 }, (_, i): [string, number, Buffer] => [
    E,
    0,
    json({ custid: 1, type: 'dep', date: 1587398300 + i, amt: 100 }),
  ]);
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    ...deposits,
  ]);
  // Twenty batches of 100. Had each batch waited for its 3 s linger, the backlog would take a minute.
  const supervisor = new SupervisorProcess(
    t,
    topics,
    url,
    ['--partitions', '0', '--linger-ms', '3000', '--batch-size', '100'],
    {},
    { withoutTestHooks: true },
  );
  await waitFor(
    'the customer',
    () => count(url, 'customer'),
    (n) => n === 1,
    60_000,
  );
  const started = Date.now();
  await waitFor(
    'the backlog',
    () => count(url, '"transaction"'),
    (n) => n === 2_000,
    30_000,
    20,
  );
  const seconds = (Date.now() - started) / 1000;
  t.ok(seconds < 10, `2,000 records in batches of 100 posted in ${seconds.toFixed(1)} s, not 20 lingers of 3 s`);
  t.equal((await supervisor.kill('SIGTERM')).code, 0, 'it stops cleanly');
});

t.test('fullAt: when a batch would be full at the pace it grew', async (t) => {
  t.equal(fullAt(1_000, 1_010, 500, 2_000), 1_040, 'a quarter full after 10 ms: full 40 ms after it started');
  t.equal(fullAt(1_000, 1_000, 500, 2_000), Infinity, 'no time passed: no pace to judge by');
  t.equal(fullAt(1_000, 1_020, 0, 2_000), Infinity, 'nothing taken: never');
});
