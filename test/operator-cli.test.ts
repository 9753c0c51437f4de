// node dist/cli.js: status per branch, listing rejected records, and re-driving one exactly once.
import t from 'tap';
import { BROKERS, json, runNode, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sql, SupervisorProcess, waitFor } from './helpers/supervisor.js';

t.test('status, rejected list and re-drive against a live system', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398301, fname: 'Ada', lname: 'Lovelace' })],
    [E, 0, json({ custid: 1, type: 'dep', date: 1587398400, amt: 1000 })],
    [E, 1, Buffer.from('{"custid": 1, "type": "dep", "date": 1587398401, "amt": "250"}')],
    [E, 1, Buffer.from('not json')],
    [E, 1, json({ custid: 2, type: 'dep', date: 1587398402, amt: 5 })],
  ]);

  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0-1', '--linger-ms', '20']);
  await waitFor(
    'records handled',
    async () =>
      (await count(url, 'rejected_event')) +
      (await count(url, '"transaction"')) +
      (await count(url, 'parked_transaction')),
    (n) => n === 4,
  );
  const env = { DATABASE_URL: url, KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };

  const status = await runNode('dist/cli.js', ['status', '--partitions', '0-1', '--json'], env);
  t.equal(status.code, 0, 'status runs', { stderr: status.stderr });
  const rows = JSON.parse(status.stdout);
  t.same(
    rows.map((r: { branch: number; lag: number; parked: number; rejected: number; transactionsOffset: number }) => [
      r.branch,
      r.lag,
      r.parked,
      r.rejected,
      r.transactionsOffset,
    ]),
    [
      [0, 0, 0, 0, 1],
      [1, 0, 1, 2, 3],
    ],
    'per branch: lag, parked, rejected, stored offset',
  );
  t.ok(rows[1].oldestParkedSeconds >= 0 && rows[0].lastCommit, 'oldest parked age and last commit time');
  const table = await runNode('dist/cli.js', ['status', '--partitions', '0-1'], env);
  t.match(table.stdout, /branch\s+cust offset\s+tx offset\s+lag\s+parked/, 'a readable table without --json');

  const parked = JSON.parse((await runNode('dist/cli.js', ['parked', 'list', '--json'], env)).stdout) as {
    branch: number;
    custid: number;
    offset: number;
  }[];
  t.same(
    parked.map((p) => [p.branch, p.custid, p.offset]),
    [[1, 2, 2]],
    'parked list shows the waiting transaction',
  );
  const notOldEnough = JSON.parse(
    (await runNode('dist/cli.js', ['parked', 'list', '--older-than', '3600', '--json'], env)).stdout,
  );
  t.same(notOldEnough, [], '--older-than filters by waiting time');
  const byCustomer = JSON.parse(
    (await runNode('dist/cli.js', ['parked', 'list', '--by-customer', '--json'], env)).stdout,
  ) as { branch: number; custid: number; waiting: number; oldestWaitingSeconds: number; customerExists: boolean }[];
  t.match(
    byCustomer,
    [{ branch: 1, custid: 2, waiting: 1, customerExists: false }],
    '--by-customer: how many wait per customer, and whether it exists yet',
  );
  t.ok((byCustomer[0]?.oldestWaitingSeconds ?? -1) >= 0, 'with the age of the oldest');

  const list = await runNode('dist/cli.js', ['rejected', 'list', '--branch', '1', '--json'], env);
  const rejected = JSON.parse(list.stdout) as { id: number; reason: string; offset: number }[];
  t.same(rejected.map((r) => r.reason).sort(), ['not_json', 'wrong_type']);
  const wrongType = rejected.find((r) => r.reason === 'wrong_type')!;

  const stillBad = await runNode(
    'dist/cli.js',
    [
      'rejected',
      'redrive',
      '--id',
      String(wrongType.id),
      '--value',
      '{"custid": 1, "type": "dep", "date": 1587398401, "amt": 0}',
    ],
    env,
  );
  t.equal(stillBad.code, 2, 'a correction that is still invalid is refused');
  t.match(stillBad.stderr, /invalid_amount/);
  t.equal(await count(url, 'rejected_event'), 2, 'and changes nothing');

  const fixed = '{"custid": 1, "type": "dep", "date": 1587398401, "amt": 250}';
  const redrive = await runNode(
    'dist/cli.js',
    ['rejected', 'redrive', '--id', String(wrongType.id), '--value', fixed],
    env,
  );
  t.equal(redrive.code, 0, 're-drive succeeds', { stderr: redrive.stderr });
  t.match(redrive.stdout, /transaction posted/);
  const [posted] = await sql<{ amount_cents: string; kafka_partition: number; kafka_offset: string }>(
    url,
    `SELECT amount_cents, kafka_partition, kafka_offset FROM "transaction" WHERE kafka_partition = 1`,
  );
  t.same(
    [Number(posted?.amount_cents), posted?.kafka_partition, Number(posted?.kafka_offset)],
    [250, 1, wrongType.offset],
    'posted with the original Kafka coordinates',
  );
  t.equal(await count(url, 'rejected_event'), 1, 'the rejected row is gone');
  const [balance] = await sql<{ balance_cents: string }>(url, 'SELECT balance_cents FROM balance WHERE custid = 1');
  t.equal(Number(balance?.balance_cents), 1250);

  const again = await runNode(
    'dist/cli.js',
    ['rejected', 'redrive', '--id', String(wrongType.id), '--value', fixed],
    env,
  );
  t.equal(again.code, 1, 'a second re-drive of the same record fails');
  t.match(again.stderr, /does not exist/);
  t.equal(await count(url, '"transaction"'), 2, 'nothing posted twice');
  const [offset] = await sql<{ next_offset: string }>(
    url,
    `SELECT next_offset FROM consumer_offset WHERE topic = $1 AND "partition" = 1`,
    [E],
  );
  t.equal(Number(offset?.next_offset), 3, 're-drive leaves the consumed offsets alone');
  t.equal((await ledgerInvariants(url)).balanceMismatches, 0);
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});

t.test('text output escapes control characters from record contents', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  // An escape sequence that would retitle a terminal and colour it, as a value and in a detail
  // (a row written by an older version, which stored V8's quote of the raw text).
  const hostile = '\u001b]0;pwned\u0007\u001b[31mnot json';
  await sql(
    url,
    `INSERT INTO rejected_event (kafka_topic, kafka_partition, kafka_offset, raw_value, reason_code, detail) VALUES ($1, 0, 0, $2, 'not_json', $3)`,
    [E, Buffer.from(hostile), `Unexpected token: ${hostile}`],
  );
  const env = { DATABASE_URL: url, KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };
  const list = await runNode('dist/cli.js', ['rejected', 'list'], env);
  t.equal(list.code, 0, list.stderr);
  t.notMatch(list.stdout, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, 'no control character reaches the terminal');
  t.match(list.stdout, /\\u001b\]0;pwned\\u0007/, 'they are shown escaped');
  const json = JSON.parse((await runNode('dist/cli.js', ['rejected', 'list', '--json'], env)).stdout) as {
    detail: string;
  }[];
  t.equal(json[0]?.detail, `Unexpected token: ${hostile}`, '--json keeps the text exact (JSON escapes it)');
  const empty = await runNode('dist/cli.js', ['parked', 'list'], env);
  t.match(empty.stdout, /no parked transactions/, 'an empty list says so');
});
