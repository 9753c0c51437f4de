// The supervisor's Prometheus registry: every worker thread's figures arrive as WorkerEvents and
// are recorded here, labelled by branch, next to the usual process figures. The series are
// declared in families.ts; readiness is kept apart (src/supervisor/readiness.ts), only its gauge
// is here.
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkerEvent } from '../../worker/protocol.js';
import type { BuildInfo } from '../build-info.js';
import type { Liveness } from '../liveness.js';
import { BranchSeries } from './branch-series.js';
import { type MetricFamilies, defineMetricFamilies } from './families.js';
import { defineScrapeGauges } from './scrape-gauges.js';

/** Events that set gauges, which an untracked branch must not bring back. */
const GAUGE_EVENTS: ReadonlySet<WorkerEvent['type']> = new Set([
  'ready',
  'standby',
  'gap',
  'lag',
  'stats',
  'heap',
  'pool',
]);

/** How often the supervisor's event-loop delay is sampled (nodejs_eventloop_lag_*). */
const EVENT_LOOP_SAMPLE_MS = 100;

export class IngesterMetrics {
  readonly registry = new Registry();
  readonly #f: MetricFamilies = defineMetricFamilies(this.registry);
  readonly #series = new BranchSeries(this.#f);

  constructor(partitions: readonly number[], build: BuildInfo, liveness: Liveness) {
    defineScrapeGauges(this.registry, this.#series, liveness);
    // The event-loop delay is sampled every 100 ms, not prom-client's 10 ms: a timer that wakes
    // the supervisor 100 times a second, around the clock, for a figure scraped every 15 s.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
    this.#f.buildInfo.set({ ...build }, 1);
    for (const kind of ['assigned', 'revoked']) this.#f.rebalances.inc({ kind }, 0);
    // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool
    // check metrics rejects them); they add nothing the process figures do not say.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      this.registry.removeSingleMetric(name);
    for (const p of partitions) this.track(p);
  }

  record(event: WorkerEvent): void {
    const branch = String(event.partition);
    const f = this.#f;
    // A branch the group moved away may still report while its worker drains: its counters
    // still count (what it committed, it committed here), but no gauge comes back to life.
    if (!this.#series.has(branch) && GAUGE_EVENTS.has(event.type)) return;
    switch (event.type) {
      case 'ready':
        f.leaseHeld.set({ branch }, 1);
        break;
      case 'standby':
        f.leaseHeld.set({ branch }, 0);
        f.gaps.set({ branch }, 0);
        break;
      case 'writeFailed':
        f.writeFailures.inc({ branch, cause: event.cause });
        break;
      case 'fetchStalled':
        f.fetchStalls.inc({ branch });
        break;
      case 'topicRecreated':
        f.recreations.inc({ branch });
        break;
      case 'positionMoved':
        if (event.direction === 'ahead') f.positionsAhead.inc({ branch });
        else {
          f.rewinds.inc({ branch });
          f.rewoundRecords.inc({ branch }, event.records);
        }
        break;
      case 'gap':
        // Stopped on a gap, the worker still holds the lease (so no standby posts past the gap).
        f.leaseHeld.set({ branch }, 1);
        f.gaps.set({ branch }, event.open);
        break;
      case 'lag':
        for (const [topic, lag] of Object.entries(event.lag)) {
          f.lag.set({ branch, topic }, lag);
          this.#series.lagReported(topic);
        }
        for (const [topic, seconds] of Object.entries(event.seconds)) f.lagSeconds.set({ branch, topic }, seconds);
        for (const [topic, { records, retained }] of Object.entries(event.headroom)) {
          f.headroom.set({ branch, topic }, records);
          f.retained.set({ branch, topic }, retained);
        }
        for (const [topic, at] of Object.entries(event.committedAtMs)) this.#series.setCommittedAt(branch, topic, at);
        break;
      case 'leaseTaken':
        f.leaseAcquisitions.inc({ branch });
        break;
      case 'batches':
        if (this.#series.has(branch)) f.lastCommit.set({ branch }, Date.now() / 1000);
        f.consumed.inc({ branch }, event.records);
        f.ledger.inc({ branch }, event.posted);
        f.unpartitioned.inc({ branch }, event.postedToDefaultPartition);
        f.customers.inc({ branch }, event.customersCreated);
        for (const [reason, n] of Object.entries(event.rejectedByReason)) f.rejected.inc({ branch, reason }, n);
        for (const size of event.sizes) f.batchSize.observe({ branch }, size);
        for (const seconds of event.writeSeconds) f.writeSeconds.observe({ branch }, seconds);
        break;
      case 'stats':
        f.parkedNow.set({ branch }, event.parked);
        f.parkedAge.set({ branch }, event.oldestParkedAgeSeconds ?? 0);
        break;
      case 'pool':
        f.poolConnections.set({ branch, state: 'in_use' }, event.inUse);
        f.poolConnections.set({ branch, state: 'idle' }, event.idle);
        f.poolWaiting.set({ branch }, event.waiting);
        break;
      case 'heap':
        f.workerHeap.set({ branch, space: 'young' }, event.youngBytes);
        f.workerHeap.set({ branch, space: 'total' }, event.totalBytes);
        break;
      case 'database':
      case 'kafka':
        // Readiness, not a series: src/supervisor/readiness.ts keeps them.
        break;
    }
  }

  /** A branch this supervisor now runs (--partitions auto: the group assigned it). */
  track(partition: number): void {
    this.#series.track(String(partition));
  }

  /** A branch this supervisor no longer runs. */
  untrack(partition: number): void {
    this.#series.untrack(String(partition));
  }

  /** The branch's worker died and is restarted: it holds no lease until it says so again. */
  workerDown(partition: number): void {
    const branch = String(partition);
    if (this.#series.has(branch)) this.#f.leaseHeld.set({ branch }, 0);
    this.#f.restarts.inc({ branch });
  }

  /** The consumer group assigned branches to this pod, or revoked some. */
  rebalanced(kind: 'assigned' | 'revoked'): void {
    this.#f.rebalances.inc({ kind });
  }

  /** Migrations of a newer release found at start-up (a rollout in progress). */
  newerMigrations(count: number): void {
    this.#f.newerMigrations.set(count);
  }

  /** Readiness of a branch changed (src/supervisor/readiness.ts): the gauge follows. */
  branchReady(partition: number, ready: boolean): void {
    const branch = String(partition);
    if (!this.#series.has(branch)) return;
    this.#f.branchReady.set({ branch }, ready ? 1 : 0);
  }
}
