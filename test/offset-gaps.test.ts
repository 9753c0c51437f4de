// Issue 13, point 2: offsets that vanish are loud. Records deleted before the branch read them
// (what retention does to a branch that is behind) stop the branch with a recorded gap, an error
// log, a metric and a not-ready reason, until an operator accepts the gap with the CLI; stored
// offsets never move backwards. (A topic deleted and recreated: test/recreated-topic.test.ts.)
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
import { count, sql, SupervisorProcess, waitFor } from './helpers/supervisor.js';

const deposits = (topic: string, from: number, n: number): [string, number, Buffer][] =>
  Array.from({ length: n }, (_, i) => [
    topic,
    0,
    json({ custid: 1, type: 'dep', date: 1587398300 + from + i, amt: 100 }),
  ]);

t.test('records deleted before the branch read them stop it until an operator accepts the gap', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const cli = (args: string[]) =>
    runNode('dist/cli.js', args, {
      DATABASE_URL: url,
      KAFKA_BROKERS: BROKERS,
      CUSTOMERS_TOPIC: C,
      TRANSACTIONS_TOPIC: E,
    });
  const storedOffset = async () =>
    Number(
      (await sql<{ next_offset: string }>(url, `SELECT next_offset FROM consumer_offset WHERE topic = $1`, [E]))[0]
        ?.next_offset ?? -1,
    );

  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    ...deposits(E, 0, 100),
  ]);
  const first = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await waitFor('offsets 0-99 posted', storedOffset, (n) => n === 100);
  t.equal((await first.kill('SIGTERM')).code, 0);

  // While the branch is down, 100 more records arrive and those below offset 150 are deleted.
  await sendRecords(deposits(E, 100, 100));
  await deleteRecordsBefore(E, 0, 150);

  const second = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  const get = (path: string) => second.get(path);
  const stopped = await waitFor(
    '/readyz names the gap',
    () => get('/readyz'),
    (r) => /offset gap/.test(r.text),
    30_000,
  );
  t.equal(stopped.status, 503, 'not ready while stopped on a gap');
  t.match(
    stopped.text,
    new RegExp(
      `branch 0: stopped on an offset gap: ${E}\\[0\\]: offsets 100 to 149 were deleted before this branch read them`,
    ),
  );
  t.match(stopped.text, /cli gaps accept --branch 0/, 'readiness says how to go on');
  const errors = second
    .logs()
    .filter((l) => l.level === 'error' && /records were lost before this branch read them/.test(String(l.msg)));
  t.equal(errors.length, 1, 'an error log names the gap, once');
  t.match(await (await get('/metrics')).text, /zipbank_offset_gaps_open\{branch="0"\} 1/, 'the open gap is a metric');
  const [gap] = await sql<{
    kind: string;
    expected_offset: string;
    first_available_offset: string;
    accepted_at: Date | null;
  }>(url, 'SELECT kind, expected_offset, first_available_offset, accepted_at FROM offset_gap');
  t.same(
    [gap?.kind, Number(gap?.expected_offset), Number(gap?.first_available_offset), gap?.accepted_at],
    ['deleted', 100, 150, null],
    'the gap is recorded: topic, partition, expected and first available offset',
  );
  await new Promise((r) => setTimeout(r, 3_000));
  t.equal(await count(url, '"transaction"'), 100, 'nothing after the gap is posted');
  t.equal(await storedOffset(), 100, 'the stored offset stays');

  const listed = await cli(['gaps', 'list']);
  t.equal(listed.code, 0);
  t.match(listed.stdout, /offsets 100 to 149 deleted before the branch read them; OPEN since/);
  const status = await cli(['status', '--partitions', '0']);
  t.match(status.stdout, /gap #\d+/, 'status shows why the branch is not moving');

  const accepted = await cli(['gaps', 'accept', '--branch', '0', '--by', 'alice']);
  t.equal(accepted.code, 0, accepted.stderr);
  t.match(accepted.stdout, /accepted gap #\d+ .*offsets 100 to 149 .*\(by alice\)/);
  await waitFor('the branch goes on from the first record still there', storedOffset, (n) => n === 200, 30_000);
  t.equal(await count(url, '"transaction"'), 150, 'offsets 150-199 posted, exactly once');
  const [acceptedGap] = await sql<{ accepted_by: string; accepted_at: Date | null }>(
    url,
    'SELECT accepted_by, accepted_at FROM offset_gap',
  );
  t.equal(acceptedGap?.accepted_by, 'alice', 'who accepted it is recorded');
  t.ok(acceptedGap?.accepted_at, 'and when');
  await waitFor(
    '/readyz 200 again',
    () => get('/readyz'),
    (r) => r.status === 200,
    30_000,
  );
  t.match((await cli(['gaps', 'list', '--open'])).stdout, /no open offset gaps/);
  t.equal((await second.kill('SIGTERM')).code, 0);
});
