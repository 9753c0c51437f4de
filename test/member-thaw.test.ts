// Issue 25, point 5: a supervisor frozen past the group's session timeout (a throttled or paused
// pod) loses its branches; when it thaws the group may hand some straight back while its old
// workers are still stopping. Every assignment must end with a running worker, and the branches
// that moved away take their gauges with them. Two real supervisors in --partitions auto under a
// steady load; one is SIGSTOPped and resumed. Whether the group hands a branch back before its
// old worker has stopped depends on timing here; test/branch-pool.test.ts makes that race
// happen every time (and fails without the fix).
import t from 'tap';
import { runNode, uniqueName, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sample, sql, SupervisorProcess, waitFor } from './helpers/supervisor.js';

const TRANSACTIONS = 6_000;

t.test('a member that thaws ends with a running worker for every branch it is given', async (t) => {
  const topics = await withTopics(t, 4);
  const url = await withDatabase(t);
  const group = uniqueName('zipbank-thaw-group');
  const args = ['--partitions', 'auto', '--group', group, '--group-session-timeout-ms', '6000', '--linger-ms', '20'];
  const load = runNode(
    'dist/lab/produce.js',
    [
      '--branches',
      '4',
      '--customers',
      '40',
      '--transactions',
      String(TRANSACTIONS),
      '--rate',
      '150',
      '--customers-topic',
      topics.customersTopic,
      '--transactions-topic',
      topics.transactionsTopic,
    ],
    {},
    180_000,
  );
  const frozen = new SupervisorProcess(t, topics, url, args);
  const other = new SupervisorProcess(t, topics, url, args);
  const owners = async () =>
    new Map(
      (
        await sql<{ partition: number; owner: string }>(
          url,
          `SELECT "partition", owner FROM branch_lease WHERE expires_at > now() ORDER BY 1`,
        )
      ).map((r) => [r.partition, Number(r.owner.split('/')[1])]),
    );
  const ownedBy = (map: Map<number, number>, member: SupervisorProcess) =>
    [...map].filter(([, pid]) => pid === member.child.pid).map(([p]) => p);
  await waitFor(
    'both members own branches',
    owners,
    (m) => m.size === 4 && ownedBy(m, frozen).length > 0 && ownedBy(m, other).length > 0,
    60_000,
  );

  // Frozen past the session timeout (6 s) and the lease TTL (10 s): its branches move.
  frozen.child.kill('SIGSTOP');
  await waitFor('the other member owns every branch', owners, (m) => ownedBy(m, other).length === 4, 60_000);
  const thawedAt = frozen.lines.length;
  frozen.child.kill('SIGCONT');

  // The group settles: both members ready, every branch owned by a live worker, and every branch
  // the thawed member was given last has a worker that started after the thaw.
  const settled = await waitFor(
    'both members ready with every branch owned',
    async () => ({
      frozen: (await frozen.get('/readyz')).status,
      other: (await other.get('/readyz')).status,
      owned: (await owners()).size,
    }),
    (s) => s.frozen === 200 && s.other === 200 && s.owned === 4,
    90_000,
  );
  t.same(settled, { frozen: 200, other: 200, owned: 4 }, 'no branch is left assigned without a worker');
  const held = new Set<number>();
  for (const line of frozen.logs().slice(thawedAt)) {
    for (const p of (line.assigned as number[] | undefined) ?? []) held.add(p);
    for (const p of (line.revoked as number[] | undefined) ?? []) held.delete(p);
  }
  const startedAfterThaw = () =>
    frozen
      .logs()
      .slice(thawedAt)
      .filter((l) => l.msg === 'branch worker started')
      .map((l) => l.branch as number);
  const restarted = await waitFor(
    'a worker started after the thaw for every branch the thawed member holds',
    async () => startedAfterThaw(),
    (started) => [...held].every((b) => started.includes(b)),
    30_000,
  ).catch(() => startedAfterThaw());
  t.ok(
    [...held].every((b) => restarted.includes(b)),
    `every branch the thawed member holds (${[...held].join(', ') || 'none'}) has a worker started after the thaw (${restarted.join(', ') || 'none'})`,
  );

  // Gauges of the branches it no longer holds are gone from its /metrics.
  const metrics = (await frozen.get('/metrics')).text;
  t.ok(
    (sample(metrics, 'zipbank_group_rebalances_total{kind="revoked"}') ?? 0) >= 1,
    'the rebalance that took its branches is counted',
  );
  for (const branch of [0, 1, 2, 3].filter((b) => !held.has(b))) {
    t.notMatch(
      metrics,
      new RegExp(`zipbank_consumer_lag\\{[^}]*branch="${branch}"`),
      `no lag series for branch ${branch}`,
    );
  }

  const produced = await load;
  t.equal(produced.code, 0, produced.stderr);
  await waitFor(
    'every transaction posted',
    () => count(url, '"transaction"'),
    (n) => n === TRANSACTIONS,
    90_000,
  );
  t.match(
    await ledgerInvariants(url),
    { duplicates: 0, balanceMismatches: 0 },
    'exactly once, balances equal the ledger',
  );
  t.equal((await frozen.kill('SIGTERM')).code, 0);
  t.equal((await other.kill('SIGTERM')).code, 0);
});
