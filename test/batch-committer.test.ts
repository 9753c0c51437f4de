// The batch committer against the real database: when Postgres refuses one record of a batch
// that also creates a customer, the transactions parked for that customer are posted in the
// same commit, not left for a later idle check (which made the branch look finished while its
// parked rows waited, and the record-isolation test flaky), and every transaction of the
// customer posts in offset order, wherever the customer sits in the batch.
import t from 'tap';
import { withDatabase } from './helpers/fixtures.js';
import { labRecords } from './helpers/lab-records.js';
import { count, sql } from './helpers/supervisor.js';
import { createPrisma } from '../src/db/prisma.js';
import { createLogger } from '../src/core/log.js';
import { tryAcquire } from '../src/db/branch-lease.js';
import { BatchCommitter, NOTHING_PARKED } from '../src/ingest/batch-committer.js';
import { RetryPolicy } from '../src/core/retry.js';
import { ParkedQueue } from '../src/ingest/parked-queue.js';
import { PARKED_CHUNK } from '../src/ingest/parked-statements.js';
import type { RawRecord } from '../src/ingest/batch.js';

const TOPICS = { customers: 'c', transactions: 'e' };
const PARTITION = 0;

const { deposit, customer } = labRecords(TOPICS, PARTITION);

/** Database actions run once: this test has no outage to wait out (nothing is classified as one). */
const once = new RetryPolicy({ signal: new AbortController().signal });

/** A fresh database and a committer for branch PARTITION writing into it. */
async function committerOnNewDatabase(
  t: Parameters<typeof withDatabase>[0],
): Promise<{ url: string; committer: BatchCommitter; prisma: ReturnType<typeof createPrisma> }> {
  const url = await withDatabase(t);
  const prisma = createPrisma(url);
  t.teardown(() => prisma.$disconnect());
  // Under a lease, as a branch worker writes: every write of an isolation commits from the
  // position the one before it left (src/db/stored-position.ts), or the next one is refused.
  const lease = await tryAcquire(prisma, TOPICS.transactions, PARTITION, 'committer-test');
  if (!lease) throw new Error('the lease was not taken');
  const position = { offsets: new Map([TOPICS.customers, TOPICS.transactions].map((t) => [t, null])), commits: 0n };
  const committer = new BatchCommitter(
    prisma,
    {
      topics: TOPICS,
      maxPayloadBytes: 4096,
      write: { partition: PARTITION, transactionsTopic: TOPICS.transactions, lease },
      position,
    },
    once,
    createLogger('silent'),
  );
  return { url, committer, prisma };
}

t.test(
  'a refused batch that creates a customer: its parked transactions, and those behind them, post in order',
  async (t) => {
    const { url, committer, prisma } = await committerOnNewDatabase(t);
    // Driven as the ingest loop drives it: each commit with the queue's plan.
    const queue = new ParkedQueue(0);
    const commit = async (records: RawRecord[]) => {
      const plan = queue.plan();
      const outcome = await committer.commit(records, plan);
      if (outcome) queue.committed(outcome, plan);
      return outcome;
    };

    // Customer 5 exists, one deposit away from overflowing its balance.
    const setup = await commit([customer(0, 5)]);
    t.equal(setup?.customersCreated, 1);
    await sql(url, 'UPDATE balance SET balance_cents = 9223372036854775000 WHERE custid = 5');

    // Transactions of customer 6 arrive before the customer: parked.
    const early = await commit([deposit(0, 6), deposit(1, 6), deposit(2, 6)]);
    t.equal(early?.parked, 3, 'three transactions parked');
    t.equal(queue.count, 3);

    // One batch: more of customer 6's transactions, a deposit Postgres refuses, and customer 6,
    // fetched last (the two topics arrive interleaved in any order).
    const outcome = await commit([deposit(3, 6), deposit(4, 5, 1000), deposit(5, 6), customer(1, 6)]);
    t.equal(outcome?.refused, 1, 'the overflowing deposit is refused');
    t.equal(outcome?.customersCreated, 1, 'customer 6 is created');
    t.equal(outcome?.parked, 2, 'its new transactions wait behind its parked ones, not ahead of them');

    // The next look finds customer 6; the next commit drains its queue, oldest first.
    await queue.look(prisma, { transactionsTopic: TOPICS.transactions, partition: PARTITION });
    t.ok(queue.drainable, 'customer 6 is ready');
    const drained = await commit([]);
    t.equal(drained?.unparked, 5, 'all five are posted');
    t.equal(queue.count, 0, 'the queue knows it is empty');
    t.equal(await count(url, 'parked_transaction'), 0, 'nothing is left parked');
    t.equal(await count(url, '"transaction"', 'custid = 6'), 5, 'all five transactions of customer 6 are posted');
    const [b6] = await sql<{ balance_cents: string; transaction_count: string }>(
      url,
      'SELECT balance_cents, transaction_count FROM balance WHERE custid = 6',
    );
    t.same(b6, { balance_cents: '500', transaction_count: '5' }, 'its balance counts each of them once');
    const order = await sql<{ kafka_offset: string }>(
      url,
      'SELECT kafka_offset FROM "transaction" WHERE custid = 6 ORDER BY posted_at, kafka_offset',
    );
    t.same(
      order.map((r) => Number(r.kafka_offset)),
      [0, 1, 2, 3, 5],
      'posted in offset order',
    );
    const rejected = await sql<{ kafka_offset: string; reason_code: string }>(
      url,
      'SELECT kafka_offset, reason_code FROM rejected_event',
    );
    t.same(
      rejected,
      [{ kafka_offset: '4', reason_code: 'database_rejected' }],
      'only the refused deposit is quarantined',
    );
    const offsets = await sql<{ topic: string; next_offset: string }>(
      url,
      'SELECT topic, next_offset FROM consumer_offset ORDER BY topic',
    );
    t.same(
      offsets,
      [
        { topic: 'c', next_offset: '2' },
        { topic: 'e', next_offset: '6' },
      ],
      'both topics committed past the batch',
    );
  },
);

