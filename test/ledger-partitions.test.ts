// The ledger's monthly partitions (src/db/ledger-partitions.ts) on a real database: what
// db:migrate creates, where rows land, how a missing month is created later with its rows moved
// out of the default partition, and that the key still refuses a record posted twice.
import t from 'tap';
import pg from 'pg';
import {
  ensureLedgerPartitions,
  isLedgerKeyName,
  partitionName,
  monthStart,
  partitionNames,
} from '../src/db/ledger-partitions.js';
import { json, runNode, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sample, SupervisorProcess, sql, waitFor } from './helpers/supervisor.js';

const CUSTOMER = `INSERT INTO customer (custid, fname, lname, created_at, kafka_topic, kafka_partition, kafka_offset)
                  VALUES (1, 'Ada', 'Lovelace', now(), 'c', 0, 0)`;
const LEDGER_ROW = `INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp)
                    VALUES (1, 'deposit', 100, now(), 'e', 0, $1, $2)`;

async function whereRows(url: string): Promise<Record<string, string>> {
  const rows = await sql<{ off: string; part: string }>(
    url,
    `SELECT kafka_offset AS off, tableoid::regclass::text AS part FROM "transaction" ORDER BY 1`,
  );
  return Object.fromEntries(rows.map((r) => [r.off, r.part]));
}

t.test('db:migrate creates the months ahead, an untimed and a default partition', async (t) => {
  const url = await withDatabase(t);
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  t.teardown(() => db.end());
  const now = new Date();
  const months = [0, 1, 2, 3].map((m) => partitionName(monthStart(now, m), 'month'));
  t.same(
    await partitionNames(db),
    [...months, 'transaction_default', 'transaction_untimed'].sort(),
    'the current month and three ahead',
  );
  const again = await runNode('dist/setup/migrate.js', ['--ledger-months-ahead', '5'], { DATABASE_URL: url });
  t.equal(again.code, 0, 'a second run succeeds', { stderr: again.stderr });
  t.match(
    again.stdout,
    `created 2 ledger partition(s): ${partitionName(monthStart(now, 4), 'month')}, ${partitionName(monthStart(now, 5), 'month')}`,
  );
  const bad = await runNode('dist/setup/migrate.js', ['--ledger-months-ahead', 'soon'], { DATABASE_URL: url });
  t.equal(bad.code, 2, 'a bad --ledger-months-ahead is a configuration error');
  t.match(bad.stderr, /--ledger-months-ahead must be a whole number/);
  const badPeriod = await runNode('dist/setup/migrate.js', ['--ledger-partition-period', 'week'], {
    DATABASE_URL: url,
  });
  t.equal(badPeriod.code, 2, 'so is a period other than month or day');
  t.match(badPeriod.stderr, /--ledger-partition-period must be month or day, got "week"/);

  await sql(url, CUSTOMER);
  await sql(url, LEDGER_ROW, [0, now]);
  await sql(url, LEDGER_ROW, [1, new Date(0)]);
  await sql(url, LEDGER_ROW, [2, new Date(Date.UTC(2040, 6, 15))]);
  t.same(
    await whereRows(url),
    { 0: partitionName(monthStart(now), 'month'), 1: 'transaction_untimed', 2: 'transaction_default' },
    'each row lands in its month, the epoch in untimed, a month not created in the default partition',
  );

  // The month job runs late: July 2040 is created, and its row moves out of the default partition.
  const created = await ensureLedgerPartitions(db, { now: new Date(Date.UTC(2040, 5, 1)), monthsAhead: 1 });
  t.same(created, ['transaction_p204006', 'transaction_p204007'], 'only the months from "now" on are created');
  t.same((await whereRows(url))[2], 'transaction_p204007', 'the waiting row moved into its new month');
  t.same(
    await sql(url, `SELECT count(*) AS n FROM transaction_default`),
    [{ n: '0' }],
    'and the default partition is empty again',
  );
  t.same(await ensureLedgerPartitions(db, { now: new Date(Date.UTC(2040, 5, 1)), monthsAhead: 1 }), [], 'idempotent');

  // A row waiting in the default partition for a month before "now" has its own month created.
  await sql(url, LEDGER_ROW, [3, new Date(Date.UTC(2026, 0, 20))]);
  t.same(await ensureLedgerPartitions(db, { now, monthsAhead: 0 }), ['transaction_p202601'], 'a past month with rows');
  t.same((await whereRows(url))[3], 'transaction_p202601');

  // A ledger taking thousands of transactions a second is cut by day: from the next month on,
  // since the months created before still hold theirs.
  const days = await ensureLedgerPartitions(db, {
    now: new Date(Date.UTC(2040, 6, 30)),
    monthsAhead: 1,
    period: 'day',
  });
  t.same(days.length, 31, 'a partition per day of August 2040, the first month no partition holds');
  t.same([days[0], days[30]], ['transaction_p20400801', 'transaction_p20400831']);
  await sql(url, LEDGER_ROW, [4, new Date(Date.UTC(2040, 7, 15, 12))]);
  t.same((await whereRows(url))[4], 'transaction_p20400815', 'a row lands in its day');
  await sql(url, LEDGER_ROW, [5, new Date(Date.UTC(2041, 2, 3, 4))]);
  t.same(
    await ensureLedgerPartitions(db, { now: new Date(Date.UTC(2041, 2, 1)), monthsAhead: 0, period: 'day' }).then(
      (names) => [names.length, names.includes('transaction_p20410303')],
    ),
    [31, true],
    'a waiting row moves into its day',
  );
  t.same((await whereRows(url))[5], 'transaction_p20410303');

  // The key, including the timestamp, still refuses the same record posted again.
  const again2 = await db.query(LEDGER_ROW, [2, new Date(Date.UTC(2040, 6, 15))]).catch((err: unknown) => err);
  t.match(again2, { code: '23505', constraint: 'transaction_p204007_pkey' }, 'a repeat is refused by the key');
  t.ok(
    isLedgerKeyName((again2 as { constraint: string }).constraint),
    'under a name the batch writer takes as the key',
  );
  t.ok(isLedgerKeyName('transaction_p20400815_pkey'), "a day partition's key too");
  t.notOk(isLedgerKeyName('parked_transaction_kafka_coordinates_key'), 'and no other key');
});

