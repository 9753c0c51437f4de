// What a branch says when Postgres does not hold the position its writes left
// (src/worker/position-change.ts), against the real Postgres: a commit whose answer was lost is
// not a rewind, a database gone back is a warning and a counted event with the records read
// again, a position ahead of the worker is an error of its own, and a lease taken over by
// another owner is none of these. Only the log and the event sink are stand-ins.
import { Writable } from 'node:stream';
import pino from 'pino';
import t from 'tap';
import { withDatabase } from './helpers/fixtures.js';
import { labRecords } from './helpers/lab-records.js';
import { sql } from './helpers/supervisor.js';
import { createPrisma } from '../src/db/prisma.js';
import { tryAcquire } from '../src/db/branch-lease.js';
import { advance, type StoredPosition } from '../src/db/stored-position.js';
import { writeBatch } from '../src/ingest/batch-writer.js';
import { assembleBatch, type RawRecord } from '../src/ingest/batch.js';
import { reportPositionChange, type ReportingBranch } from '../src/worker/position-change.js';
import { RetryPolicy } from '../src/core/retry.js';
import type { WorkerEvent } from '../src/worker/protocol.js';

const TOPICS = { customers: 'change-customers', transactions: 'change-events' };
const PARTITION = 1;

const records = labRecords(TOPICS, PARTITION);
const deposit = (offset: number) => records.deposit(offset, 1);
const customer = () => records.customer(0, 1);

t.test('a moved position is told apart: answer lost, gone back, ahead, or another owner', async (t) => {
  const url = await withDatabase(t);
  const prisma = createPrisma(url, 1);
  t.teardown(() => prisma.$disconnect());
  const lease = await tryAcquire(prisma, TOPICS.transactions, PARTITION, 'owner-a');
  if (!lease) throw new Error('the lease was not taken');
  const lines: Record<string, unknown>[] = [];
  const events: WorkerEvent[] = [];
  const branch: ReportingBranch = {
    partition: PARTITION,
    prisma,
    log: pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
          done();
        },
      }),
    ),
    events: { emit: (event) => events.push(event) },
    retry: new RetryPolicy({ signal: new AbortController().signal }),
  };
  const write = async (records: RawRecord[], expected: StoredPosition) => {
    const batch = assembleBatch(records, TOPICS, 4096);
    const options = {
      partition: PARTITION,
      transactionsTopic: TOPICS.transactions,
      lease,
      expected,
      checkParked: false,
    };
    await writeBatch(prisma, batch, options);
    return advance(expected, batch.nextOffsets);
  };
  const start: StoredPosition = {
    offsets: new Map([
      [TOPICS.customers, null],
      [TOPICS.transactions, null],
    ]),
    commits: 0n,
  };
  const p1 = await write([customer(), deposit(0), deposit(1)], start);
  const p2 = await write([deposit(2), deposit(3), deposit(4)], p1);
  const report = (expected: StoredPosition, target?: StoredPosition) =>
    reportPositionChange(branch, lease, expected, target);

  // The write from p1 committed (the stored position is p2) but its answer was lost.
  t.equal(await report(p1, p2), 'answer-lost', 'a commit whose answer was lost');
  t.equal(events.length, 0, 'not counted');
  t.match(lines.at(-1), { level: 30, msg: /answer was lost/ });

  // The database lost the second write: it holds p1, the worker remembers p2.
  await sql(url, `UPDATE consumer_offset SET next_offset = 2 WHERE topic = $1`, [TOPICS.transactions]);
  await sql(url, 'UPDATE branch_lease SET commits = 1');
  t.equal(await report(p2), 'back', 'the database went back');
  t.same(events.at(-1), { type: 'positionMoved', partition: PARTITION, direction: 'back', records: 3 });
  const warning = lines.at(-1);
  t.match(warning, { level: 40, recordsToReadAgain: 3, storedCommits: '1', workerCommits: '2' });
  t.same(
    ((warning?.offsets ?? {}) as Record<string, unknown>)[TOPICS.transactions],
    { stored: 2, worker: 5 },
    "the stored offset and the worker's",
  );
  t.match(String(warning?.msg), /branch 1: the database went back in time/);

  // Ahead of the worker: something else wrote the branch past it.
  await sql(url, `UPDATE consumer_offset SET next_offset = 9 WHERE topic = $1`, [TOPICS.transactions]);
  await sql(url, 'UPDATE branch_lease SET commits = 3');
  t.equal(await report(p2), 'ahead', 'another writer');
  t.same(events.at(-1), { type: 'positionMoved', partition: PARTITION, direction: 'ahead', records: 0 });
  t.match(lines.at(-1), { level: 50, msg: /ahead of this worker's writes/ });

  // Where the worker left it: nothing moved.
  await sql(url, `UPDATE consumer_offset SET next_offset = 5 WHERE topic = $1`, [TOPICS.transactions]);
  await sql(url, 'UPDATE branch_lease SET commits = 2');
  const counted = events.length;
  t.equal(await report(p2), 'none', 'the position is where the worker left it');

  // The lease row went back to before this owner took it: a rewind too.
  await sql(url, 'DELETE FROM branch_lease');
  t.equal(await report(p2), 'back', 'the lease row is gone');
  t.equal(events.length, counted + 1, 'counted once');

  // Another owner holds the branch at a later epoch: its writes are its own business.
  await sql(
    url,
    `INSERT INTO branch_lease (transactions_topic, "partition", owner, epoch, expires_at, commits)
     VALUES ($1, $2, 'owner-b', $3, now() + interval '10 seconds', 7)`,
    [TOPICS.transactions, PARTITION, String(lease.epoch + 1n)],
  );
  t.equal(await report(p2), 'none', 'a takeover is not a moved position');
  t.equal(events.length, counted + 1, 'not counted');
});
