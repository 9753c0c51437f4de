// Every series the supervisor exports, declared in one place: names, help texts, labels and
// buckets. Which event moves which series is decided in ingester-metrics.ts.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The ingester's own metric families, registered on the given registry. */
export function defineMetricFamilies(registry: Registry) {
  return {
    consumed: new Counter({
      name: 'zipbank_records_consumed_total',
      help: 'Kafka records committed to Postgres (both topics)',
      labelNames: ['branch'],
      registers: [registry],
    }),
    ledger: new Counter({
      name: 'zipbank_ledger_rows_total',
      help: 'Ledger rows written',
      labelNames: ['branch'],
      registers: [registry],
    }),
    unpartitioned: new Counter({
      name: 'zipbank_ledger_default_partition_rows_total',
      help: 'Ledger rows written into the default partition because no partition holds their time yet (run db:migrate)',
      labelNames: ['branch'],
      registers: [registry],
    }),
    customers: new Counter({
      name: 'zipbank_customers_created_total',
      help: 'Customers created',
      labelNames: ['branch'],
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'zipbank_rejected_records_total',
      help: 'Records quarantined in rejected_event',
      labelNames: ['branch', 'reason'],
      registers: [registry],
    }),
    parkedNow: new Gauge({
      name: 'zipbank_parked_transactions',
      help: 'Transactions waiting for their customer',
      labelNames: ['branch'],
      registers: [registry],
    }),
    parkedAge: new Gauge({
      name: 'zipbank_oldest_parked_age_seconds',
      help: 'Age of the oldest parked transaction (0 when none)',
      labelNames: ['branch'],
      registers: [registry],
    }),
    workerHeap: new Gauge({
      name: 'zipbank_worker_heap_bytes',
      help: "V8 heap committed by the branch's worker thread: the young generation (capped by --worker-young-mb) and the whole heap; branches sharing a thread (--branches-per-thread) show the same figure",
      labelNames: ['branch', 'space'],
      registers: [registry],
    }),
    poolConnections: new Gauge({
      name: 'zipbank_db_pool_connections',
      help: "Postgres connections of the branch's worker thread by state: in_use (a statement or transaction runs) or idle; branches sharing a thread show the same pool",
      labelNames: ['branch', 'state'],
      registers: [registry],
    }),
    poolWaiting: new Gauge({
      name: 'zipbank_db_pool_waiting',
      help: "Requests of the branch's worker thread waiting for a Postgres connection",
      labelNames: ['branch'],
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'zipbank_consumer_lag',
      help: 'High watermark minus the offset stored in Postgres',
      labelNames: ['branch', 'topic'],
      registers: [registry],
    }),
    lagSeconds: new Gauge({
      name: 'zipbank_consumer_lag_seconds',
      help: 'Age of the oldest record not yet committed to Postgres (0 with no lag): lag in time, from Kafka record timestamps',
      labelNames: ['branch', 'topic'],
      registers: [registry],
    }),
    headroom: new Gauge({
      name: 'zipbank_retention_headroom_records',
      help: "Stored offset minus the partition's log start: records retention may still delete before it deletes one the branch has not read",
      labelNames: ['branch', 'topic'],
      registers: [registry],
    }),
    retained: new Gauge({
      name: 'zipbank_retained_records',
      help: "Log end minus log start of the branch's partition: the records the broker holds (the retention window in records)",
      labelNames: ['branch', 'topic'],
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: 'zipbank_batch_size',
      help: 'Records per committed batch',
      labelNames: ['branch'],
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000],
      registers: [registry],
    }),
    writeSeconds: new Histogram({
      name: 'zipbank_batch_write_seconds',
      help: 'Time to write and commit one batch',
      labelNames: ['branch'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    restarts: new Counter({
      name: 'zipbank_worker_restarts_total',
      help: 'Branch worker restarts after a failure',
      labelNames: ['branch'],
      registers: [registry],
    }),
    writeFailures: new Counter({
      name: 'zipbank_write_failures_total',
      help: 'Failed database writes by cause: outage (retried), schema, refusing or unknown (paused until fixed), data (records isolated and quarantined)',
      labelNames: ['branch', 'cause'],
      registers: [registry],
    }),
    fetchStalls: new Counter({
      name: 'zipbank_kafka_fetch_stalls_total',
      help: "Times the branch's Kafka consumer fetched nothing while records waited on the broker, and was recreated",
      labelNames: ['branch'],
      registers: [registry],
    }),
    recreations: new Counter({
      name: 'zipbank_topic_recreations_total',
      help: 'Times a topic of the branch was found deleted and created again; its new records were ingested from its start',
      labelNames: ['branch'],
      registers: [registry],
    }),
    rewinds: new Counter({
      name: 'zipbank_database_rewinds_total',
      help: 'Times the branch found Postgres had lost commits it made (a failover to an asynchronous standby, a restore); the lost records were read again from Kafka',
      labelNames: ['branch'],
      registers: [registry],
    }),
    rewoundRecords: new Counter({
      name: 'zipbank_database_rewound_records_total',
      help: 'Records read again from Kafka because Postgres had lost the commits that held them',
      labelNames: ['branch'],
      registers: [registry],
    }),
    positionsAhead: new Counter({
      name: 'zipbank_position_ahead_total',
      help: 'Times the branch found its stored position ahead of its own writes: something else wrote the branch while this worker held its lease',
      labelNames: ['branch'],
      registers: [registry],
    }),
    gaps: new Gauge({
      name: 'zipbank_offset_gaps_open',
      help: 'Offset gaps the branch is stopped on until an operator accepts them',
      labelNames: ['branch'],
      registers: [registry],
    }),
    leaseHeld: new Gauge({
      name: 'zipbank_branch_lease_held',
      help: '1 while this supervisor owns the branch (holds its lease and ingests), 0 while it stands by or restarts the worker',
      labelNames: ['branch'],
      registers: [registry],
    }),
    buildInfo: new Gauge({
      name: 'zipbank_build_info',
      help: 'Always 1: the release, commit, Node and librdkafka versions of this process, as labels',
      labelNames: ['version', 'commit', 'node', 'librdkafka'],
      registers: [registry],
    }),
    lastCommit: new Gauge({
      name: 'zipbank_last_commit_timestamp_seconds',
      help: 'When the branch last committed a batch (Unix time, as the supervisor heard of it)',
      labelNames: ['branch'],
      registers: [registry],
    }),
    leaseAcquisitions: new Counter({
      name: 'zipbank_lease_acquisitions_total',
      help: "Times this pod took the branch's lease: at start, or taking over from an owner that stopped or froze",
      labelNames: ['branch'],
      registers: [registry],
    }),
    rebalances: new Counter({
      name: 'zipbank_group_rebalances_total',
      help: 'Consumer group rebalances this pod took part in (--partitions auto), by what they did to it',
      labelNames: ['kind'],
      registers: [registry],
    }),
    newerMigrations: new Gauge({
      name: 'zipbank_schema_newer_migrations',
      help: 'Migrations applied by a newer release that this build does not know (additive; a rollout in progress)',
      registers: [registry],
    }),
    branchReady: new Gauge({
      name: 'zipbank_branch_ready',
      help: '1 while the branch has a connected consumer and a working database',
      labelNames: ['branch'],
      registers: [registry],
    }),
  };
}

export type MetricFamilies = ReturnType<typeof defineMetricFamilies>;
