// A throw-away pair of topics and a database for one load test or benchmark run, so a
// measurement never mixes with earlier data; removed afterwards unless asked to keep them.
import { spawn } from 'node:child_process';
import { ensureTopics } from '../../kafka/ensure-topics.js';
import { TopicAdmin } from '../../kafka/topic-admin.js';
import { dropDatabase } from '../../db/ensure-database.js';
import { PROJECT_DIR } from './ingester-process.js';
import type { KafkaConnection } from '../../kafka/kafka-settings.js';

export interface ScratchEnvironment {
  kafka: KafkaConnection;
  customersTopic: string;
  transactionsTopic: string;
  partitions: number;
  /** Creates more topics with the run's partitions (a peer's input), deleted by cleanup. */
  addTopics(names: string[]): Promise<void>;
  /** Creates (and migrates) a fresh database named after the run; dropped by cleanup. */
  newDatabase(suffix: string): Promise<string>;
  /** Drops one of them early (a benchmark's runs would otherwise pile up on disk); unless kept. */
  dropDatabase(url: string): Promise<void>;
  cleanup(): Promise<void>;
}

export async function createScratchEnvironment(options: {
  kafka: KafkaConnection;
  serverUrl: string;
  partitions: number;
  runId: string;
  keep: boolean;
}): Promise<ScratchEnvironment> {
  const customersTopic = `${options.runId}-customers`;
  const transactionsTopic = `${options.runId}-events`;
  await ensureTopics(options.kafka, [customersTopic, transactionsTopic], options.partitions);
  const databases: string[] = [];
  const topics = [customersTopic, transactionsTopic];
  return {
    kafka: options.kafka,
    customersTopic,
    transactionsTopic,
    partitions: options.partitions,
    async addTopics(names: string[]) {
      await ensureTopics(options.kafka, names, options.partitions);
      topics.push(...names);
    },
    async newDatabase(suffix: string) {
      const url = new URL(options.serverUrl);
      url.pathname = `/${options.runId.replace(/[^a-z0-9_]/gi, '_')}_${suffix}`;
      const databaseUrl = url.toString();
      databases.push(databaseUrl);
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--no-warnings=ExperimentalWarning', 'dist/setup/migrate.js', '--database-url', databaseUrl],
          { cwd: PROJECT_DIR, stdio: ['ignore', 'ignore', 'inherit'] },
        );
        child.once('error', reject);
        child.once('exit', resolve);
      });
      if (code !== 0) throw new Error(`migrating ${suffix} database failed (exit ${code})`);
      return databaseUrl;
    },
    async dropDatabase(url: string) {
      if (options.keep) return;
      await dropDatabase(url);
      databases.splice(databases.indexOf(url), 1);
    },
    async cleanup() {
      if (options.keep) return;
      for (const url of databases) await dropDatabase(url).catch(() => undefined);
      const admin = await TopicAdmin.connect(options.kafka);
      try {
        for (const topic of topics) await admin.deleteTopic(topic);
      } finally {
        await admin.close();
      }
    },
  };
}
