// The supervisor's Prometheus registry: every worker thread's figures arrive as WorkerEvents and
// are recorded here, labelled by branch, next to the usual process figures.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkerEvent } from './worker-protocol.js';

export class IngesterMetrics {
  readonly registry = new Registry();
  readonly #ready = new Map<number, { consumer: boolean; database: boolean; standby?: boolean }>();

  readonly #consumed = new Counter({ name: 'zipbank_records_consumed_total', help: 'Kafka records committed to Postgres (both topics)', labelNames: ['branch'], registers: [this.registry] });
  readonly #ledger = new Counter({ name: 'zipbank_ledger_rows_total', help: 'Ledger rows written', labelNames: ['branch'], registers: [this.registry] });
  readonly #customers = new Counter({ name: 'zipbank_customers_created_total', help: 'Customers created', labelNames: ['branch'], registers: [this.registry] });
  readonly #rejected = new Counter({ name: 'zipbank_rejected_records_total', help: 'Records quarantined in rejected_event', labelNames: ['branch', 'reason'], registers: [this.registry] });
  readonly #parkedNow = new Gauge({ name: 'zipbank_parked_transactions', help: 'Transactions waiting for their customer', labelNames: ['branch'], registers: [this.registry] });
  readonly #parkedAge = new Gauge({ name: 'zipbank_oldest_parked_age_seconds', help: 'Age of the oldest parked transaction (0 when none)', labelNames: ['branch'], registers: [this.registry] });
  readonly #lag = new Gauge({ name: 'zipbank_consumer_lag', help: 'High watermark minus the offset stored in Postgres', labelNames: ['branch', 'topic'], registers: [this.registry] });
  readonly #batchSize = new Histogram({ name: 'zipbank_batch_size', help: 'Records per committed batch', labelNames: ['branch'], buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000], registers: [this.registry] });
  readonly #writeSeconds = new Histogram({ name: 'zipbank_batch_write_seconds', help: 'Time to write and commit one batch', labelNames: ['branch'], buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly #restarts = new Counter({ name: 'zipbank_worker_restarts_total', help: 'Branch worker restarts after a failure', labelNames: ['branch'], registers: [this.registry] });
  readonly #branchReady = new Gauge({ name: 'zipbank_branch_ready', help: '1 while the branch has a connected consumer and a working database', labelNames: ['branch'], registers: [this.registry] });

  constructor(partitions: readonly number[]) {
    collectDefaultMetrics({ register: this.registry });
    for (const p of partitions) {
      this.#ready.set(p, { consumer: false, database: false });
      const branch = String(p);
      // Zero series from the start, so rates and alerts work before the first event.
      for (const metric of [this.#consumed, this.#ledger, this.#customers, this.#restarts]) metric.inc({ branch }, 0);
      this.#branchReady.set({ branch }, 0);
    }
  }

  record(event: WorkerEvent): void {
    const branch = String(event.partition);
    switch (event.type) {
      case 'ready':
        this.#setReady(event.partition, { consumer: true, database: true, standby: false });
        break;
      case 'standby':
        this.#setReady(event.partition, { consumer: false, standby: true });
        break;
      case 'database':
        this.#setReady(event.partition, { database: event.ok });
        break;
      case 'batch':
        this.#consumed.inc({ branch }, event.records);
        this.#ledger.inc({ branch }, event.posted);
        this.#customers.inc({ branch }, event.customersCreated);
        for (const [reason, n] of Object.entries(event.rejectedByReason)) this.#rejected.inc({ branch, reason }, n);
        this.#batchSize.observe({ branch }, event.records);
        this.#writeSeconds.observe({ branch }, event.writeSeconds);
        this.#setReady(event.partition, { database: true });
        break;
      case 'stats':
        this.#parkedNow.set({ branch }, event.parked);
        this.#parkedAge.set({ branch }, event.oldestParkedAgeSeconds ?? 0);
        for (const [topic, lag] of Object.entries(event.lag)) this.#lag.set({ branch, topic }, lag);
        break;
    }
  }

  /** The branch's worker died or is restarting: not ready until it says so again. */
  workerDown(partition: number, restarted: boolean): void {
    this.#setReady(partition, { consumer: false });
    if (restarted) this.#restarts.inc({ branch: String(partition) });
  }

  /**
   * Branches that are not ready, with the reason; empty when all are. A standby branch (another
   * supervisor holds its lease) counts as ready: it is waiting by design, and a rolling update
   * needs the new pod ready before the old one is stopped and hands its branches over.
   */
  notReady(): string[] {
    const problems: string[] = [];
    for (const [p, state] of this.#ready) {
      if (state.standby) continue;
      if (!state.consumer) problems.push(`branch ${p}: no connected consumer`);
      else if (!state.database) problems.push(`branch ${p}: database failing`);
    }
    return problems;
  }

  /** Branches whose lease another supervisor holds. */
  standby(): number[] {
    return [...this.#ready].filter(([, state]) => state.standby).map(([p]) => p);
  }

  #setReady(partition: number, change: Partial<{ consumer: boolean; database: boolean; standby: boolean }>): void {
    const state = { ...(this.#ready.get(partition) ?? { consumer: false, database: false }), ...change };
    this.#ready.set(partition, state);
    this.#branchReady.set({ branch: String(partition) }, state.consumer && state.database ? 1 : 0);
  }
}
