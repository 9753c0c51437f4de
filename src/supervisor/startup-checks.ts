// What the supervisor checks before it starts a single worker thread: the database is the one
// this build was made for (src/db/schema-check.ts) and every branch has its partition on both
// topics (src/kafka/topic-check.ts). A setup that can never work ends the process with exit 2
// and one line naming the cause and the fix; an unreachable server is an outage, waited out,
// each log line saying what cannot be reached.
import { checkSchema } from '../db/schema-check.js';
import { checkBranchTopics } from '../kafka/topic-check.js';
import { Backoff } from '../core/backoff.js';
import type { IngesterError } from '../core/errors.js';
import { retry } from '../core/retry.js';
import { isStop } from '../core/stop-signal.js';
import type { IngesterConfig } from '../config/ingester-config.js';
import type { Logger } from '../core/log.js';
import type { BranchStatus } from './branch-status.js';

export type StartupOutcome = 'ok' | 'stopped' | 'fatal';

/** With the number of branches the topics have (what --partitions auto can spread). */
export async function runStartupChecks(
  config: IngesterConfig,
  stop: AbortSignal,
  log: Logger,
  status: BranchStatus,
): Promise<{ outcome: StartupOutcome; branches: number }> {
  const { readiness, metrics } = status;
  let newerMigrations: string[] = [];
  const database = await waitFor(
    'the database',
    async () => {
      ({ newerMigrations } = await checkSchema(config.databaseUrl));
    },
    stop,
    log,
    (reason) => readiness.startupProblem('database', reason),
  );
  if (database !== 'ok') return { outcome: database, branches: 0 };
  metrics.newerMigrations(newerMigrations.length);
  if (newerMigrations.length > 0) {
    // A rollout in progress: the next release migrated first. Its migrations are additive.
    log.warn(
      { newerMigrations },
      `the database has ${newerMigrations.length} migration(s) of a newer release (${newerMigrations.join(', ')}); running on it, as expand-and-contract allows`,
    );
  }
  let branches = 0;
  const kafka = await waitFor(
    'Kafka',
    async () => {
      branches = await checkBranchTopics(
        config.kafka,
        [config.customersTopic, config.transactionsTopic],
        config.autoPartitions ? 'all' : config.partitions,
      );
    },
    stop,
    log,
    (reason) => readiness.startupProblem('kafka', reason),
  );
  return { outcome: kafka, branches };
}

/** Runs `check` until it passes, fails for good (fatal), or stop is requested. */
async function waitFor(
  what: string,
  check: () => Promise<void>,
  stop: AbortSignal,
  log: Logger,
  report: (reason: string | undefined) => void,
): Promise<StartupOutcome> {
  try {
    await retry(check, {
      signal: stop,
      backoff: new Backoff(1_000, 30_000),
      observer: {
        failed: (_what, { err, attempt, delayMs, repeated }) => {
          report(err.message);
          // The same failure again is one short line, not a stack per attempt.
          if (!repeated) log.error({ code: err.code, delayMs }, `waiting for ${what}: ${err.message}`);
          else log.warn({ attempt, delayMs }, `still waiting for ${what}`);
        },
        recovered: () => log.info(`${what} reachable again`),
      },
    });
    report(undefined);
    return 'ok';
  } catch (err) {
    if (isStop(err)) return 'stopped';
    const message = err instanceof Error ? err.message : String(err);
    log.fatal({ code: (err as IngesterError).code }, message);
    process.stderr.write(`supervisor: ${message}\n`);
    return 'fatal';
  }
}
