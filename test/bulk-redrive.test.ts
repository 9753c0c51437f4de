// Issue 26, point 6: re-driving quarantined records in bulk after a fix, with a dry run, each
// re-drive recorded with who and when; nothing is ever posted twice. Against a real, migrated
// database (the CLI needs no broker for this).
import t from 'tap';
import { runNode, withDatabase } from './helpers/fixtures.js';
import { count, sql } from './helpers/supervisor.js';

const C = 'customers-of-bulk-redrive';
const E = 'transactions-of-bulk-redrive';

t.test('rejected redrive --reason: dry run, then each acceptable record posted once, by whom', async (t) => {
  const url = await withDatabase(t);
  const env = { DATABASE_URL: url, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };
  const reject = (topic: string, offset: number, value: string, reason: string) =>
    sql(
      url,
      `INSERT INTO rejected_event (kafka_topic, kafka_partition, kafka_offset, raw_value, reason_code, detail)
       VALUES ($1, 0, $2, convert_to($3, 'UTF8'), $4, 'refused before the fix')`,
      [topic, offset, value, reason],
    );
  // Refused by Postgres before a fix (a constraint since lifted), oldest first: the customer, then
  // its deposit; a record the parser still refuses; and one of another reason.
  await reject(C, 0, '{"custid": 1, "createdate": 1587398219, "fname": "Ada", "lname": "Byron"}', 'database_rejected');
  await reject(E, 1, '{"custid": 1, "type": "dep", "date": 1587398400, "amt": 100}', 'database_rejected');
  await reject(E, 2, '{"custid": 1, "type": "dep", "date": 1587398401, "amt": -5}', 'database_rejected');
  await reject(E, 3, 'not json', 'not_json');

  const dry = await runNode(
    'dist/cli.js',
    ['rejected', 'redrive', '--reason', 'database_rejected', '--dry-run', '--json'],
    env,
  );
  t.equal(dry.code, 0, dry.stderr);
  t.same(
    JSON.parse(dry.stdout).map((r: { offset: number; acceptable: boolean }) => [r.offset, r.acceptable]),
    [
      [0, true],
      [1, true],
      [2, false],
    ],
    'the dry run says what would be posted and what would stay',
  );
  t.equal(await count(url, 'rejected_event'), 4, 'a dry run writes nothing');
  t.equal(await count(url, 'redrive_log'), 0);

  const real = await runNode(
    'dist/cli.js',
    ['rejected', 'redrive', '--reason', 'database_rejected', '--by', 'alice'],
    env,
  );
  t.equal(real.code, 0, real.stderr);
  t.match(real.stdout, /customer created/);
  t.match(real.stdout, /transaction posted/);
  t.match(real.stdout, /still not acceptable: invalid_amount/);
  t.match(real.stdout, /2 of 3 re-driven \(by alice\)/);
  t.equal(await count(url, '"transaction"'), 1, 'the deposit is in the ledger');
  const [balance] = await sql<{ balance_cents: string }>(url, 'SELECT balance_cents FROM balance WHERE custid = 1');
  t.equal(Number(balance?.balance_cents), 100);
  t.same(
    await sql(url, 'SELECT kafka_topic, kafka_offset::int AS "offset", redriven_by FROM redrive_log ORDER BY id'),
    [
      { kafka_topic: C, offset: 0, redriven_by: 'alice' },
      { kafka_topic: E, offset: 1, redriven_by: 'alice' },
    ],
    'who re-drove which record',
  );
  const [when] = await sql<{ recent: boolean }>(
    url,
    "SELECT bool_and(redriven_at > now() - interval '1 minute') AS recent FROM redrive_log",
  );
  t.equal(when?.recent, true, 'and when');

  const again = await runNode('dist/cli.js', ['rejected', 'redrive', '--reason', 'database_rejected', '--json'], env);
  t.equal(again.code, 0);
  t.same(
    JSON.parse(again.stdout).map((r: { offset: number; redriven: boolean }) => [r.offset, r.redriven]),
    [[2, false]],
    'run again: only the record still refused is left, and it stays',
  );
  t.equal(await count(url, '"transaction"'), 1, 'nothing is posted twice');

  const [notJson] = await sql<{ id: string }>(url, "SELECT id FROM rejected_event WHERE reason_code = 'not_json'");
  const single = await runNode(
    'dist/cli.js',
    [
      'rejected',
      'redrive',
      '--id',
      String(notJson!.id),
      '--value',
      '{"custid": 1, "type": "wth", "date": 1587398402, "amt": 40}',
      '--by',
      'bob',
    ],
    env,
  );
  t.equal(single.code, 0, single.stderr);
  t.equal(await count(url, 'redrive_log', "redriven_by = 'bob'"), 1, 'a single re-drive is recorded too');
  const mixed = await runNode('dist/cli.js', ['rejected', 'redrive', '--id', '1', '--reason', 'not_json'], env);
  t.equal(mixed.code, 2, 'one record or a bulk selection, not both');
});
