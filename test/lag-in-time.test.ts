// Issue 26, points 1 and 2: the operator's lag is time, not records, and retention headroom is
// seen before a gap happens. Records produced with old timestamps give a known age; a branch
// held back (its balance table renamed away) shows its oldest unposted record's age growing; and
// records deleted below a branch that is behind (as retention would) leave it no headroom.
import t from 'tap';
import { deleteRecordsBefore, json, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, sample, SupervisorProcess, sql, waitFor } from './helpers/supervisor.js';

t.test('lag in seconds, the last committed record age and the retention headroom are exported', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  const series = (name: string) => `${name}{branch="0",topic="${E}"}`;
  const metric = async (name: string) => sample((await supervisor.get('/metrics')).text, series(name));
  const deposit = (i: number) => json({ custid: 1, type: 'dep', date: 1587398300 + i, amt: 100 });

  // 20 deposits produced two minutes ago (by their Kafka timestamps).
  const twoMinutesAgo = Date.now() - 120_000;
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    ...Array.from({ length: 20 }, (_, i): [string, number, Buffer, number] => [E, 0, deposit(i), twoMinutesAgo]),
  ]);
  await waitFor(
    'the 20 deposits posted',
    () => count(url, '"transaction"'),
    (n) => n === 20,
  );
  await waitFor(
    'no lag in time once all is posted',
    () => metric('zipbank_consumer_lag_seconds'),
    (s) => s === 0,
  );
  const text = (await supervisor.get('/metrics')).text;
  const pool = ['in_use', 'idle'].map((state) =>
    sample(text, `zipbank_db_pool_connections{branch="0",state="${state}"}`),
  );
  t.ok(
    pool.every((n) => n !== undefined && n >= 0),
    `the Postgres pool's connections are exported (${pool.join(', ')})`,
  );
  t.equal(sample(text, 'zipbank_db_pool_waiting{branch="0"}'), 0, 'and nothing waits for one');
  const age = (await metric('zipbank_last_committed_record_age_seconds')) ?? -1;
  t.ok(age >= 118 && age < 200, `the last committed record is about two minutes old (${age.toFixed(1)} s)`);
  await waitFor(
    'the headroom covers everything retained',
    async () => [await metric('zipbank_retention_headroom_records'), await metric('zipbank_retained_records')],
    ([headroom, retained]) => headroom === 20 && retained === 20,
  );

  // Held back: the branch fetches five records a minute old and cannot commit them.
  await sql(url, 'ALTER TABLE balance RENAME TO balance_moved');
  const oneMinuteAgo = Date.now() - 60_000;
  await sendRecords(
    Array.from({ length: 5 }, (_, i): [string, number, Buffer, number] => [E, 0, deposit(100 + i), oneMinuteAgo]),
  );
  const held = await waitFor(
    'lag in time shows the oldest unposted record',
    () => metric('zipbank_consumer_lag_seconds'),
    (s) => s !== undefined && s >= 60,
    30_000,
  );
  t.ok(held! < 120, `its age, not the older committed record's (${held?.toFixed(1)} s)`);
  t.equal(await metric('zipbank_consumer_lag'), 5, 'lag in records alongside');

  // Retention deletes everything the branch committed: no headroom left.
  await deleteRecordsBefore(E, 0, 20);
  await waitFor(
    'no headroom: the next record deleted would be one the branch has not read',
    async () => [await metric('zipbank_retention_headroom_records'), await metric('zipbank_retained_records')],
    ([headroom, retained]) => headroom === 0 && retained === 5,
    30_000,
  );

  await sql(url, 'ALTER TABLE balance_moved RENAME TO balance');
  await waitFor(
    'the held records posted',
    () => count(url, '"transaction"'),
    (n) => n === 25,
    60_000,
  );
  await waitFor(
    'lag in time back to 0',
    () => metric('zipbank_consumer_lag_seconds'),
    (s) => s === 0,
    30_000,
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});
