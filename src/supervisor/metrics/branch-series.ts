// Which branches this supervisor reports on, and their series' lifecycle: a branch it starts to
// run gets every series at zero, a branch it no longer runs loses its gauges (another pod reports
// it now) and keeps its counters.
import { WRITE_FAILURE_CAUSES } from '../../worker/protocol.js';
import { REJECT_REASONS } from '../../ingest/event-parser.js';
import type { MetricFamilies } from './families.js';

export class BranchSeries {
  readonly #families: MetricFamilies;
  /** Branches this supervisor runs now. */
  readonly #tracked = new Set<string>();
  /** Topics lag was reported for, so that an untracked branch's lag series can be removed. */
  readonly #lagTopics = new Set<string>();
  /** Kafka timestamp (ms) of each branch's last committed record per topic, for the age gauge. */
  readonly committedAt = new Map<string, Map<string, number>>();

  constructor(families: MetricFamilies) {
    this.#families = families;
  }

  has(branch: string): boolean {
    return this.#tracked.has(branch);
  }

  /** The branches tracked now, for the gauges computed at each scrape. */
  branches(): Iterable<string> {
    return this.#tracked;
  }

  /** A topic with lag series: they are removed with the branch. */
  lagReported(topic: string): void {
    this.#lagTopics.add(topic);
  }

  setCommittedAt(branch: string, topic: string, atMs: number): void {
    const topics = this.committedAt.get(branch) ?? new Map<string, number>();
    topics.set(topic, atMs);
    this.committedAt.set(branch, topics);
  }

  /** A branch this supervisor now runs: every series from zero, so rates and alerts work before its first event. */
  track(branch: string): void {
    this.#tracked.add(branch);
    const f = this.#families;
    for (const metric of [
      f.consumed,
      f.ledger,
      f.unpartitioned,
      f.customers,
      f.restarts,
      f.fetchStalls,
      f.leaseAcquisitions,
      f.recreations,
      f.rewinds,
      f.rewoundRecords,
      f.positionsAhead,
    ])
      metric.inc({ branch }, 0);
    for (const cause of WRITE_FAILURE_CAUSES) f.writeFailures.inc({ branch, cause }, 0);
    // Every reason from zero: a series that appears at 1 has no increase() in Prometheus, so the
    // first quarantined record would never fire the alert.
    for (const reason of Object.values(REJECT_REASONS)) f.rejected.inc({ branch, reason }, 0);
    f.branchReady.set({ branch }, 0);
    f.gaps.set({ branch }, 0);
    f.leaseHeld.set({ branch }, 0);
  }

  /** A branch this supervisor no longer runs. */
  untrack(branch: string): void {
    this.#tracked.delete(branch);
    const f = this.#families;
    // Its gauges go with it: another pod reports the branch now, and this pod's last values
    // (lag, parked, heap, gaps, readiness) would keep feeding alerts. Counters stay.
    for (const gauge of [f.parkedNow, f.parkedAge, f.gaps, f.leaseHeld, f.branchReady, f.lastCommit]) {
      gauge.remove({ branch });
    }
    for (const topic of this.#lagTopics)
      for (const gauge of [f.lag, f.lagSeconds, f.headroom, f.retained]) gauge.remove({ branch, topic });
    this.committedAt.delete(branch);
    for (const space of ['young', 'total']) f.workerHeap.remove({ branch, space });
    for (const state of ['in_use', 'idle']) f.poolConnections.remove({ branch, state });
    f.poolWaiting.remove({ branch });
  }
}
