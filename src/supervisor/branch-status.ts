// Where the supervisor's view of its branches is kept: the Prometheus metrics and the readiness
// state, fed together by every WorkerEvent and every change of the branches it runs, and the
// liveness of each branch's loop.
import type { WorkerEvent } from '../worker/protocol.js';
import { buildInfo, type BuildInfo } from './build-info.js';
import { IngesterMetrics } from './metrics/ingester-metrics.js';
import { Readiness } from './readiness.js';
import { Liveness } from './liveness.js';

/** Without a configured bound (tests of other parts): the setting's default. */
const DEFAULT_LIVENESS_MS = 90_000;

export class BranchStatus {
  readonly metrics: IngesterMetrics;
  readonly readiness: Readiness;
  readonly liveness: Liveness;

  constructor(
    partitions: readonly number[],
    liveness = new Liveness(DEFAULT_LIVENESS_MS),
    build: BuildInfo = buildInfo(),
  ) {
    this.liveness = liveness;
    this.metrics = new IngesterMetrics(partitions, build, liveness);
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
    this.liveness.unwatch(partition);
    this.readiness.untrack(partition);
  }

  /** The branch's worker died and is restarted. */
  workerDown(partition: number): void {
    this.metrics.workerDown(partition);
    this.readiness.workerDown(partition);
  }
}
