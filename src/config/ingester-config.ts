// Ingester configuration: flags first, then environment variables, then DEFAULTS. Validated once,
// every problem reported in one ConfigError, then frozen.
import { env } from '../core/env.js';
import { integerOption, nonEmptyOption, parseFlags, type Problems } from './options.js';
import { INTEGER_SETTINGS, type IntegerSetting, settingsHelp, TEXT_SETTINGS, type TextSetting } from './settings.js';
import { CONNECTION_FLAGS, readConnections, readTopics, TOPIC_FLAGS } from './connection-options.js';
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
  /** A query without any answer this long drops its connection (src/db/silent-connection.ts). */
  readonly databaseResponseTimeoutMs: number;
  /** /healthz fails when a branch's loop has shown no sign of life this long (src/supervisor/liveness.ts). */
  readonly livenessTimeoutMs: number;
  /** Upper bound for a clean shutdown; see docs/operations.md, "Shutdown". */
  readonly shutdownTimeoutMs: number;
  /** Where /healthz, /readyz and /metrics are served. */
  readonly metricsHost: string;
  readonly metricsPort: number;
}

export const HELP = `Usage: node dist/supervisor.js [options]   (or node dist/main.cjs, the same supervisor)

Ingests branch partitions of the customers and transactions topics into PostgreSQL, one worker
thread per partition (or per --branches-per-thread partitions). Flags win over the environment
variables in brackets, which win over the defaults.

${settingsHelp()}`;

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export type ConfigResult = { help: true } | { help: false; config: IngesterConfig };

/** A whole-number setting: its flag, else its variable, else its default, within its bounds. */
function integerSetting(problems: Problems, setting: IntegerSetting, flag: string | undefined): number {
  return integerOption(problems, setting.flag, flag ?? env(setting.variable), setting.default, setting);
}

/** A text setting: its flag, else its variable, else its default; never empty. */
function textSetting(problems: Problems, setting: TextSetting, flag: string | undefined): string {
  return nonEmptyOption(problems, setting.flag, flag ?? env(setting.variable), setting.default);
}

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
  const s = INTEGER_SETTINGS;
  return {
    batchSize: integerSetting(problems, s.batchSize, flags['batch-size']),
    lingerMs: integerSetting(problems, s.lingerMs, flags['linger-ms']),
    branchesPerThread: integerSetting(problems, s.branchesPerThread, flags['branches-per-thread']),
    // V8's own default lets the young generation grow to half of a busy worker's heap; 12 MB
    // still holds the batch in flight (docs/performance.md has what it measured).
    workerYoungMb: integerSetting(problems, s.workerYoungMb, flags['worker-young-mb']),
  };
}

/** The parseArgs options of every setting in the table (all strings), besides --help. */
const SETTING_FLAGS = Object.fromEntries(
  [...Object.values(INTEGER_SETTINGS), ...Object.values(TEXT_SETTINGS)].map((s) => [s.flag, { type: 'string' }]),
) as Record<string, { type: 'string' }>;

export function loadConfig(argv: string[]): ConfigResult {
  const flags: Record<string, string | boolean | undefined> = parseFlags(argv, {
    ...SETTING_FLAGS,
    ...CONNECTION_FLAGS,
    ...TOPIC_FLAGS,
    help: { type: 'boolean' },
  });
  if (flags.help) return { help: true };
  const flag = (name: string) => flags[name] as string | undefined;

  const problems: Problems = [];
  const s = INTEGER_SETTINGS;
  const t = TEXT_SETTINGS;
  const partitionList = textSetting(problems, t.partitions, flag('partitions'));
  const autoPartitions = partitionList === 'auto';
  const parsed = autoPartitions ? { partitions: [], problems: [] } : parsePartitionList(partitionList);
  problems.push(...parsed.problems);
  const { kafka, databaseUrl } = readConnections(problems, flags as Parameters<typeof readConnections>[1]);
  const logLevel = textSetting(problems, t.logLevel, flag('log-level')).toLowerCase();
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);

  const config: IngesterConfig = {
    partitions: Object.freeze(parsed.partitions),
    autoPartitions,
    group: textSetting(problems, t.group, flag('group')),
    groupSessionTimeoutMs: integerSetting(problems, s.groupSessionTimeoutMs, flag('group-session-timeout-ms')),
    kafka,
    databaseUrl,
    ...readTopics(problems, flags as Parameters<typeof readTopics>[1]),
    ...readWorkerTuning(problems, flags as Parameters<typeof readWorkerTuning>[1]),
    maxPayloadBytes: integerSetting(problems, s.maxPayloadBytes, flag('max-payload-bytes')),
    maxBatchBytes: integerSetting(problems, s.maxBatchBytes, flag('max-batch-bytes')),
    workerHeapMb: integerSetting(problems, s.workerHeapMb, flag('worker-heap-mb')),
    databaseResponseTimeoutMs: integerSetting(
      problems,
      s.databaseResponseTimeoutMs,
      flag('database-response-timeout-ms'),
    ),
    livenessTimeoutMs: integerSetting(problems, s.livenessTimeoutMs, flag('liveness-timeout-ms')),
    shutdownTimeoutMs: integerSetting(problems, s.shutdownTimeoutMs, flag('shutdown-timeout-ms')),
    metricsHost: textSetting(problems, t.metricsHost, flag('metrics-host')),
    metricsPort: integerSetting(problems, s.metricsPort, flag('metrics-port')),
    logLevel,
  };
  if (config.customersTopic === config.transactionsTopic)
    problems.push('customers-topic and transactions-topic must differ');
  if (config.maxBatchBytes < config.maxPayloadBytes)
    problems.push(
      `max-batch-bytes (${config.maxBatchBytes}) must be at least max-payload-bytes (${config.maxPayloadBytes})`,
    );
  // A branch waiting for a dead connection to be dropped is not stuck: liveness waits longer.
  if (config.livenessTimeoutMs <= config.databaseResponseTimeoutMs)
    problems.push(
      `liveness-timeout-ms (${config.livenessTimeoutMs}) must be above database-response-timeout-ms (${config.databaseResponseTimeoutMs})`,
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return { help: false, config: Object.freeze(config) };
}
