// Issue 25, point 1: a topic deleted and created again under the same name is a new topic, its
// records new transactions. Whether the branch was stopped meanwhile (its stored offset is then
// inside the new topic, and only the fingerprint of the last committed record tells) or running
// (the stored offset lies beyond the new log end), every record of the new topic is posted once,
// at ledger offsets that cannot collide with the old topic's rows, and the change is shown by
// `cli gaps list`, an error log line and a metric. No operator has to accept a loss to go on.
import t from 'tap';
import { BROKERS, json, runNode, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sample, SupervisorProcess, sql, waitFor } from './helpers/supervisor.js';
import { recreateTopic } from './helpers/recreate-topic.js';

const deposits = (topic: string, from: number, n: number): [string, number, Buffer][] =>
  Array.from({ length: n }, (_, i) => [
    topic,
    0,
    json({ custid: 1, type: 'dep', date: 1587398300 + from + i, amt: 100 }),
  ]);

const cursor = async (url: string, topic: string) =>
  (
    await sql<{ next_offset: string; offset_base: string }>(
      url,
      'SELECT next_offset, offset_base FROM consumer_offset WHERE topic = $1',
      [topic],
    )
  )[0];

t.test('a topic recreated while the ingester was stopped: every new record is posted, none collides', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const env = { DATABASE_URL: url, KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    ...deposits(E, 0, 100),
  ]);
  const first = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await waitFor(
    '100 transactions posted',
    () => count(url, '"transaction"'),
    (n) => n === 100,
  );
  t.equal((await first.kill('SIGTERM')).code, 0);

  // A new topic under the old name, with more records than the branch had read.
  await recreateTopic(E);
  await sendRecords(deposits(E, 1000, 250));

  const second = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await waitFor(
    'all 250 new transactions posted',
    () => count(url, '"transaction"'),
    (n) => n === 350,
    60_000,
  );
  const [old] = await sql<{ n: string; min: string; max: string }>(
    url,
    `SELECT count(*) AS n, min(kafka_offset) AS min, max(kafka_offset) AS max FROM "transaction" WHERE occurred_at < to_timestamp(1587398300 + 1000)`,
  );
  t.same([Number(old?.n), Number(old?.min), Number(old?.max)], [100, 0, 99], "the old topic's rows are untouched");
  const [fresh] = await sql<{ n: string; min: string; max: string }>(
    url,
    `SELECT count(*) AS n, min(kafka_offset) AS min, max(kafka_offset) AS max FROM "transaction" WHERE occurred_at >= to_timestamp(1587398300 + 1000)`,
  );
  t.same(
    [Number(fresh?.n), Number(fresh?.min), Number(fresh?.max)],
    [250, 100, 349],
    "the new topic's rows are at ledger offsets from the old topic's end up",
  );
  t.same(await cursor(url, E), { next_offset: '350', offset_base: '100' }, 'the cursor carries the offset base');
  const [b] = await sql<{ balance_cents: string }>(url, 'SELECT balance_cents FROM balance WHERE custid = 1');
  t.equal(Number(b?.balance_cents), 350 * 100, 'the balance counts every deposit of both topics once');
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0);
  t.equal(invariants.balanceMismatches, 0);

  t.ok(
    await second.logLine(
      (l) =>
        l.level === 'error' &&
        /was deleted and created again \(the record at offset 99 is not the one committed there\)/.test(String(l.msg)),
    ),
    'an error log line says what happened and why',
  );
  const gaps = await runNode('dist/cli.js', ['gaps', 'list'], env);
  t.match(
    gaps.stdout,
    /topic deleted and created again; its records .* are ingested from its start at ledger offsets from 100/,
  );
  t.equal(await count(url, 'topic_recreation', 'ledger_offset_from = 100'), 1, 'recorded as a recreation');
  t.equal(await count(url, 'offset_gap'), 0, 'not as a gap: nothing to accept');
  const metrics = (await second.get('/metrics')).text;
  t.equal(sample(metrics, 'zipbank_topic_recreations_total{branch="0"}'), 1, 'counted');
  t.equal(sample(metrics, 'zipbank_offset_gaps_open{branch="0"}'), 0, 'no open gap stops the branch');
  const status = await runNode('dist/cli.js', ['status', '--partitions', '0', '--json'], env);
  t.match(status.stdout, /"transactionsOffset":250/, 'cli status gives the offset as Kafka numbers it');

  // A restart finds the new topic is the one committed from: nothing is adopted twice.
  t.equal((await second.kill('SIGTERM')).code, 0);
  await sendRecords(deposits(E, 2000, 5));
  const third = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await waitFor(
    'the next 5 posted after a restart',
    () => count(url, '"transaction"'),
    (n) => n === 355,
    30_000,
  );
  t.equal(await count(url, 'topic_recreation'), 1, 'no second recreation recorded');
  t.equal((await third.kill('SIGTERM')).code, 0);
});

t.test('a topic recreated under a running branch: its new records are posted from its start', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    ...deposits(E, 0, 50),
  ]);
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  await waitFor(
    'offsets 0-49 posted',
    () => count(url, '"transaction"'),
    (n) => n === 50,
  );

  await recreateTopic(E);
  await sendRecords(deposits(E, 1000, 10)); // offsets 0-9 of the new topic
  await waitFor(
    'the 10 records of the new topic posted',
    () => count(url, '"transaction"'),
    (n) => n === 60,
    60_000,
  );
  t.ok(
    await supervisor.logLine(
      (l) =>
        l.level === 'error' &&
        /was deleted and created again \(the stored offset 50 is beyond its log end/.test(String(l.msg)),
    ),
    'logged as an error with the reason',
  );
  await sendRecords(deposits(E, 2000, 45)); // offsets 10-54
  await waitFor(
    'every record of the new topic posted',
    () => count(url, '"transaction"'),
    (n) => n === 105,
    30_000,
  );
  t.same(await cursor(url, E), { next_offset: '105', offset_base: '50' }, 'stored offsets only ever moved forward');
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0);
  t.equal(invariants.balanceMismatches, 0);
  t.equal(await count(url, 'rejected_event'), 0);
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});
