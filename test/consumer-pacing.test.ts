// An idle branch consumer waits long between empty consume calls (src/kafka/consumer-pacing.ts)
// but a call returns at its first record, so the wait costs no latency. Against the real broker
// and Postgres, with the supervisor started as in production (a Kafka call thread per branch).
import t from 'tap';
import { json, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, SupervisorProcess, waitFor } from './helpers/supervisor.js';

t.test('a record sent to an idle branch posts long before the idle wait is over', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([[C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })]]);
  // A linger of 3 s makes the idle wait 3 s; a batch of one record ends the collecting at once,
  // so what is measured is the wait for the first record alone.
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0-1', '--linger-ms', '3000', '--batch-size', '1'], {}, { withoutTestHooks: true });
  await waitFor('the customer', () => count(url, 'customer'), (n) => n === 1, 60_000);
  t.match(supervisor.logs().find((l) => l.msg === 'branch workers'), { idleWaitMs: 3000 }, 'the idle wait is 3 s');
  // Three records a second apart land at different points of the idle waits. Had a call waited
  // out its whole wait, each would take up to 3 s, and all three under 1.5 s only by a 1-in-8 chance.
  const latencies: number[] = [];
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 1_000));
    await sendRecords([[E, 0, json({ custid: 1, type: 'dep', date: 1587398300 + i, amt: 100 })]]);
    // From the broker's acknowledgement: the record is there to be fetched.
    const sentAt = Date.now();
    await waitFor(`deposit ${i + 1}`, () => count(url, '"transaction"'), (n) => n === i + 1, 10_000, 10);
    latencies.push(Date.now() - sentAt);
  }
  t.ok(latencies.every((ms) => ms < 1_500), `each posted within 1.5 s of the broker taking it (${latencies.join(', ')} ms)`);
  t.equal((await supervisor.kill('SIGTERM')).code, 0, 'it stops cleanly');
});
