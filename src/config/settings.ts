// The supervisor's settings, one row each: flag, environment variable, default, bounds and what
// it means. loadConfig reads the values through this table, `--help` is printed from it, and the
// README's configuration table is generated from it (npm run docs:config; a test keeps it true).
import { DEFAULTS } from './defaults.js';

export interface IntegerSetting {
  readonly flag: string;
  readonly variable: string;
  readonly default: number;
  readonly min: number;
  readonly max: number;
  /** For --help: a few words. */
  readonly help: string;
  /** For the README, when more should be said than --help says. */
  readonly note?: string;
}

export interface TextSetting {
  readonly flag: string;
  readonly variable: string;
  readonly default: string;
  readonly placeholder: string;
  readonly help: string;
  readonly note?: string;
}

/** Whole-number settings, by the IngesterConfig field they fill. */
export const INTEGER_SETTINGS = Object.freeze({
  groupSessionTimeoutMs: {
    flag: 'group-session-timeout-ms',
    variable: 'KAFKA_GROUP_SESSION_TIMEOUT_MS',
    default: 10_000,
    min: 6_000,
    max: 300_000,
    help: "how soon a dead member's branches move",
  },
  batchSize: {
    flag: 'batch-size',
    variable: 'BATCH_SIZE',
    default: 2_000,
    min: 1,
    max: 50_000,
    help: 'records per Postgres transaction',
  },
  lingerMs: {
    flag: 'linger-ms',
    variable: 'LINGER_MS',
    default: 0,
    min: 0,
    max: 60_000,
    help: 'keep a batch collecting this long after its first record (0: write it once the last write ends)',
  },
  maxPayloadBytes: {
    flag: 'max-payload-bytes',
    variable: 'MAX_PAYLOAD_BYTES',
    default: 65_536,
    min: 64,
    max: 10_485_760,
    help: 'larger records are rejected unread',
  },
  maxBatchBytes: {
    flag: 'max-batch-bytes',
    variable: 'MAX_BATCH_BYTES',
    default: 16_777_216,
    min: 1_024,
    max: 268_435_456,
    help: 'bytes of keys and values per batch',
  },
  workerHeapMb: {
    flag: 'worker-heap-mb',
    variable: 'WORKER_HEAP_MB',
    default: 256,
    min: 64,
    max: 16_384,
    help: 'V8 heap limit of each branch worker thread',
  },
  workerYoungMb: {
    flag: 'worker-young-mb',
    variable: 'WORKER_YOUNG_MB',
    default: 12,
    min: 3,
    max: 1_024,
    help: 'V8 young-generation limit of each branch worker thread',
  },
  branchesPerThread: {
    flag: 'branches-per-thread',
    variable: 'BRANCHES_PER_THREAD',
    default: 1,
    min: 1,
    max: 64,
    help: 'branches sharing a worker thread and its Postgres connection',
    note: 'a thread of its own per branch (the design card); k lets k branches share one and its connection (docs/deploy.md)',
  },
  databaseResponseTimeoutMs: {
    flag: 'database-response-timeout-ms',
    variable: 'DATABASE_RESPONSE_TIMEOUT_MS',
    default: 30_000,
    min: 1_000,
    max: 600_000,
    help: 'a query without any answer this long drops its connection',
    note: 'a connection that stops answering without being closed is dropped and the write retried on a new one; keep it above the 15 s statement timeout',
  },
  livenessTimeoutMs: {
    flag: 'liveness-timeout-ms',
    variable: 'LIVENESS_TIMEOUT_MS',
    default: 90_000,
    min: 2_000,
    max: 3_600_000,
    help: '/healthz fails when a branch makes no progress this long',
    note: 'a branch whose loop neither moves nor waits on purpose for this long is stuck: /healthz answers 503 so that Kubernetes restarts the pod; above database-response-timeout-ms',
  },
  shutdownTimeoutMs: {
    flag: 'shutdown-timeout-ms',
    variable: 'SHUTDOWN_TIMEOUT_MS',
    default: 30_000,
    min: 1_000,
    max: 600_000,
    help: 'bound for a clean shutdown',
  },
  metricsPort: {
    flag: 'metrics-port',
    variable: 'METRICS_PORT',
    default: 9464,
    min: 0,
    max: 65_535,
    help: '/healthz, /readyz, /metrics; 0 = any free port, logged',
  },
} satisfies Record<string, IntegerSetting>);

