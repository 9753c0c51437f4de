// Guarantee 4: a branch whose worker keeps failing is restarted with backoff and logged, while
// the other branches ingest at full speed.
import t from 'tap';
import { runNode, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, SupervisorProcess, waitFor } from './helpers/supervisor.js';
import type { TestTopics } from './helpers/fixtures.js';

class FaultySupervisor extends SupervisorProcess {
  constructor(t: Parameters<typeof withTopics>[0], topics: TestTopics, url: string, args: string[]) {
    process.env.ZIPBANK_FAULT_CRASH_BRANCH = '1:1';
    try {
      super(t, topics, url, args);
    } finally {
      delete process.env.ZIPBANK_FAULT_CRASH_BRANCH;
    }
  }
}

t.test('a failing branch worker is restarted with backoff while the others ingest everything', async (t) => {
  const topics = await withTopics(t, 3);
  const url = await withDatabase(t);
  const produced = await runNode('dist/lab/produce.js', [
    '--branches',
    '3',
    '--customers',
    '30',
    '--transactions',
    '15000',
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
  ]);
  t.equal(produced.code, 0);
  const supervisor = new FaultySupervisor(t, topics, url, ['--partitions', '0-2', '--batch-size', '100']);

  await waitFor(
    'branches 0 and 2 fully ingested',
    () => count(url, '"transaction"', 'kafka_partition IN (0, 2)'),
    (n) => n === 10000,
    60_000,
  );
  await waitFor(
    'three restarts of branch 1',
    async () => supervisor.logs().filter((l) => l.msg === 'restarting branch worker' && l.branch === 1).length,
    (n) => n >= 3,
    30_000,
  );

  const died = supervisor.logs().filter((l) => l.msg === 'branch worker died');
  t.ok(died.length >= 3 && died.every((l) => l.branch === 1), 'only branch 1 died, and the supervisor said so');
  const delays = supervisor
    .logs()
    .filter((l) => l.msg === 'restarting branch worker')
    .map((l) => Number(l.delayMs));
  t.ok(delays[2]! > delays[0]!, `restart delays grow (${delays.join(', ')} ms)`);
  t.ok(
    delays.every((d) => d >= 800),
    'no restart loops hot',
  );
  // Each run commits one batch before failing: posted, or parked when its customers came later.
  const branch1 =
    (await count(url, '"transaction"', 'kafka_partition = 1')) +
    (await count(url, 'parked_transaction', 'kafka_partition = 1'));
  t.ok(branch1 > 0 && branch1 < 5000, `branch 1 progresses between failures (${branch1} of 5000 posted or parked)`);
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0, 'restarts post nothing twice');
  t.equal(invariants.balanceMismatches, 0, 'balances equal their ledgers');

  const { code } = await supervisor.kill('SIGTERM');
  t.equal(code, 0, 'stops cleanly even while a branch is in its restart backoff');
});
