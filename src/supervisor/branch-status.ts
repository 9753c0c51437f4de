// Where the supervisor's view of its branches is kept: the Prometheus metrics and the readiness
// state, fed together by every WorkerEvent and every change of the branches it runs.
import type { WorkerEvent } from '../worker/protocol.js';
import { buildInfo, type BuildInfo } from './build-info.js';
import { IngesterMetrics } from './metrics.js';
import { Readiness } from './readiness.js';

export class BranchStatus {
  readonly metrics: IngesterMetrics;
  readonly readiness: Readiness;

  constructor(partitions: readonly number[], build: BuildInfo = buildInfo()) {
    this.metrics = new IngesterMetrics(partitions, build);
    this.readiness = new Readiness(partitions, (partition, ready) => this.metrics.branchReady(partition, ready));
  }

  record(event: WorkerEvent): void {
    this.metrics.record(event);
    this.readiness.record(event);
  }

  track(partition: number): void {
    this.metrics.track(partition);
    this.readiness.track(partition);
  }

  untrack(partition: number): void {
    this.metrics.untrack(partition);
    this.readiness.untrack(partition);
  }

  /** The branch's worker died and is restarted. */
  workerDown(partition: number): void {
    this.metrics.workerDown(partition);
    this.readiness.workerDown(partition);
  }
}