t.test(
  'the one-statement write assumes every customer exists, and writes the batch again with the lookup when one does not',
  async (t) => {
    const { url, committer } = await committerOnNewDatabase(t);
    await committer.commit([customer(0, 7)], NOTHING_PARKED);

    // Nothing parked and no customer in the batch: the fast path, which the foreign key stops.
    const outcome = await committer.commit([deposit(0, 7), deposit(1, 8), deposit(2, 7, 50)], NOTHING_PARKED);
    t.equal(outcome?.posted, 2, 'the transactions of the existing customer are posted');
    t.equal(outcome?.parked, 1, 'the one without its customer is parked, not refused');
    t.equal(outcome?.refused ?? 0, 0, 'nothing is refused');
    t.equal(await count(url, 'rejected_event'), 0, 'nothing is quarantined');
    const [b7] = await sql<{ balance_cents: string; transaction_count: string }>(
      url,
      'SELECT balance_cents, transaction_count FROM balance WHERE custid = 7',
    );
    t.same(b7, { balance_cents: '150', transaction_count: '2' }, 'the balance counts each posted transaction once');
    const [parked] = await sql<{ custid: string; kafka_offset: string }>(
      url,
      'SELECT custid, kafka_offset FROM parked_transaction',
    );
    t.same(parked, { custid: '8', kafka_offset: '1' }, 'the parked one waits for customer 8');
    const offsets = await sql<{ topic: string; next_offset: string }>(
      url,
      'SELECT topic, next_offset FROM consumer_offset ORDER BY topic',
    );
    t.same(
      offsets,
      [
        { topic: 'c', next_offset: '1' },
        { topic: 'e', next_offset: '3' },
      ],
      'the batch is committed past its last record',
    );
  },
);

t.test(
  'a customer without a balance row (written by another tool) gets its first balance from the batch',
  async (t) => {
    const { url, committer } = await committerOnNewDatabase(t);
    await committer.commit([customer(0, 9), customer(1, 10)], NOTHING_PARKED);
    await sql(url, 'DELETE FROM balance WHERE custid = 9');

    const outcome = await committer.commit([deposit(0, 9, 70), deposit(1, 10, 30), deposit(2, 9, 5)], NOTHING_PARKED);
    t.equal(outcome?.posted, 3, 'every transaction is posted');
    const balances = await sql<{ custid: string; balance_cents: string; transaction_count: string }>(
      url,
      'SELECT custid, balance_cents, transaction_count FROM balance ORDER BY custid',
    );
    t.same(
      balances,
      [
        { custid: '9', balance_cents: '75', transaction_count: '2' },
        { custid: '10', balance_cents: '30', transaction_count: '1' },
      ],
      'the missing balance row is created, the existing one updated',
    );
  },
);

t.test('a parked flood drains a bounded chunk per commit, each customer in offset order', async (t) => {
  const { url, committer, prisma } = await committerOnNewDatabase(t);
  const queue = new ParkedQueue(0);
  const commit = async (records: RawRecord[]) => {
    const plan = queue.plan();
    const outcome = await committer.commit(records, plan);
    if (outcome) queue.committed(outcome, plan);
    return outcome!;
  };
  // Two chunks and a bit for customers 1, 2 and 3, none of which exists yet: all parked.
  const flood = 2 * PARKED_CHUNK + 2_000;
  for (let from = 0; from < flood; from += 2_000)
    await commit(Array.from({ length: 2_000 }, (_, i) => deposit(from + i, 1 + ((from + i) % 3))));
  t.equal(queue.count, flood, 'every one parked');
  t.equal(await count(url, 'parked_transaction'), flood);

  // The customers arrive, with more transactions of theirs behind them.
  await commit([customer(0, 1), customer(1, 2), customer(2, 3)]);
  const late = await commit([deposit(flood, 1), deposit(flood + 1, 2)]);
  t.equal(late.parked, 2, 'transactions arriving meanwhile wait behind the parked ones');

  await queue.look(prisma, { transactionsTopic: TOPICS.transactions, partition: PARTITION });
  const chunks: number[] = [];
  while (queue.drainable) chunks.push((await commit([])).unparked);
  t.same(chunks, [PARKED_CHUNK, PARKED_CHUNK, 2_002], 'bounded chunks, each customer taken whole before the next');
  t.equal(
    chunks.reduce((a, b) => a + b, 0),
    flood + 2,
    'every parked transaction posted',
  );
  t.equal(await count(url, 'parked_transaction'), 0);
  t.equal(queue.count, 0);
  for (const custid of [1, 2, 3]) {
    const offsets = (
      await sql<{ kafka_offset: string }>(
        url,
        'SELECT kafka_offset FROM "transaction" WHERE custid = $1 ORDER BY posted_at, kafka_offset',
        [custid],
      )
    ).map((r) => Number(r.kafka_offset));
    t.same(
      offsets,
      [...offsets].sort((a, b) => a - b),
      `customer ${custid}'s transactions posted in offset order`,
    );
  }
  const [balances] = await sql<{ n: string; total: string }>(
    url,
    'SELECT count(*) AS n, sum(balance_cents) AS total FROM balance',
  );
  t.same(balances, { n: '3', total: String((flood + 2) * 100) }, 'each counted once in the balances');
});
