// The supervisor's view of its branches (readiness and metrics) when the consumer group moves a
// branch away: its gauges go with it, so this pod's last values no longer feed alerts, while
// what it committed still counts; a worker still draining brings none of them back. Pure logic:
// worker events are fed by hand, the Prometheus text is read from the registry.
import t from 'tap';
import { BranchStatus } from '../src/supervisor/branch-status.js';

const GAUGES = [
  'zipbank_consumer_lag',
  'zipbank_consumer_lag_seconds',
  'zipbank_last_committed_record_age_seconds',
  'zipbank_retention_headroom_records',
  'zipbank_retained_records',
  'zipbank_branch_silent_seconds',
  'zipbank_db_pool_connections',
  'zipbank_db_pool_waiting',
  'zipbank_parked_transactions',
  'zipbank_oldest_parked_age_seconds',
  'zipbank_worker_heap_bytes',
  'zipbank_offset_gaps_open',
  'zipbank_branch_lease_held',
  'zipbank_branch_ready',
];

/** The series of `name` that carry branch="3". */
async function seriesOfBranch3(status: BranchStatus, name: string): Promise<string[]> {
  const text = await status.metrics.registry.metrics();
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) && line.includes('branch="3"'));
}

t.test('a branch moved away takes its gauges with it; its counters stay', async (t) => {
  const status = new BranchStatus([]);
  status.track(3);
  status.liveness.watch(3);
  status.record({ type: 'ready', partition: 3 });
  status.record({
    type: 'lag',
    partition: 3,
    lag: { customers: 2, transactions: 40 },
    seconds: { transactions: 7 },
    committedAtMs: { transactions: Date.now() - 9_000 },
    headroom: { transactions: { records: 100, retained: 140 } },
  });
  status.record({ type: 'stats', partition: 3, parked: 5, oldestParkedAgeSeconds: 12 });
  status.record({ type: 'heap', partition: 3, youngBytes: 1, totalBytes: 2 });
  status.record({ type: 'pool', partition: 3, inUse: 1, idle: 0, waiting: 2 });
  status.record({ type: 'gap', partition: 3, open: 1, reason: 'stopped on an offset gap' });
  status.record({
    type: 'batches',
    partition: 3,
    sizes: [10],
    writeSeconds: [0.01],
    records: 10,
    customersCreated: 0,
    posted: 10,
    parked: 0,
    postedToDefaultPartition: 0,
    rejectedByReason: {},
  });
  for (const name of GAUGES) t.ok((await seriesOfBranch3(status, name)).length > 0, `${name} is there while tracked`);
  t.same(status.readiness.notReady(), ['branch 3: stopped on an offset gap']);

  status.untrack(3);
  for (const name of GAUGES) t.same(await seriesOfBranch3(status, name), [], `${name} is gone with the branch`);
  t.same(status.readiness.notReady(), [], 'readiness no longer counts it');
  t.match(
    await seriesOfBranch3(status, 'zipbank_records_consumed_total'),
    ['zipbank_records_consumed_total{branch="3"} 10'],
    'what it committed here still counts',
  );

  // The worker drains after the revocation: its last events bring no gauge back.
  status.record({
    type: 'lag',
    partition: 3,
    lag: { transactions: 41 },
    seconds: { transactions: 8 },
    committedAtMs: { transactions: Date.now() },
    headroom: { transactions: { records: 101, retained: 142 } },
  });
  status.record({ type: 'stats', partition: 3, parked: 6, oldestParkedAgeSeconds: 13 });
  status.record({ type: 'ready', partition: 3 });
  status.workerDown(3);
  for (const name of GAUGES) t.same(await seriesOfBranch3(status, name), [], `${name} stays gone`);

  // Assigned again: the series start afresh.
  status.track(3);
  t.match(await seriesOfBranch3(status, 'zipbank_branch_ready'), ['zipbank_branch_ready{branch="3"} 0']);
});
