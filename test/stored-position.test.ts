// The batch statement's compare-and-set (src/db/stored-position.ts), against the real Postgres:
// a write commits only from the position its worker last saw, both topics' offsets and the
// branch's commit count; from anywhere else it changes nothing and says the position moved. This
// is what keeps a branch from writing on top of a past the database no longer has (a failover to
// an asynchronous standby, a restore): without the check, every stale write below goes through.
import t from 'tap';
import { withDatabase } from './helpers/fixtures.js';
import { labRecords } from './helpers/lab-records.js';
import { count, sql } from './helpers/supervisor.js';
import { createPrisma } from '../src/db/prisma.js';
import { LeaseLostError, renew, tryAcquire } from '../src/db/branch-lease.js';
import { advance, PositionMovedError, readStoredPosition, type StoredPosition } from '../src/db/stored-position.js';
import { writeBatch } from '../src/ingest/batch-writer.js';
import { assembleBatch, type RawRecord } from '../src/ingest/batch.js';

const TOPICS = { customers: 'pos-customers', transactions: 'pos-events' };
const PARTITION = 2;

const { deposit, customer } = labRecords(TOPICS, PARTITION);

t.test('a write commits only from the stored position its worker last saw', async (t) => {
  const url = await withDatabase(t);
  const prisma = createPrisma(url, 1);
  t.teardown(() => prisma.$disconnect());
  const lease = await tryAcquire(prisma, TOPICS.transactions, PARTITION, 'owner-a');
  if (!lease) throw new Error('the lease was not taken');
  const write = (records: RawRecord[], expected: StoredPosition) => {
    const batch = assembleBatch(records, TOPICS, 4096);
    return writeBatch(prisma, batch, {
      partition: PARTITION,
      transactionsTopic: TOPICS.transactions,
      lease,
      expected,
      checkParked: false,
    }).then((outcome) => ({ outcome, position: advance(expected, batch.nextOffsets) }));
  };
  const stored = async () =>
    (await readStoredPosition(prisma, lease, [TOPICS.customers, TOPICS.transactions])).position;
  const ledger = () => count(url, '"transaction"');

  const start = await stored();
  t.same([...start.offsets.values()], [null, null], 'nothing stored yet');
  t.equal(await renew(prisma, lease), 0n, 'no commit yet');

  // Customers and transactions: the interactive transaction's path.
  const first = await write([customer(0, 1), customer(1, 2), deposit(0, 1)], start);
  t.equal(first.outcome.posted, 1);
  t.same(await stored(), first.position, 'the stored position is where the write left it');
  t.equal(first.position.commits, 1n, 'one commit counted');

  // Transactions only: the one-statement path.
  const second = await write([deposit(1, 1), deposit(2, 2)], first.position);
  t.equal(second.outcome.posted, 2);
  t.same(await stored(), second.position);

  // A write from a position the branch has left (the worker's memory is behind, or the write
  // is a retry of one that committed): refused, nothing changes.
  await t.rejects(write([deposit(3, 1)], first.position), PositionMovedError, 'a stale expected position');
  t.equal(await ledger(), 3, 'nothing posted');
  t.same(await stored(), second.position, 'the position did not move');
  const refused = await write([customer(2, 3)], first.position).catch((err: unknown) => err);
  t.ok(refused instanceof PositionMovedError, 'the interactive path too');
  t.same(
    (refused as PositionMovedError).target,
    advance(first.position, new Map([[TOPICS.customers, 3]])),
    'the error says where the write would have left the branch',
  );
  t.equal(await count(url, 'customer', 'custid = 3'), 0, 'the customer was not created: rolled back');

  // The database goes back in time: it lost the second write (offsets and count as after the first).
  await sql(url, `DELETE FROM "transaction" WHERE kafka_offset >= 1`);
  await sql(url, `UPDATE balance SET balance_cents = 100, transaction_count = 1 WHERE custid = 1`);
  await sql(url, `UPDATE balance SET balance_cents = 0, transaction_count = 0 WHERE custid = 2`);
  await sql(url, `UPDATE consumer_offset SET next_offset = 1 WHERE topic = $1`, [TOPICS.transactions]);
  await sql(url, `UPDATE branch_lease SET commits = 1`);
  await t.rejects(write([deposit(3, 1)], second.position), PositionMovedError, 'the worker remembers a lost commit');
  t.equal(await ledger(), 1, 'nothing written on top of the lost past');

  // A lost commit that moved no offset (a drain of parked transactions): the count tells it.
  await sql(url, `UPDATE branch_lease SET commits = 0`);
  await t.rejects(write([deposit(1, 1)], first.position), PositionMovedError, 'only the commit count is behind');
  await sql(url, `UPDATE branch_lease SET commits = 1`);

  // Re-read from Postgres, the worker writes the lost records again: once each.
  const reread = await stored();
  t.same(reread, first.position, 'the stored position is the truth');
  const again = await write([deposit(1, 1), deposit(2, 2), deposit(3, 1)], reread);
  t.equal(again.outcome.posted, 3, 'the lost records and the next one posted');
  t.equal(await ledger(), 4, 'each record once');

  // Ahead of the worker (another writer): refused the same way.
  await sql(url, `UPDATE consumer_offset SET next_offset = 9 WHERE topic = $1`, [TOPICS.transactions]);
  await t.rejects(write([deposit(4, 1)], again.position), PositionMovedError, 'a position ahead of the worker');
  await sql(url, `UPDATE consumer_offset SET next_offset = 4 WHERE topic = $1`, [TOPICS.transactions]);

  // A lost lease is a lost lease, not a moved position.
  await sql(url, `UPDATE branch_lease SET epoch = epoch + 1, owner = 'owner-b'`);
  await t.rejects(write([deposit(4, 1)], again.position), LeaseLostError, 'another owner holds the branch');
  t.equal(await ledger(), 4);
});
