// Ingester configuration: flags first, then environment variables, then DEFAULTS. Validated once,
// every problem reported in one ConfigError, then frozen.
import { DEFAULTS } from './defaults.js';
import { env } from '../core/env.js';
import { integerOption, nonEmptyOption, parseFlags, type Problems } from './options.js';
import { CONNECTION_FLAGS, CONNECTION_HELP, readConnections, readTopics, TOPIC_FLAGS } from './connection-options.js';
import type { KafkaConnection } from '../kafka/kafka-settings.js';
import { parsePartitionList } from '../core/partition-list.js';
import { ConfigError } from '../core/errors.js';

export interface IngesterConfig {
  /** The branches to ingest; empty with --partitions auto (the consumer group decides). */
  readonly partitions: readonly number[];
  /** --partitions auto: join the Kafka consumer group `group` to learn which branches to own. */
  readonly autoPartitions: boolean;
  readonly group: string;
  /** The consumer group's session timeout: how soon a dead supervisor's branches are reassigned. */
  readonly groupSessionTimeoutMs: number;
  /** Brokers and extra librdkafka settings (TLS, SASL, ...), for every Kafka client. */
  readonly kafka: KafkaConnection;
  readonly databaseUrl: string;
  readonly customersTopic: string;
  readonly transactionsTopic: string;
  /** Most records written in one Postgres transaction. */
  readonly batchSize: number;
  /** How long a worker waits for a batch to fill before writing what it has. */
  readonly lingerMs: number;
  /** Larger payloads are rejected unread. */
  readonly maxPayloadBytes: number;
  /** A batch stops growing at this many bytes of keys and values, whatever its record count. */
  readonly maxBatchBytes: number;
  /** V8 old-generation limit of each branch worker thread, in MB. */
  readonly workerHeapMb: number;
  /** V8 young-generation limit of each branch worker thread, in MB (a third is one semi-space). */
  readonly workerYoungMb: number;
  /**
   * Branches that share one worker thread (and its Postgres connection). 1, the default, is the
   * design card's dedicated thread per branch; more trades that isolation for memory and CPU when
   * one supervisor runs many branches (docs/deploy.md, "Many branches on one supervisor").
   */
  readonly branchesPerThread: number;
  readonly logLevel: string;
  /** Upper bound for a clean shutdown; see docs/operations.md, "Shutdown". */
  readonly shutdownTimeoutMs: number;
  /** Where /healthz, /readyz and /metrics are served. */
  readonly metricsHost: string;
  readonly metricsPort: number;
}

export const HELP = `Usage: node dist/supervisor.js [options]   (or node dist/main.cjs, the same supervisor)

Ingests branch partitions of the customers and transactions topics into PostgreSQL, one worker
thread per partition (or per --branches-per-thread partitions).

  --partitions <list>          branch partitions, e.g. 0-7, 0,3,5 or 2-4,7 (PARTITIONS_LIST, default 0-${DEFAULTS.partitions - 1});
                               auto: the Kafka consumer group spreads the branches over the supervisors
  --group <name>               consumer group of --partitions auto (KAFKA_GROUP, default zipbank-ingester)
  --group-session-timeout-ms <n>  how soon a dead member's branches move (KAFKA_GROUP_SESSION_TIMEOUT_MS, default 10000)
${CONNECTION_HELP}
  --customers-topic <name>     customer creations              (CUSTOMERS_TOPIC, default ${DEFAULTS.customersTopic})
  --transactions-topic <name>  deposits and withdrawals        (TRANSACTIONS_TOPIC, default ${DEFAULTS.transactionsTopic})
  --batch-size <n>             records per Postgres transaction (BATCH_SIZE, default 2000)
  --linger-ms <n>              wait at most this long to fill a batch (LINGER_MS, default 50)
  --max-payload-bytes <n>      larger records are rejected    (MAX_PAYLOAD_BYTES, default 65536)
  --max-batch-bytes <n>        bytes of keys and values per batch (MAX_BATCH_BYTES, default 16777216)
  --worker-heap-mb <n>         V8 heap limit of each branch worker thread (WORKER_HEAP_MB, default 256)
  --worker-young-mb <n>        V8 young-generation limit of each branch worker thread (WORKER_YOUNG_MB, default 12)
  --branches-per-thread <n>    branches sharing a worker thread and its Postgres connection
                               (BRANCHES_PER_THREAD, default 1: a thread of its own per branch)
  --shutdown-timeout-ms <n>    bound for a clean shutdown     (SHUTDOWN_TIMEOUT_MS, default 30000)
  --metrics-port <n>           /healthz, /readyz, /metrics; 0 = any free port, logged (METRICS_PORT, default 9464)
  --metrics-host <addr>        address to listen on            (METRICS_HOST, default 0.0.0.0)
  --log-level <level>          trace, debug, info, warn, error (LOG_LEVEL, default info)
  --help                       this text
`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export type ConfigResult = { help: true } | { help: false; config: IngesterConfig };

/**
 * How branch workers batch and share threads: the settings the load test and the bench also hand
 * to the ingester they start (src/lab/load/ingester-tuning.ts), so both read them here.
 */
