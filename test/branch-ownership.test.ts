// The branch worker's ownership lifecycle run directly, without a supervisor process, against the
// real broker and the real database: standby while another owner holds the lease, owning once it
// is free (ready, every record posted), released at once on stop.
import t from 'tap';
import { MessageChannel } from 'node:worker_threads';
import { branchZeroConfig, json, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, sql, waitFor } from './helpers/supervisor.js';
import { requestStop } from '../src/core/stop-flag.js';
import { createPrisma } from '../src/db/prisma.js';
import { release, tryAcquire } from '../src/db/branch-lease.js';
import { consumerPacing } from '../src/kafka/consumer-pacing.js';
import runBranch from '../src/worker/branch-worker.js';
import type { WorkerEvent } from '../src/worker/protocol.js';

t.test('standby, then owning once the lease is free, then released on stop', async (t) => {
  const databaseUrl = await withDatabase(t);
  const topics = await withTopics(t, 2);
  const config = branchZeroConfig(databaseUrl, topics);
  await sendRecords([
    [topics.customersTopic, 0, json({ custid: 7, createdate: 1587398219, fname: 'Ada', lname: 'Byron' })],
    ...[1, 2, 3].map((i): [string, number, Buffer] => [
      topics.transactionsTopic,
      0,
      json({ custid: 7, type: 'dep', date: 1587398300 + i, amt: 100 * i }),
    ]),
  ]);

  // Another owner holds the branch first.
  const prisma = createPrisma(databaseUrl, 1);
  t.teardown(() => prisma.$disconnect());
  const other = await tryAcquire(prisma, topics.transactionsTopic, 0, 'another-supervisor');
  t.ok(other, 'the other owner took the lease');

  const channel = new MessageChannel();
  const events: WorkerEvent[] = [];
  channel.port1.on('message', (event: WorkerEvent) => events.push(event));
  t.teardown(() => channel.port1.close());
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const running = runBranch({
    partition: 0,
    config,
    stopFlag: stop.buffer as SharedArrayBuffer,
    heartbeat: new SharedArrayBuffer(8),
    events: channel.port2,
    pacing: consumerPacing(1, 68, config.lingerMs),
  });

  await waitFor(
    'the standby event',
    async () => events.map((e) => e.type),
    (types) => types.includes('standby'),
  );
  t.equal(await count(databaseUrl, '"transaction"'), 0, 'nothing is written while another owner holds the branch');
  t.notOk(
    events.some((e) => e.type === 'ready'),
    'not ready while standing by',
  );

  await release(prisma, other!);
  await waitFor(
    'the ready event',
    async () => events.map((e) => e.type),
    (types) => types.includes('ready'),
    30_000,
  );
  await waitFor(
    'three posted transactions',
    () => count(databaseUrl, '"transaction"'),
    (n) => n === 3,
    30_000,
  );
  const [balance] = await sql<{ balance_cents: string }>(
    databaseUrl,
    'SELECT balance_cents FROM balance WHERE custid = 7',
  );
  t.equal(Number(balance?.balance_cents), 600, 'the balance of the three deposits');

  requestStop(stop);
  const result = await running;
  t.equal(result.records, 4, 'the worker counts the four records it committed');
  const [lease] = await sql<{ owner: string; free: boolean }>(
    databaseUrl,
    'SELECT owner, expires_at < now() AS free FROM branch_lease WHERE "partition" = 0',
  );
  t.not(lease?.owner, 'another-supervisor', 'the worker had taken the lease');
  t.equal(lease?.free, true, 'and released it at once on stop');
});
