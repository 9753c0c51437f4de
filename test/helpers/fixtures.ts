// Test fixtures against the real broker and the real database: each test gets its own topics
// and its own database, removed again when the test ends.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ensureTopics } from '../../src/kafka/ensure-topics.js';
import { TopicAdmin } from '../../src/kafka/topic-admin.js';
import { dropDatabase } from '../../src/db/ensure-database.js';
import { ConfirmedProducer } from '../../src/kafka/confirmed-producer.js';
import { loadConfig, type IngesterConfig } from '../../src/config/ingester-config.js';

const execFileAsync = promisify(execFile);

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const SERVER_URL = process.env.TEST_POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

interface Teardown {
  teardown(fn: () => unknown): void;
}

let counter = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}

export interface TestTopics {
  customersTopic: string;
  transactionsTopic: string;
  partitions: number;
}

/** Two topics of the test's own (topic settings in `config`), deleted when the test ends. */
export async function withTopics(
  t: Teardown,
  partitions = 8,
  config: Record<string, string> = {},
): Promise<TestTopics> {
  const customersTopic = uniqueName('test-customers');
  const transactionsTopic = uniqueName('test-events');
  t.teardown(async () => {
    const admin = await TopicAdmin.connect(BROKERS);
    try {
      await admin.deleteTopic(customersTopic);
      await admin.deleteTopic(transactionsTopic);
    } finally {
      await admin.close();
    }
  });
  await ensureTopics(BROKERS, [customersTopic, transactionsTopic], partitions, config);
  return { customersTopic, transactionsTopic, partitions };
}

/** A URL for a database of the test's own, dropped when the test ends; not created here. */
export function testDatabaseUrl(t: Teardown): string {
  const url = `${SERVER_URL}/${uniqueName('zipbank_test')}`;
  t.teardown(() => dropDatabase(url));
  return url;
}

/** A migrated database of the test's own. */
export async function withDatabase(t: Teardown): Promise<string> {
  const url = testDatabaseUrl(t);
  const result = await runNode('dist/setup/migrate.js', [], { DATABASE_URL: url });
  if (result.code !== 0) throw new Error(`migration failed: ${result.stderr}`);
  return url;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of the built entry points (dist/...) the way npm scripts do. */
export async function runNode(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<RunResult> {
  const nodeArgs = script.endsWith('migrate.js') ? ['--no-warnings=ExperimentalWarning'] : [];
  try {
    const { stdout, stderr } = await execFileAsync(
      process.execPath,
      [...nodeArgs, path.join(PROJECT_DIR, script), ...args],
      {
        cwd: PROJECT_DIR,
        env: { ...process.env, ...env },
        timeout: timeoutMs,
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? String(err) };
  }
}

/** Runs scripts/kafka.sh start|stop|status with the given environment; never throws. */
export async function kafkaScript(
  command: string | string[],
  env: Record<string, string>,
): Promise<{ code: number; out: string }> {
  const args = Array.isArray(command) ? command : [command];
  try {
    const { stdout, stderr } = await execFileAsync('bash', [path.join(PROJECT_DIR, 'scripts/kafka.sh'), ...args], {
      env: { ...process.env, ...env },
      timeout: 180_000,
    });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

/**
 * A broker of the test's own (own folder and ports, the shared jars), for tests that stop or
 * crash it; removed when the test ends.
 */
export async function privateBroker(
  t: Teardown,
  port: number,
): Promise<{ brokers: string; env: Record<string, string> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-kafka-'));
  const env = {
    KAFKA_DIR: dir,
    KAFKA_LIBS_DIR: path.join(PROJECT_DIR, '.kafka/libs'),
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(port + 1),
  };
  t.teardown(async () => {
    await kafkaScript('stop', env);
    await rm(dir, { recursive: true, force: true });
  });
  return { brokers: `127.0.0.1:${port}`, env };
}

/**
 * A three-node KRaft cluster of the test's own (replication factor 3, min.insync.replicas 2) on
 * ports basePort..basePort+2, controllers 100 above; stopped and removed when the test ends.
 */
export async function privateCluster(
  t: Teardown,
  basePort: number,
): Promise<{ brokers: string; env: Record<string, string> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-kafka3-'));
  const env = {
    KAFKA_DIR: dir,
    KAFKA_LIBS_DIR: path.join(PROJECT_DIR, '.kafka/libs'),
    KAFKA_PORT: String(basePort),
    KAFKA_NODES: '3',
  };
  t.teardown(async () => {
    await kafkaScript('stop', env);
    await rm(dir, { recursive: true, force: true });
  });
  const started = await kafkaScript('start', env);
  if (started.code !== 0) throw new Error(`the three-node cluster did not start:\n${started.out}`);
  return { brokers: [0, 1, 2].map((i) => `127.0.0.1:${basePort + i}`).join(','), env };
}

/** Kafka's own AdminClient deletes records below an offset, exactly as retention would. */
export async function deleteRecordsBefore(topic: string, partition: number, offset: number): Promise<void> {
  await execFileAsync(
    'java',
    [
      '-cp',
      path.join(PROJECT_DIR, '.kafka/libs/*'),
      path.join(PROJECT_DIR, 'test/helpers/DeleteRecords.java'),
      BROKERS,
      topic,
      String(partition),
      String(offset),
    ],
    { timeout: 60_000 },
  );
}

/** Reads a whole topic with kcat, an independent Kafka client: one entry per record. */
export async function readTopicWithKcat(topic: string): Promise<{ partition: number; key: string; value: string }[]> {
  const { stdout } = await execFileAsync('kcat', ['-C', '-b', BROKERS, '-t', topic, '-e', '-q', '-f', '%p\t%k\t%s\n'], {
    maxBuffer: 512 * 1024 * 1024,
    timeout: 120_000,
  });
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [partition, key, value] = line.split('\t');
      return { partition: Number(partition), key: key ?? '', value: value ?? '' };
    });
}

/** A JSON record value. */
export const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/**
 * Sends records (topic, partition, value, and optionally the producer's timestamp) to the shared
 * broker and waits until all are stored.
 */
export async function sendRecords(
  records: [topic: string, partition: number, value: Buffer, timestamp?: number][],
): Promise<void> {
  const producer = await ConfirmedProducer.connect(BROKERS, 'test-producer');
  try {
    for (const [topic, partition, value, timestamp] of records)
      await producer.send(topic, partition, 'k', value, timestamp);
    await producer.confirmAll();
  } finally {
    await producer.close();
  }
}

/** The ingester's configuration for branch 0 of the test's own topics and database, quiet logs. */
export function branchZeroConfig(databaseUrl: string, topics: TestTopics): IngesterConfig {
  const loaded = loadConfig([
    '--partitions',
    '0',
    '--brokers',
    BROKERS,
    '--database-url',
    databaseUrl,
    '--customers-topic',
    topics.customersTopic,
    '--transactions-topic',
    topics.transactionsTopic,
    '--log-level',
    'warn',
  ]);
  if (loaded.help) throw new Error('unexpected --help');
  return loaded.config;
}