/** Text settings, by the IngesterConfig field they fill (partitions: the list it is parsed from). */
export const TEXT_SETTINGS = Object.freeze({
  partitions: {
    flag: 'partitions',
    variable: 'PARTITIONS_LIST',
    default: `0-${DEFAULTS.partitions - 1}`,
    placeholder: 'list',
    help: 'branch partitions, e.g. 0-7, 0,3,5 or 2-4,7; auto: the consumer group spreads them',
  },
  group: {
    flag: 'group',
    variable: 'KAFKA_GROUP',
    default: 'zipbank-ingester',
    placeholder: 'name',
    help: 'the consumer group of --partitions auto',
  },
  metricsHost: {
    flag: 'metrics-host',
    variable: 'METRICS_HOST',
    default: '0.0.0.0',
    placeholder: 'addr',
    help: 'address /metrics and the health endpoints listen on',
  },
  logLevel: {
    flag: 'log-level',
    variable: 'LOG_LEVEL',
    default: 'info',
    placeholder: 'level',
    help: 'trace, debug, info, warn, error, fatal or silent',
  },
} satisfies Record<string, TextSetting>);

/** Settings shared with the CLI and the tools (src/config/connection-options.ts reads them). */
export const CONNECTION_SETTINGS: readonly TextSetting[] = Object.freeze([
  {
    flag: 'brokers',
    variable: 'KAFKA_BROKERS',
    default: DEFAULTS.brokers,
    placeholder: 'list',
    help: 'Kafka bootstrap servers',
  },
  {
    flag: 'kafka-config',
    variable: 'KAFKA_CONFIG_FILE',
    default: '',
    placeholder: 'file',
    help: 'librdkafka settings (TLS, SASL), key=value lines; also KAFKA_CFG_* variables',
  },
  {
    flag: 'database-url',
    variable: 'DATABASE_URL',
    default: DEFAULTS.databaseUrl,
    placeholder: 'url',
    help: 'PostgreSQL URL, or DATABASE_URL_FILE. Give secrets by environment or file, not by flag: flags show in ps',
  },
  {
    flag: 'customers-topic',
    variable: 'CUSTOMERS_TOPIC',
    default: DEFAULTS.customersTopic,
    placeholder: 'name',
    help: 'customer creations',
  },
  {
    flag: 'transactions-topic',
    variable: 'TRANSACTIONS_TOPIC',
    default: DEFAULTS.transactionsTopic,
    placeholder: 'name',
    help: 'deposits and withdrawals',
  },
]);

/** Every setting in the order --help and the README list them. */
export function allSettings(): { setting: IntegerSetting | TextSetting; placeholder: string }[] {
  const text = (s: TextSetting) => ({ setting: s, placeholder: s.placeholder });
  const integer = (s: IntegerSetting) => ({ setting: s, placeholder: 'n' });
  return [
    text(TEXT_SETTINGS.partitions),
    text(TEXT_SETTINGS.group),
    integer(INTEGER_SETTINGS.groupSessionTimeoutMs),
    ...CONNECTION_SETTINGS.map(text),
    ...Object.values(INTEGER_SETTINGS)
      .filter((s) => s !== INTEGER_SETTINGS.groupSessionTimeoutMs && s !== INTEGER_SETTINGS.metricsPort)
      .map(integer),
    integer(INTEGER_SETTINGS.metricsPort),
    text(TEXT_SETTINGS.metricsHost),
    text(TEXT_SETTINGS.logLevel),
  ];
}

/** One option's line of a --help text. */
export function helpLine(setting: IntegerSetting | TextSetting, placeholder: string): string {
  const left = `  --${setting.flag} <${placeholder}>`.padEnd(33);
  const fallback = setting.default === '' ? '' : `, default ${setting.default}`;
  const where = `(${setting.variable}${fallback})`;
  const line = `${left}${setting.help} ${where}`;
  // Past 100 columns, where the value comes from goes on a line of its own.
  return line.length <= 100 ? line : `${left}${setting.help}\n${' '.repeat(33)}${where}`;
}

/** The connection settings' lines of a --help text, by flag (src/config/connection-options.ts). */
export function connectionHelp(flags: readonly string[]): string {
  return CONNECTION_SETTINGS.filter((s) => flags.includes(s.flag))
    .map((s) => helpLine(s, s.placeholder))
    .join('\n');
}

/** The supervisor's --help, from the table. */
export function settingsHelp(): string {
  const lines = allSettings().map(({ setting, placeholder }) => helpLine(setting, placeholder));
  return `${lines.join('\n')}\n${'  --help'.padEnd(33)}this text\n`;
}

/** The README's configuration table, from the table (npm run docs:config writes it there). */
export function settingsMarkdown(): string {
  const rows = allSettings().map(({ setting }) => {
    const fallback = setting.default === '' ? '' : `\`${setting.default}\``;
    const note = setting.note ?? setting.help;
    return `| \`${setting.variable}\` | \`--${setting.flag}\` | ${fallback}${fallback ? ': ' : ''}${note} |`;
  });
  return ['| variable | flag | default and meaning |', '|---|---|---|', ...rows].join('\n');
}
