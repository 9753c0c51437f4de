// Where Kafka and Postgres are, and how to reach them: read the same way by the supervisor, the
// CLI and every tool. Secrets are best given by environment or file, not by flag (a flag shows
// in `ps` and in shell history): DATABASE_URL or DATABASE_URL_FILE, KAFKA_CFG_SASL_PASSWORD or
// KAFKA_CFG_SASL_PASSWORD_FILE.
import { readFileSync } from 'node:fs';
import { DEFAULTS } from './defaults.js';
import { env } from '../core/env.js';
import { nonEmptyOption, type Problems } from './options.js';
import { connectionHelp } from './settings.js';
import { splitDatabaseUrl } from '../db/database-url.js';
import { readKafkaConnection, type KafkaConnection } from '../kafka/kafka-settings.js';

/** The parseArgs options of the Kafka flags, for commands to spread into theirs. */
export const KAFKA_FLAGS = Object.freeze({
  brokers: { type: 'string' },
  'kafka-config': { type: 'string' },
} as const);

/** The parseArgs options of the two topics, for commands to spread into theirs. */
export const TOPIC_FLAGS = Object.freeze({
  'customers-topic': { type: 'string' },
  'transactions-topic': { type: 'string' },
} as const);

export interface Topics {
  customersTopic: string;
  transactionsTopic: string;
}

/** The two topics: flag, then CUSTOMERS_TOPIC / TRANSACTIONS_TOPIC, then the defaults. */
export function readTopics(
  problems: Problems,
  flags: { 'customers-topic'?: string | undefined; 'transactions-topic'?: string | undefined },
): Topics {
  return {
    customersTopic: nonEmptyOption(
      problems,
      'customers-topic',
      flags['customers-topic'] ?? env('CUSTOMERS_TOPIC'),
      DEFAULTS.customersTopic,
    ),
    transactionsTopic: nonEmptyOption(
      problems,
      'transactions-topic',
      flags['transactions-topic'] ?? env('TRANSACTIONS_TOPIC'),
      DEFAULTS.transactionsTopic,
    ),
  };
}

/** Kafka and database flags together. */
export const CONNECTION_FLAGS = Object.freeze({ ...KAFKA_FLAGS, 'database-url': { type: 'string' } } as const);

export const KAFKA_HELP = connectionHelp(['brokers', 'kafka-config']);

export const CONNECTION_HELP = connectionHelp(['brokers', 'kafka-config', 'database-url']);

export interface Connections {
  readonly kafka: KafkaConnection;
  readonly databaseUrl: string;
}

type KafkaFlags = { brokers?: string | undefined; 'kafka-config'?: string | undefined };

/** Brokers and librdkafka settings from flags, environment and files; problems pushed. */
export function readKafka(problems: Problems, flags: KafkaFlags): KafkaConnection {
  const brokers = nonEmptyOption(problems, 'brokers', flags.brokers ?? env('KAFKA_BROKERS'), DEFAULTS.brokers);
  return readKafkaConnection(problems, brokers, flags['kafka-config'] ?? env('KAFKA_CONFIG_FILE'));
}

export function readConnections(
  problems: Problems,
  flags: KafkaFlags & { 'database-url'?: string | undefined },
): Connections {
  return Object.freeze({
    kafka: readKafka(problems, flags),
    databaseUrl: readDatabaseUrl(problems, flags['database-url']),
  });
}

/** --database-url, else DATABASE_URL, else the content of the file DATABASE_URL_FILE names. */
export function readDatabaseUrl(problems: Problems, flag: string | undefined): string {
  const databaseUrl = nonEmptyOption(
    problems,
    'database-url',
    flag ?? readSecret(problems, 'DATABASE_URL'),
    DEFAULTS.databaseUrl,
  );
  try {
    splitDatabaseUrl(databaseUrl);
  } catch (err) {
    problems.push(`database-url: ${(err as Error).message}`);
  }
  return databaseUrl;
}

/**
 * A secret from the environment: the variable itself, else the content of the file its `_FILE`
 * twin names (how Kubernetes mounts a Secret), without a trailing newline.
 */
export function readSecret(problems: Problems, variable: string): string | undefined {
  const direct = env(variable);
  if (direct !== undefined) return direct;
  const file = env(`${variable}_FILE`);
  if (file === undefined) return undefined;
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    problems.push(
      `${variable}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
    return undefined;
  }
}
