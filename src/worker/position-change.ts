// What a branch worker says when Postgres does not hold the position its writes left: it reads
// what Postgres holds now, compares it with what it remembered, and says which of three things
// happened. Whatever it was, Postgres is the truth: the caller drops everything it held in memory
// and starts over from the stored position (src/worker/ownership.ts).
//
// - The write committed and only its answer was lost (a connection reset during the commit): the
//   position is exactly where that write would have left it. Nothing to report beyond a line.
// - The database went back in time (an asynchronous standby promoted, a restore): the position,
//   the commit count or the lease is behind what this worker committed. The records it had
//   committed since are read again from Kafka and posted again, once. A warning and a counter.
// - The position is ahead of this worker's writes: something else wrote the branch while this
//   worker held its lease, which the lease fence rules out (a second ingester under a lease row
//   edited by hand, offsets moved by hand). Logged as an error and counted; the worker goes on
//   from the stored position, which is what the other writer committed.
import type { RetryPolicy } from '../core/retry.js';
import type { Lease } from '../db/branch-lease.js';
import { describePosition, readStoredPosition, samePosition, type StoredPosition } from '../db/stored-position.js';
import type { BranchContext } from './branch-context.js';
import type { WorkerEvent } from './protocol.js';

export type PositionChange = 'answer-lost' | 'back' | 'ahead' | 'none';

/** What the report needs of the branch: who it is, its connection, its log, its events, its retries. */
export type ReportingBranch = Pick<BranchContext, 'partition' | 'prisma' | 'log'> & {
  events: { emit(event: WorkerEvent): void };
  retry: RetryPolicy;
};

/**
 * Compares the stored position with `expected` (what the worker held) and `target` (where the
 * write in flight would have left it), reports what it finds, and resolves which it was.
 */
export async function reportPositionChange(
  branch: ReportingBranch,
  lease: Lease,
  expected: StoredPosition,
  target: StoredPosition = expected,
): Promise<PositionChange> {
  const { log, events, partition } = branch;
  const topics = [...expected.offsets.keys()];
  const stored = await branch.retry.run('read the stored position', () =>
    readStoredPosition(branch.prisma, lease, topics),
  );
  const found = stored.position;
  if (!samePosition(target, expected) && samePosition(found, target)) {
    log.info(
      { position: describePosition(found) },
      'the last write committed although its answer was lost; going on from the stored position',
    );
    return 'answer-lost';
  }
  // Another owner took the branch since (a higher epoch): what it wrote is its own business.
  if (stored.lease !== undefined && stored.lease.epoch >= lease.epoch && stored.lease.owner !== lease.owner)
    return 'none';
  const perTopic = topics.map((topic) => {
    const mine = expected.offsets.get(topic) ?? 0;
    const theirs = found.offsets.get(topic) ?? 0;
    return {
      topic,
      stored: found.offsets.get(topic) ?? null,
      worker: expected.offsets.get(topic) ?? null,
      by: mine - theirs,
    };
  });
  const leaseBack = stored.lease === undefined || stored.lease.epoch < lease.epoch;
  const back = leaseBack || found.commits < expected.commits || perTopic.some((t) => t.by > 0);
  const ahead = !back && (found.commits > expected.commits || perTopic.some((t) => t.by < 0));
  const offsets = Object.fromEntries(perTopic.map(({ topic, stored, worker }) => [topic, { stored, worker }]));
  if (back) {
    const records = perTopic.reduce((sum, t) => sum + Math.max(0, t.by), 0);
    log.warn(
      {
        offsets,
        storedCommits: String(found.commits),
        workerCommits: String(expected.commits),
        storedLeaseEpoch: stored.lease === undefined ? null : String(stored.lease.epoch),
        workerLeaseEpoch: String(lease.epoch),
        recordsToReadAgain: records,
      },
      `branch ${partition}: the database went back in time: it lacks commits this worker made (stored ${describePosition(found)}; this worker ${describePosition(expected)}); reading ${records} records again from Kafka from the stored offsets (a failover to an asynchronous standby, or a restore)`,
    );
    events.emit({ type: 'positionMoved', partition, direction: 'back', records });
    return 'back';
  }
  if (ahead) {
    log.error(
      { offsets, storedCommits: String(found.commits), workerCommits: String(expected.commits) },
      `branch ${partition}: the stored position is ahead of this worker's writes (stored ${describePosition(found)}; this worker ${describePosition(expected)}): something else wrote the branch while this worker held its lease; going on from the stored position`,
    );
    events.emit({ type: 'positionMoved', partition, direction: 'ahead', records: 0 });
    return 'ahead';
  }
  return 'none';
}