export const WORKER_TUNING_FLAGS = {
  'batch-size': { type: 'string' },
  'linger-ms': { type: 'string' },
  'branches-per-thread': { type: 'string' },
  'worker-young-mb': { type: 'string' },
} as const;

type WorkerTuning = Pick<IngesterConfig, 'batchSize' | 'lingerMs' | 'branchesPerThread' | 'workerYoungMb'>;

export function readWorkerTuning(
  problems: Problems,
  flags: { [name in keyof typeof WORKER_TUNING_FLAGS]?: string | undefined },
): WorkerTuning {
  return {
    batchSize: integerOption(problems, 'batch-size', flags['batch-size'] ?? env('BATCH_SIZE'), 2000, {
      min: 1,
      max: 50_000,
    }),
    lingerMs: integerOption(problems, 'linger-ms', flags['linger-ms'] ?? env('LINGER_MS'), 50, { min: 0, max: 60_000 }),
    branchesPerThread: integerOption(
      problems,
      'branches-per-thread',
      flags['branches-per-thread'] ?? env('BRANCHES_PER_THREAD'),
      1,
      { min: 1, max: 64 },
    ),
    // V8's own default lets the young generation grow to half of a busy worker's heap; 12 MB
    // still holds the batch in flight (docs/performance.md has what it measured).
    workerYoungMb: integerOption(problems, 'worker-young-mb', flags['worker-young-mb'] ?? env('WORKER_YOUNG_MB'), 12, {
      min: 3,
      max: 1_024,
    }),
  };
}

export function loadConfig(argv: string[]): ConfigResult {
  const flags = parseFlags(argv, {
    partitions: { type: 'string' },
    group: { type: 'string' },
    'group-session-timeout-ms': { type: 'string' },
    ...CONNECTION_FLAGS,
    ...TOPIC_FLAGS,
    ...WORKER_TUNING_FLAGS,
    'max-payload-bytes': { type: 'string' },
    'max-batch-bytes': { type: 'string' },
    'worker-heap-mb': { type: 'string' },
    'shutdown-timeout-ms': { type: 'string' },
    'log-level': { type: 'string' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) return { help: true };

  const problems: Problems = [];
  const partitionList = flags.partitions ?? env('PARTITIONS_LIST') ?? `0-${DEFAULTS.partitions - 1}`;
  const autoPartitions = partitionList.trim() === 'auto';
  const parsed = autoPartitions ? { partitions: [], problems: [] } : parsePartitionList(partitionList);
  problems.push(...parsed.problems);
  const { kafka, databaseUrl } = readConnections(problems, flags);
  const logLevel = (flags['log-level'] ?? env('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);

  const config: IngesterConfig = {
    partitions: Object.freeze(parsed.partitions),
    autoPartitions,
    group: nonEmptyOption(problems, 'group', flags.group ?? env('KAFKA_GROUP'), 'zipbank-ingester'),
    groupSessionTimeoutMs: integerOption(
      problems,
      'group-session-timeout-ms',
      flags['group-session-timeout-ms'] ?? env('KAFKA_GROUP_SESSION_TIMEOUT_MS'),
      10_000,
      { min: 6_000, max: 300_000 },
    ),
    kafka,
    databaseUrl,
    ...readTopics(problems, flags),
    ...readWorkerTuning(problems, flags),
    maxPayloadBytes: integerOption(
      problems,
      'max-payload-bytes',
      flags['max-payload-bytes'] ?? env('MAX_PAYLOAD_BYTES'),
      65_536,
      { min: 64, max: 10_485_760 },
    ),
    maxBatchBytes: integerOption(
      problems,
      'max-batch-bytes',
      flags['max-batch-bytes'] ?? env('MAX_BATCH_BYTES'),
      16_777_216,
      { min: 1_024, max: 268_435_456 },
    ),
    workerHeapMb: integerOption(problems, 'worker-heap-mb', flags['worker-heap-mb'] ?? env('WORKER_HEAP_MB'), 256, {
      min: 64,
      max: 16_384,
    }),
    shutdownTimeoutMs: integerOption(
      problems,
      'shutdown-timeout-ms',
      flags['shutdown-timeout-ms'] ?? env('SHUTDOWN_TIMEOUT_MS'),
      30_000,
      { min: 1_000, max: 600_000 },
    ),
    metricsHost: nonEmptyOption(problems, 'metrics-host', flags['metrics-host'] ?? env('METRICS_HOST'), '0.0.0.0'),
    metricsPort: integerOption(problems, 'metrics-port', flags['metrics-port'] ?? env('METRICS_PORT'), 9464, {
      min: 0,
      max: 65_535,
    }),
    logLevel,
  };
  if (config.customersTopic === config.transactionsTopic)
    problems.push('customers-topic and transactions-topic must differ');
  if (config.maxBatchBytes < config.maxPayloadBytes)
    problems.push(
      `max-batch-bytes (${config.maxBatchBytes}) must be at least max-payload-bytes (${config.maxPayloadBytes})`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return { help: false, config: Object.freeze(config) };
}