t.test('rows of a month without a partition go to the default one, loudly, until db:migrate moves them', async (t) => {
  const topics = await withTopics(t, 1);
  const url = await withDatabase(t);
  // The month job never ran: the current month's partition is missing.
  const month = partitionName(monthStart(new Date()), 'month');
  await sql(url, `ALTER TABLE "transaction" DETACH PARTITION ${month}`);
  await sql(url, `DROP TABLE ${month}`);
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--linger-ms', '20']);
  const { customersTopic: C, transactionsTopic: E } = topics;
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398301, fname: 'Ada', lname: 'Lovelace' })],
    ...Array.from({ length: 25 }, (_, i): [string, number, Buffer] => [
      E,
      0,
      json({ custid: 1, type: 'dep', date: 1587398400 + i, amt: 100 }),
    ]),
  ]);
  await waitFor(
    'ledger rows',
    () => count(url, '"transaction"'),
    (n) => n === 25,
  );
  t.equal(await count(url, 'transaction_default'), 25, 'every row is posted, into the default partition');
  const metrics = await waitFor(
    'the default-partition rows counted',
    async () => (await supervisor.get('/metrics')).text,
    (text) => sample(text, 'zipbank_ledger_default_partition_rows_total{branch="0"}') === 25,
  );
  t.equal(sample(metrics, 'zipbank_ledger_rows_total{branch="0"}'), 25, 'and as ledger rows');
  t.ok(
    supervisor.lines.some((l) => /went to the default partition transaction_default.*db:migrate/.test(l)),
    'a warning names the cause and the fix',
  );

  const migrated = await runNode('dist/setup/migrate.js', [], { DATABASE_URL: url });
  t.equal(migrated.code, 0, 'db:migrate runs beside the running ingester', { stderr: migrated.stderr });
  t.match(migrated.stdout, `created 1 ledger partition(s): ${month}`);
  t.equal(await count(url, 'transaction_default'), 0, 'the rows left the default partition');
  t.equal(await count(url, month), 25, 'into their month');
  await sendRecords([[E, 0, json({ custid: 1, type: 'wth', date: 1587398500, amt: 50 })]]);
  await waitFor(
    'the next row',
    () => count(url, month),
    (n) => n === 26,
  );
  t.same(
    await ledgerInvariants(url),
    { duplicates: 0, balanceMismatches: 0, netCents: 2450 },
    'nothing lost or doubled',
  );
});
