// The supervisor's Prometheus registry: every worker thread's figures arrive as WorkerEvents and
// are recorded here, labelled by branch, next to the usual process figures. Readiness is kept
// apart (src/supervisor/readiness.ts); only its gauge is here.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { WRITE_FAILURE_CAUSES, type WorkerEvent } from '../worker/protocol.js';
import type { BuildInfo } from './build-info.js';
import type { Liveness } from './liveness.js';
import { REJECT_REASONS } from '../ingest/event-parser.js';

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

export class IngesterMetrics {
  readonly registry = new Registry();
  /** Branches this supervisor runs now. */
  readonly #tracked = new Set<string>();
  /** Topics lag was reported for, so that an untracked branch's lag series can be removed. */
  readonly #lagTopics = new Set<string>();

  readonly #consumed = new Counter({
    name: 'zipbank_records_consumed_total',
    help: 'Kafka records committed to Postgres (both topics)',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #ledger = new Counter({
    name: 'zipbank_ledger_rows_total',
    help: 'Ledger rows written',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #unpartitioned = new Counter({
    name: 'zipbank_ledger_default_partition_rows_total',
    help: 'Ledger rows written into the default partition because no partition holds their time yet (run db:migrate)',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #customers = new Counter({
    name: 'zipbank_customers_created_total',
    help: 'Customers created',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #rejected = new Counter({
    name: 'zipbank_rejected_records_total',
    help: 'Records quarantined in rejected_event',
    labelNames: ['branch', 'reason'],
    registers: [this.registry],
  });
  readonly #parkedNow = new Gauge({
    name: 'zipbank_parked_transactions',
    help: 'Transactions waiting for their customer',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #parkedAge = new Gauge({
    name: 'zipbank_oldest_parked_age_seconds',
    help: 'Age of the oldest parked transaction (0 when none)',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #workerHeap = new Gauge({
    name: 'zipbank_worker_heap_bytes',
    help: "V8 heap committed by the branch's worker thread: the young generation (capped by --worker-young-mb) and the whole heap; branches sharing a thread (--branches-per-thread) show the same figure",
    labelNames: ['branch', 'space'],
    registers: [this.registry],
  });
  readonly #poolConnections = new Gauge({
    name: 'zipbank_db_pool_connections',
    help: "Postgres connections of the branch's worker thread by state: in_use (a statement or transaction runs) or idle; branches sharing a thread show the same pool",
    labelNames: ['branch', 'state'],
    registers: [this.registry],
  });
  readonly #poolWaiting = new Gauge({
    name: 'zipbank_db_pool_waiting',
    help: "Requests of the branch's worker thread waiting for a Postgres connection",
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #lag = new Gauge({
    name: 'zipbank_consumer_lag',
    help: 'High watermark minus the offset stored in Postgres',
    labelNames: ['branch', 'topic'],
    registers: [this.registry],
  });
  readonly #lagSeconds = new Gauge({
    name: 'zipbank_consumer_lag_seconds',
    help: 'Age of the oldest record not yet committed to Postgres (0 with no lag): lag in time, from Kafka record timestamps',
    labelNames: ['branch', 'topic'],
    registers: [this.registry],
  });
  readonly #headroom = new Gauge({
    name: 'zipbank_retention_headroom_records',
    help: "Stored offset minus the partition's log start: records retention may still delete before it deletes one the branch has not read",
    labelNames: ['branch', 'topic'],
    registers: [this.registry],
  });
  readonly #retained = new Gauge({
    name: 'zipbank_retained_records',
    help: "Log end minus log start of the branch's partition: the records the broker holds (the retention window in records)",
    labelNames: ['branch', 'topic'],
    registers: [this.registry],
  });
  /** Kafka timestamp (ms) of each branch's last committed record per topic, for the age gauge. */
  readonly #committedAt = new Map<string, Map<string, number>>();
  readonly #batchSize = new Histogram({
    name: 'zipbank_batch_size',
    help: 'Records per committed batch',
    labelNames: ['branch'],
    buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000],
    registers: [this.registry],
  });
  readonly #writeSeconds = new Histogram({
    name: 'zipbank_batch_write_seconds',
    help: 'Time to write and commit one batch',
    labelNames: ['branch'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly #restarts = new Counter({
    name: 'zipbank_worker_restarts_total',
    help: 'Branch worker restarts after a failure',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #writeFailures = new Counter({
    name: 'zipbank_write_failures_total',
    help: 'Failed database writes by cause: outage (retried), schema, refusing or unknown (paused until fixed), data (records isolated and quarantined)',
    labelNames: ['branch', 'cause'],
    registers: [this.registry],
  });
  readonly #fetchStalls = new Counter({
    name: 'zipbank_kafka_fetch_stalls_total',
    help: "Times the branch's Kafka consumer fetched nothing while records waited on the broker, and was recreated",
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #recreations = new Counter({
    name: 'zipbank_topic_recreations_total',
    help: 'Times a topic of the branch was found deleted and created again; its new records were ingested from its start',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #gaps = new Gauge({
    name: 'zipbank_offset_gaps_open',
    help: 'Offset gaps the branch is stopped on until an operator accepts them',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #leaseHeld = new Gauge({
    name: 'zipbank_branch_lease_held',
    help: '1 while this supervisor owns the branch (holds its lease and ingests), 0 while it stands by or restarts the worker',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #buildInfo = new Gauge({
    name: 'zipbank_build_info',
    help: 'Always 1: the release, commit, Node and librdkafka versions of this process, as labels',
    labelNames: ['version', 'commit', 'node', 'librdkafka'],
    registers: [this.registry],
  });
  readonly #lastCommit = new Gauge({
    name: 'zipbank_last_commit_timestamp_seconds',
    help: 'When the branch last committed a batch (Unix time, as the supervisor heard of it)',
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #leaseAcquisitions = new Counter({
    name: 'zipbank_lease_acquisitions_total',
    help: "Times this pod took the branch's lease: at start, or taking over from an owner that stopped or froze",
    labelNames: ['branch'],
    registers: [this.registry],
  });
  readonly #rebalances = new Counter({
    name: 'zipbank_group_rebalances_total',
    help: 'Consumer group rebalances this pod took part in (--partitions auto), by what they did to it',
    labelNames: ['kind'],
    registers: [this.registry],
  });
  readonly #newerMigrations = new Gauge({
    name: 'zipbank_schema_newer_migrations',
    help: 'Migrations applied by a newer release that this build does not know (additive; a rollout in progress)',
    registers: [this.registry],
  });
  readonly #branchReady = new Gauge({
    name: 'zipbank_branch_ready',
    help: '1 while the branch has a connected consumer and a working database',
    labelNames: ['branch'],
    registers: [this.registry],
  });

  constructor(partitions: readonly number[], build: BuildInfo, liveness: Liveness) {
    const tracked = this.#tracked;
    // Read at each scrape from the branches' heartbeats: a stuck worker sends no event to set it.
    new Gauge({
      name: 'zipbank_branch_silent_seconds',
      help: "Seconds since the branch's loop last turned or began a deliberate wait; /healthz fails past --liveness-timeout-ms",
      labelNames: ['branch'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const branch of tracked) {
          const seconds = liveness.silentSeconds(Number(branch));
          if (seconds !== undefined) this.set({ branch }, seconds);
        }
      },
    });
    const committedAt = this.#committedAt;
    // The age grows between reports: computed at each scrape from the record's timestamp.
    new Gauge({
      name: 'zipbank_last_committed_record_age_seconds',
      help: 'Age of the last record the branch committed, from its Kafka timestamp: how old the newest posted data is',
      labelNames: ['branch', 'topic'],
      registers: [this.registry],
      collect() {
        this.reset();
        const now = Date.now();
        for (const [branch, topics] of committedAt)
          for (const [topic, at] of topics) this.set({ branch, topic }, Math.max(0, (now - at) / 1000));
      },
    });
    collectDefaultMetrics({ register: this.registry });
    this.#buildInfo.set({ ...build }, 1);
    for (const kind of ['assigned', 'revoked']) this.#rebalances.inc({ kind }, 0);
    // prom-client names these gauges *_total, which Prometheus reserves for counters (promtool
    // check metrics rejects them); they add nothing the process figures do not say.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      this.registry.removeSingleMetric(name);
    for (const p of partitions) this.track(p);
  }

  record(event: WorkerEvent): void {
    const branch = String(event.partition);
    // A branch the group moved away may still report while its worker drains: its counters
    // still count (what it committed, it committed here), but no gauge comes back to life.
    if (!this.#tracked.has(branch) && GAUGE_EVENTS.has(event.type)) return;
    switch (event.type) {
      case 'ready':
        this.#leaseHeld.set({ branch }, 1);
        break;
      case 'standby':
        this.#leaseHeld.set({ branch }, 0);
        this.#gaps.set({ branch }, 0);
        break;
      case 'writeFailed':
        this.#writeFailures.inc({ branch, cause: event.cause });
        break;
      case 'fetchStalled':
        this.#fetchStalls.inc({ branch });
        break;
      case 'topicRecreated':
        this.#recreations.inc({ branch });
        break;
      case 'gap':
        // Stopped on a gap, the worker still holds the lease (so no standby posts past the gap).
        this.#leaseHeld.set({ branch }, 1);
        this.#gaps.set({ branch }, event.open);
        break;
      case 'lag':
        for (const [topic, lag] of Object.entries(event.lag)) {
          this.#lag.set({ branch, topic }, lag);
          this.#lagTopics.add(topic);
        }
        for (const [topic, seconds] of Object.entries(event.seconds)) this.#lagSeconds.set({ branch, topic }, seconds);
        for (const [topic, { records, retained }] of Object.entries(event.headroom)) {
          this.#headroom.set({ branch, topic }, records);
          this.#retained.set({ branch, topic }, retained);
        }
        for (const [topic, at] of Object.entries(event.committedAtMs)) {
          const topics = this.#committedAt.get(branch) ?? new Map<string, number>();
          topics.set(topic, at);
          this.#committedAt.set(branch, topics);
        }
        break;
      case 'leaseTaken':
        this.#leaseAcquisitions.inc({ branch });
        break;
      case 'batches':
        if (this.#tracked.has(branch)) this.#lastCommit.set({ branch }, Date.now() / 1000);
        this.#consumed.inc({ branch }, event.records);
        this.#ledger.inc({ branch }, event.posted);
        this.#unpartitioned.inc({ branch }, event.postedToDefaultPartition);
        this.#customers.inc({ branch }, event.customersCreated);
        for (const [reason, n] of Object.entries(event.rejectedByReason)) this.#rejected.inc({ branch, reason }, n);
        for (const size of event.sizes) this.#batchSize.observe({ branch }, size);
        for (const seconds of event.writeSeconds) this.#writeSeconds.observe({ branch }, seconds);
        break;
      case 'stats':
        this.#parkedNow.set({ branch }, event.parked);
        this.#parkedAge.set({ branch }, event.oldestParkedAgeSeconds ?? 0);
        break;
      case 'pool':
        this.#poolConnections.set({ branch, state: 'in_use' }, event.inUse);
        this.#poolConnections.set({ branch, state: 'idle' }, event.idle);
        this.#poolWaiting.set({ branch }, event.waiting);
        break;
      case 'heap':
        this.#workerHeap.set({ branch, space: 'young' }, event.youngBytes);
        this.#workerHeap.set({ branch, space: 'total' }, event.totalBytes);
        break;
    }
  }

  /** A branch this supervisor now runs (--partitions auto: the group assigned it). */
  track(partition: number): void {
    this.#tracked.add(String(partition));
    this.#initialise(String(partition));
  }

  /** Zero series from the start, so rates and alerts work before the first event. */
  #initialise(branch: string): void {
    for (const metric of [
      this.#consumed,
      this.#ledger,
      this.#unpartitioned,
      this.#customers,
      this.#restarts,
      this.#fetchStalls,
      this.#leaseAcquisitions,
      this.#recreations,
    ])
      metric.inc({ branch }, 0);
    for (const cause of WRITE_FAILURE_CAUSES) this.#writeFailures.inc({ branch, cause }, 0);
    // Every reason from zero: a series that appears at 1 has no increase() in Prometheus, so the
    // first quarantined record would never fire the alert.
    for (const reason of Object.values(REJECT_REASONS)) this.#rejected.inc({ branch, reason }, 0);
    this.#branchReady.set({ branch }, 0);
    this.#gaps.set({ branch }, 0);
    this.#leaseHeld.set({ branch }, 0);
  }

  /** A branch this supervisor no longer runs. */
  untrack(partition: number): void {
    const branch = String(partition);
    this.#tracked.delete(branch);
    // Its gauges go with it: another pod reports the branch now, and this pod's last values
    // (lag, parked, heap, gaps, readiness) would keep feeding alerts. Counters stay.
    for (const gauge of [
      this.#parkedNow,
      this.#parkedAge,
      this.#gaps,
      this.#leaseHeld,
      this.#branchReady,
      this.#lastCommit,
    ]) {
      gauge.remove({ branch });
    }
    for (const topic of this.#lagTopics)
      for (const gauge of [this.#lag, this.#lagSeconds, this.#headroom, this.#retained])
        gauge.remove({ branch, topic });
    this.#committedAt.delete(branch);
    for (const space of ['young', 'total']) this.#workerHeap.remove({ branch, space });
    for (const state of ['in_use', 'idle']) this.#poolConnections.remove({ branch, state });
    this.#poolWaiting.remove({ branch });
  }

  /** The branch's worker died and is restarted: it holds no lease until it says so again. */
  workerDown(partition: number): void {
    if (this.#tracked.has(String(partition))) this.#leaseHeld.set({ branch: String(partition) }, 0);
    this.#restarts.inc({ branch: String(partition) });
  }

  /** The consumer group assigned branches to this pod, or revoked some. */
  rebalanced(kind: 'assigned' | 'revoked'): void {
    this.#rebalances.inc({ kind });
  }

  /** Migrations of a newer release found at start-up (a rollout in progress). */
  newerMigrations(count: number): void {
    this.#newerMigrations.set(count);
  }

  /** Readiness of a branch changed (src/supervisor/readiness.ts): the gauge follows. */
  branchReady(partition: number, ready: boolean): void {
    if (!this.#tracked.has(String(partition))) return;
    this.#branchReady.set({ branch: String(partition) }, ready ? 1 : 0);
  }
}
