// The owner's health statement (src/db/branch-health.ts) renews the lease and reads the parked
// backlog and the branch's commit count in one trip (and the server's identity apart), against the real
// Postgres: it must renew only a lease still held, say when it is lost, and read the same figures
// as parkedStats.
import t from 'tap';
import { withDatabase } from './helpers/fixtures.js';
import { createPrisma } from '../src/db/prisma.js';
import { LeaseLostError, tryAcquire } from '../src/db/branch-lease.js';
import { renewAndReadHealth } from '../src/db/branch-health.js';
import { readServerIdentity } from '../src/db/server-identity.js';
import { parkedStats } from '../src/db/read-queries.js';

const TOPIC = 'health-events';

t.test('renews a held lease and reads the parked backlog; a lost lease is not renewed', async (t) => {
  const url = await withDatabase(t);
  const prisma = createPrisma(url, 1);
  t.teardown(() => prisma.$disconnect());
  const lease = await tryAcquire(prisma, TOPIC, 3, 'owner-a');
  if (!lease) throw new Error('the lease was not taken');
  const expiry = async () =>
    (
      await prisma.$queryRawUnsafe<{ at: Date }[]>(
        `SELECT expires_at AS at FROM branch_lease WHERE transactions_topic = $1 AND "partition" = 3`,
        TOPIC,
      )
    )[0]!.at.getTime();

  const first = await renewAndReadHealth(prisma, lease);
  t.same(first.parked, { count: 0, oldestAgeSeconds: null, waitingFor: [] }, 'nothing parked');
  t.equal(first.commits, 0n, 'no batch committed on the branch yet');
  const [control] = await prisma.$queryRawUnsafe<{ id: string }[]>(
    'SELECT system_identifier::text AS id FROM pg_control_system()',
  );
  const server = await readServerIdentity(prisma);
  t.equal(server.systemIdentifier, control?.id, "the server's system identifier");
  t.ok(Number.isInteger(server.timeline) && (server.timeline ?? 0) >= 1, `and its timeline (${server.timeline})`);

  // Two parked transactions of branch 3 and one of branch 4, which is not this branch's.
  await prisma.$executeRawUnsafe(
    `INSERT INTO parked_transaction (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, parked_at)
     VALUES (42, 'deposit', 100, now(), $1, 3, 10, now() - interval '30 seconds'),
            (17, 'deposit', 100, now(), $1, 3, 11, now()),
            (99, 'deposit', 100, now(), $1, 4, 12, now())`,
    TOPIC,
  );
  await prisma.$executeRawUnsafe(
    `UPDATE branch_lease SET expires_at = now() + interval '1 second' WHERE transactions_topic = $1`,
    TOPIC,
  );
  const before = await expiry();
  await prisma.$executeRawUnsafe(`UPDATE branch_lease SET commits = 7 WHERE transactions_topic = $1`, TOPIC);
  const health = await renewAndReadHealth(prisma, lease);
  t.equal(health.commits, 7n, 'the commit count as stored');
  const stats = health.parked;
  t.same(
    stats,
    await parkedStats(prisma, { partition: 3, transactionsTopic: TOPIC }),
    'the same figures as parkedStats',
  );
  t.equal(stats.count, 2, "this branch's two parked transactions");
  t.same(stats.waitingFor, [17, 42], 'the customers they wait for, lowest first');
  t.ok(
    stats.oldestAgeSeconds !== null && stats.oldestAgeSeconds >= 29,
    `the oldest is about 30 s old (${stats.oldestAgeSeconds})`,
  );
  t.ok((await expiry()) > before + 5_000, 'the lease was renewed for the TTL');

  // Another owner takes the branch once the lease runs out.
  await prisma.$executeRawUnsafe(
    `UPDATE branch_lease SET expires_at = now() - interval '1 second' WHERE transactions_topic = $1`,
    TOPIC,
  );
  const other = await tryAcquire(prisma, TOPIC, 3, 'owner-b');
  t.ok(other, 'owner-b took the branch');
  const taken = await expiry();
  await t.rejects(renewAndReadHealth(prisma, lease), LeaseLostError, 'the former owner learns it lost the lease');
  t.equal(await expiry(), taken, "the new owner's lease is left as it was");
  t.ok(other && (await renewAndReadHealth(prisma, other)).parked.count === 2, 'the new owner renews and reads');
});
