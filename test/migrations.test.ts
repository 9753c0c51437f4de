import t from 'tap';
import pg from 'pg';
import { runNode, testDatabaseUrl } from './helpers/fixtures.js';
import { sql as query } from './helpers/supervisor.js';

t.test('db:migrate creates the database, every table and constraint, and a second run is a no-op', async (t) => {
  const url = testDatabaseUrl(t);
  const first = await runNode('dist/setup/migrate.js', [], { DATABASE_URL: url });
  t.equal(first.code, 0, 'first run succeeds', { stderr: first.stderr });
  t.match(first.stdout, /created database/);
  t.match(
    first.stdout,
    /applied 15 migration\(s\): 20261124000000_init, 20261124010000_kafka_timestamp, 20261124020000_branch_lease, 20261124030000_ledger_keyed_by_coordinates, 20261125000000_offset_gap, 20261125010000_branch_stall_reason, 20261125020000_balance_fillfactor, 20261129000000_ledger_customer_check, 20261202000000_redrive_log, 20261202010000_topic_incarnation, 20261202020000_customer_coordinates_index, 20261202030000_parked_queue_index, 20261203000000_ledger_partitioned_by_month_breaking, 20261204000000_branch_commit_count, 20261205000000_topic_recreation/,
  );

  const tables = (
    await query<{ table_name: string }>(
      url,
      `SELECT relname AS table_name FROM pg_class
        WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') AND NOT relispartition ORDER BY 1`,
    )
  ).map((r) => r.table_name);
  t.same(tables, [
    '_prisma_migrations',
    'balance',
    'branch_lease',
    'consumer_offset',
    'customer',
    'offset_gap',
    'parked_transaction',
    'redrive_log',
    'rejected_event',
    'topic_recreation',
    'transaction',
  ]);

  const constraints = (
    await query<{ conname: string }>(
      url,
      `SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace`,
    )
  ).map((r) => r.conname);
  for (const name of [
    'balance_custid_fkey',
    'transaction_amount_positive',
    'transaction_kind_valid',
    'customer_pkey',
    'consumer_offset_pkey',
  ]) {
    t.ok(constraints.includes(name), `constraint ${name} exists`);
  }
  // The ledger's link to its customer is checked per statement by triggers, not by a foreign key
  // (migration 20261129000000): the behaviour is checked below.
  const triggers = (
    await query<{ tgname: string }>(url, `SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`)
  ).map((r) => r.tgname);
  t.same(
    triggers,
    [
      'customer_keep_if_referenced',
      'customer_keep_if_referenced_on_truncate',
      'transaction_custid_exists_on_insert',
      'transaction_custid_exists_on_update',
    ],
    'the ledger-customer triggers exist',
  );
  const unique = (
    await query<{ indexname: string }>(
      url,
      `SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexdef LIKE 'CREATE UNIQUE%'`,
    )
  ).map((r) => r.indexname);
  for (const name of ['parked_transaction_kafka_coordinates_key', 'rejected_event_kafka_coordinates_key']) {
    t.ok(unique.includes(name), `unique index ${name} exists`);
  }
  const ledgerKey = await query<{ columns: string }>(
    url,
    `SELECT pg_get_indexdef('transaction_pkey'::regclass) AS columns`,
  );
  t.match(
    ledgerKey[0]?.columns,
    /\(kafka_topic, kafka_partition, kafka_offset, kafka_timestamp\)/,
    'the ledger is keyed by Kafka coordinates (and the timestamp it is partitioned on)',
  );
  const [balanceOptions] = await query<{ reloptions: string[] | null }>(
    url,
    `SELECT reloptions FROM pg_class WHERE oid = 'balance'::regclass`,
  );
  t.same(balanceOptions?.reloptions, ['fillfactor=20'], 'balance pages leave room for updates on the same page');
  const types = await query<{ table_name: string; column_name: string; data_type: string }>(
    url,
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'public' AND column_name IN ('amount_cents', 'balance_cents', 'occurred_at', 'created_at', 'raw_value')`,
  );
  for (const c of types) {
    const expected = c.column_name.endsWith('_cents')
      ? 'bigint'
      : c.column_name === 'raw_value'
        ? 'bytea'
        : 'timestamp with time zone';
    t.equal(c.data_type, expected, `${c.table_name}.${c.column_name} is ${expected}`);
  }

  // The constraints do their job.
  await query(
    url,
    `INSERT INTO customer (custid, fname, lname, created_at, kafka_topic, kafka_partition, kafka_offset) VALUES (55, 'Todd', 'Cushman', to_timestamp(1587398301), 'c', 0, 0)`,
  );
  const insert = `INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp) VALUES ($1, $2, $3, to_timestamp(1587398219), 'e', 0, $4, date_trunc('month', now()))`;
  await query(url, insert, [55, 'deposit', 10000, 0]);
  await t.rejects(
    query(url, insert, [55, 'deposit', 10000, 0]),
    { code: '23505' },
    'the same Kafka record cannot be posted twice',
  );
  const missingCustomer = {
    code: '23503',
    constraint: 'transaction_custid_fkey',
    detail: 'Key (custid)=(56) is not present in table "customer".',
  };
  await t.rejects(query(url, insert, [56, 'deposit', 10000, 1]), missingCustomer, 'no ledger row without its customer');
  // One statement of many rows fails as a whole when any of them lacks its customer.
  await t.rejects(
    query(
      url,
      `INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp)
                SELECT c, 'deposit', 1, now(), 'e', 1, o, now() FROM unnest('{55,55,56,55}'::bigint[]) WITH ORDINALITY AS i(c, o)`,
    ),
    missingCustomer,
    'a multi-row insert with one orphan is refused',
  );
  await t.rejects(
    query(url, `UPDATE "transaction" SET custid = 56`),
    missingCustomer,
    'no ledger row moved to a missing customer',
  );
  const referenced = { code: '23503', constraint: 'transaction_custid_fkey' };
  await query(url, `DELETE FROM balance WHERE custid = 55`);
  await t.rejects(
    query(url, `DELETE FROM customer WHERE custid = 55`),
    referenced,
    'a customer with ledger rows cannot be deleted',
  );
  await t.rejects(query(url, `UPDATE customer SET custid = 57 WHERE custid = 55`), referenced, 'nor re-keyed');
  await t.rejects(query(url, `TRUNCATE customer CASCADE`), referenced, 'nor truncated away');
  await query(
    url,
    `INSERT INTO customer (custid, fname, lname, created_at, kafka_topic, kafka_partition, kafka_offset) VALUES (58, 'Ada', 'Lovelace', now(), 'c', 0, 1)`,
  );
  await query(url, `UPDATE customer SET fname = 'Augusta' WHERE custid = 58`);
  await query(url, `DELETE FROM customer WHERE custid = 58`);
  t.same(
    await query(url, `SELECT custid FROM customer`),
    [{ custid: '55' }],
    'a customer without ledger rows can still be renamed and deleted',
  );
  await t.rejects(query(url, insert, [55, 'deposit', 0, 2]), { code: '23514' }, 'amounts are positive');
  await t.rejects(query(url, insert, [55, 'refund', 5, 3]), { code: '23514' }, 'only deposits and withdrawals');
  const [row] = await query<{ epoch: string }>(
    url,
    `SELECT extract(epoch FROM occurred_at)::bigint AS epoch FROM "transaction"`,
  );
  t.equal(row?.epoch, '1587398219', 'times round-trip exactly');

  const second = await runNode('dist/setup/migrate.js', [], { DATABASE_URL: url });
  t.equal(second.code, 0);
  t.match(second.stdout, /up to date, no migration applied/);
  t.match(second.stdout, /ledger partitions are in place, none created/);
  const [history] = await query<{ n: string }>(
    url,
    `SELECT count(*) AS n FROM _prisma_migrations WHERE finished_at IS NOT NULL`,
  );
  t.equal(history?.n, '15', 'each migration is recorded once, as prisma migrate deploy records it');
});

t.test('db:migrate against an unreachable server fails with a clear error', async (t) => {
  const result = await runNode('dist/setup/migrate.js', [], {
    DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere',
  });
  t.equal(result.code, 1);
  t.match(result.stderr, /MIGRATION_FAILED: migrating postgresql:\/\/postgres@127\.0\.0\.1:1\/nowhere failed/);
});

t.test(
  'a customer deleted while a ledger row for it is being written: one of the two fails, never an orphan',
  async (t) => {
    const url = testDatabaseUrl(t);
    const migrated = await runNode('dist/setup/migrate.js', [], { DATABASE_URL: url });
    t.equal(migrated.code, 0, 'migrated', { stderr: migrated.stderr });
    await query(
      url,
      `INSERT INTO customer (custid, fname, lname, created_at, kafka_topic, kafka_partition, kafka_offset) VALUES (70, 'Grace', 'Hopper', now(), 'c', 0, 0)`,
    );
    const deleter = new pg.Client({ connectionString: url });
    const writer = new pg.Client({ connectionString: url });
    await deleter.connect();
    await writer.connect();
    t.teardown(async () => {
      await deleter.end().catch(() => undefined);
      await writer.end().catch(() => undefined);
    });
    // The delete sees no ledger row for 70 and holds its lock until it commits.
    await deleter.query('BEGIN');
    await deleter.query('DELETE FROM customer WHERE custid = 70');
    const write = writer.query(
      `INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp) VALUES (70, 'deposit', 100, now(), 'e', 0, 0, now())`,
    );
    const settled = write.then(
      () => 'committed',
      (err: { code?: string; constraint?: string }) => `${err.code} ${err.constraint}`,
    );
    const early = await Promise.race([settled, new Promise((resolve) => setTimeout(() => resolve('waiting'), 500))]);
    t.equal(early, 'waiting', 'the ledger write waits for the delete to finish');
    await deleter.query('COMMIT');
    t.equal(await settled, '23503 transaction_custid_fkey', 'then fails: its customer is gone');
    const orphans = await query<{ n: string }>(
      url,
      `SELECT count(*) AS n FROM "transaction" t WHERE NOT EXISTS (SELECT 1 FROM customer c WHERE c.custid = t.custid)`,
    );
    t.equal(orphans[0]?.n, '0', 'no ledger row without its customer');
  },
);
