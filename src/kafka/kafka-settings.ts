// Extra librdkafka settings for every Kafka client the project creates (branch consumers, topic
// admin, producers, CLI, load tools): TLS, SASL, timeouts, whatever a secured cluster needs.
// Read once, in this order, later sources winning:
//   1. a properties file: --kafka-config FILE or KAFKA_CONFIG_FILE, the key=value format of
//      Kafka's own client.properties (# and ! start comments);
//   2. environment variables KAFKA_CFG_<NAME>: NAME upper-cased with '.' written as '_' and a
//      literal '_' as '__' (KAFKA_CFG_SECURITY_PROTOCOL -> security.protocol,
//      KAFKA_CFG_LOG__LEVEL -> log_level);
//   3. KAFKA_CFG_<NAME>_FILE: the setting's value is that file's content (a mounted Secret).
// Each setting is validated by librdkafka itself at start-up; a setting the ingester owns
// (brokers, group and offset handling) is refused, since changing it would break exactly-once.
import { readFileSync } from 'node:fs';
import Kafka from 'node-rdkafka';
import { retainHandle } from './retain-handle.js';
import type { Problems } from '../core/errors.js';

/** Where Kafka is and how to talk to it: what every client of the project is made from. */
export interface KafkaConnection {
  readonly brokers: string;
  readonly settings: Readonly<Record<string, string>>;
}

const ENV_PREFIX = 'KAFKA_CFG_';

/** Settings the project sets itself; the reason is shown to whoever tries. */
const OWNED: Record<string, string> = {
  'bootstrap.servers': 'use --brokers / KAFKA_BROKERS',
  'metadata.broker.list': 'use --brokers / KAFKA_BROKERS',
  'group.id': 'set by the ingester (offsets live in Postgres)',
  'enable.auto.commit': 'set by the ingester (offsets live in Postgres)',
  'enable.auto.offset.store': 'set by the ingester (offsets live in Postgres)',
  'auto.offset.reset': 'set by the ingester (a vanished offset is an offset gap, never skipped)',
  'enable.partition.eof': 'set by the ingester',
};

/** Keys whose values are secrets: never logged, never echoed in an error. */
export function isSecretSetting(key: string): boolean {
  return /password|secret|passphrase|\.key\.pem$|^ssl\.key\.|token|credentials/i.test(key);
}

export function kafkaConnection(brokersOrConnection: string | KafkaConnection): KafkaConnection {
  return typeof brokersOrConnection === 'string' ? { brokers: brokersOrConnection, settings: {} } : brokersOrConnection;
}

/** The settings fit for a log line: secret values replaced by ***. */
export function describeSettings(settings: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, isSecretSetting(k) ? '***' : v]));
}

/** Kafka's client.properties format: key=value (or key: value) per line, # and ! comments. */
export function parseProperties(text: string): { settings: Record<string, string>; problems: string[] } {
  const settings: Record<string, string> = {};
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) return;
    const match = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (!match) problems.push(`line ${i + 1}: expected key=value`);
    else settings[match[1]!] = match[2]!;
  });
  return { settings, problems };
}

/** KAFKA_CFG_SASL_PASSWORD -> sasl.password; KAFKA_CFG_LOG__LEVEL -> log_level. */
export function settingName(envName: string): string {
  return envName
    .slice(ENV_PREFIX.length)
    .toLowerCase()
    .split('__')
    .map((part) => part.replaceAll('_', '.'))
    .join('_');
}

/**
 * Reads the settings from the file and the environment, pushes every problem (unreadable file,
 * bad line, owned or unknown key, value librdkafka refuses) and resolves the connection.
 */
export function readKafkaConnection(
  problems: Problems,
  brokers: string,
  configFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): KafkaConnection {
  const settings: Record<string, string> = {};
  if (configFile !== undefined) {
    try {
      const parsed = parseProperties(readFileSync(configFile, 'utf8'));
      problems.push(...parsed.problems.map((p) => `kafka-config ${configFile}: ${p}`));
      Object.assign(settings, parsed.settings);
    } catch (err) {
      problems.push(
        `kafka-config: cannot read ${configFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined || name.endsWith('_FILE')) continue;
    settings[settingName(name)] = value;
  }
  for (const [name, file] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || !name.endsWith('_FILE') || file === undefined) continue;
    const key = settingName(name.slice(0, -'_FILE'.length));
    try {
      settings[key] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      problems.push(`${name}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  for (const key of Object.keys(settings)) {
    const owned = OWNED[key];
    if (owned) {
      problems.push(`kafka setting ${key}: ${owned}`);
      delete settings[key];
    }
  }
  problems.push(...librdkafkaProblems(settings));
  return Object.freeze({ brokers, settings: Object.freeze(settings) });
}

/**
 * librdkafka's own validation: each setting is applied to a client that never connects, one at a
 * time so that every bad key or value is named. A secret's value is never repeated.
 */
function librdkafkaProblems(settings: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(settings)) {
    try {
      // Never connected; kept reachable like every client (see retain-handle.ts).
      retainHandle(new Kafka.Producer({ 'metadata.broker.list': '127.0.0.1:9', [key]: value }));
    } catch (err) {
      const message = (err as Error).message;
      problems.push(`kafka setting ${key}: ${isSecretSetting(key) ? message.replaceAll(value, '***') : message}`);
    }
  }
  return problems;
}
