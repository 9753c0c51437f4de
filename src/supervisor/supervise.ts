// The supervisor: `node dist/main.cjs --partitions 0-7` (or `--partitions auto`: the Kafka
// consumer group decides). One worker thread per branch through piscina (src/branch-pool.ts); a
// worker that dies is restarted with backoff; SIGTERM or SIGINT stops every worker cooperatively
// and the process exits 0 within the bound. src/main.cts, the process entry, loads this module.
import { loadConfig, HELP, type IngesterConfig } from '../config/ingester-config.js';
import { ConfigError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/log.js';
import { redact } from '../db/database-url.js';
import { describeSettings } from '../kafka/kafka-settings.js';
import { Backoff } from '../core/backoff.js';
import { isStop, StoppedError, untilAborted } from '../core/stop-signal.js';
import { retry } from '../core/retry.js';
import { BranchPool, threadsFor } from './branch-pool.js';
import { consumerPacing } from '../kafka/consumer-pacing.js';
import { GroupMembership } from '../kafka/group-membership.js';
import { BranchStatus } from './branch-status.js';
import { Liveness } from './liveness.js';
import { startHttpServer } from './http-server.js';
import { runStartupChecks } from './startup-checks.js';
import { compileQueryCompilerModule, useQueryCompilerModule } from '../db/query-compiler-module.js';
import { supervisorThrowAfterMs } from '../worker/fault-injection.js';
import { endProcessOnUncaughtException } from './fatal-exit.js';
import { branchesWithoutCallThread, poolSize } from '../kafka/call-threads.cjs';

export async function supervise(config: IngesterConfig, log: Logger): Promise<number> {
  // Aborted by SIGTERM or SIGINT; every branch has a stop flag of its own besides (see BranchPool).
  const stopping = new AbortController();
  const stop = stopping.signal;
  let pool: BranchPool | undefined;
  let signalled = '';
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal while stopping; still waiting for workers to finish their batch');
      return;
    }
    signalled = signal;
    log.info(
      { signal, boundMs: config.shutdownTimeoutMs },
      'stopping: workers finish or abandon their batch and disconnect',
    );
    stopping.abort(new StoppedError());
    pool?.stopAll();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  // As libuv read it when the pool was first used (src/main.cts sizes it before that).
  const callThreads = poolSize(process.env.UV_THREADPOOL_SIZE);
  log.info(
    {
      partitions: config.autoPartitions ? 'auto' : config.partitions,
      group: config.autoPartitions ? config.group : undefined,
      brokers: config.kafka.brokers,
      kafkaSettings: describeSettings(config.kafka.settings),
      database: redact(config.databaseUrl),
      customersTopic: config.customersTopic,
      transactionsTopic: config.transactionsTopic,
      batchSize: config.batchSize,
      lingerMs: config.lingerMs,
      kafkaCallThreads: callThreads,
    },
    'supervisor started',
  );

  const status = new BranchStatus(config.partitions, new Liveness(config.livenessTimeoutMs, log));
  const server = await startHttpServer(status, config.metricsHost, config.metricsPort, log);
  // Compiled once here, used by this thread's Prisma clients and handed to every branch worker.
  const queryCompilerModule = await compileQueryCompilerModule();
  useQueryCompilerModule(queryCompilerModule);
  // Before any thread starts: a setup that can never work must not cost a thread per branch.
  const startup = await runStartupChecks(config, stop, log, status);
  if (startup.outcome !== 'ok') {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return startup.outcome === 'stopped' ? 0 : 2;
  }

  warnIfBranchesShareCallThreads(config.autoPartitions ? startup.branches : config.partitions.length, callThreads, log);

  let membership: GroupMembership | undefined;
  // Static: every listed branch from the start. Auto: branches as the group assigns them.
  const branchCount = config.autoPartitions
    ? { min: 0, max: startup.branches }
    : { min: config.partitions.length, max: config.partitions.length };
  const pacing = consumerPacing(branchCount.max, callThreads, config.lingerMs);
  log.info(
    {
      branches: branchCount.max,
      branchesPerThread: config.branchesPerThread,
      workerThreads: threadsFor(branchCount.max, config.branchesPerThread),
      ...pacing,
    },
    'branch workers',
  );
  pool = new BranchPool({
    config,
    log,
    status,
    queryCompilerModule,
    branches: branchCount,
    pacing,
    onCommitted: (partition, offset) => membership?.noteCommitted(partition, offset),
  });
  const branches = pool;
  if (config.autoPartitions) membership = await joinGroup(config, log, status, branches, stop);
  else for (const partition of config.partitions) branches.start(partition);
  const throwAfterMs = supervisorThrowAfterMs();
  if (throwAfterMs !== undefined)
    setTimeout(() => {
      throw new Error('injected supervisor fault (ZIPBANK_FAULT_SUPERVISOR_THROW_MS)');
    }, throwAfterMs);
  await untilAborted(stop);
  // Leaving the group first lets the other members take the branches over while ours drain.
  await membership?.leave();
  pool.stopAll();
  await pool.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  log.info({ signal: signalled }, 'supervisor stopped cleanly');
  return 0;
}

/**
 * --partitions auto: joins the consumer group, retrying while Kafka cannot be reached, and starts
 * or stops a branch worker for each branch the group assigns or revokes.
 */
async function joinGroup(
  config: IngesterConfig,
  log: Logger,
  status: BranchStatus,
  pool: BranchPool,
  stop: AbortSignal,
): Promise<GroupMembership | undefined> {
  const listener = {
    assigned(partitions: number[]) {
      // While stopping, the group may still hand over a leaving member's branches: not ours to start.
      if (stop.aborted) return;
      log.info(
        { assigned: partitions, group: config.group },
        'the consumer group assigned branches to this supervisor',
      );
      status.metrics.rebalanced('assigned');
      for (const p of partitions) {
        status.track(p);
        pool.start(p);
      }
    },
    revoked(partitions: number[]) {
      log.info(
        { revoked: partitions, group: config.group },
        'the consumer group moved branches away; stopping their workers',
      );
      status.metrics.rebalanced('revoked');
      for (const p of partitions) {
        status.untrack(p);
        void pool.stop(p);
      }
    },
  };
  const joining = retry(
    () =>
      GroupMembership.join(
        config.kafka,
        config.group,
        config.transactionsTopic,
        config.groupSessionTimeoutMs,
        listener,
      ),
    {
      signal: stop,
      backoff: new Backoff(1_000, 30_000),
      observer: {
        failed: (_what, { err, delayMs }) =>
          log.error(
            { code: err.code, delayMs },
            `could not join consumer group ${config.group}, retrying: ${err.message}`,
          ),
      },
    },
  );
  // Stopped before the group was joined: no membership to leave.
  return joining.catch((err: unknown) => {
    if (isStop(err)) return undefined;
    throw err;
  });
}

/** Started as `node dist/main.cjs`, the pool has a thread for each of 64 branches: more share. */
function warnIfBranchesShareCallThreads(branches: number, threads: number, log: Logger): void {
  const sharing = branchesWithoutCallThread(branches, threads);
  if (sharing > 0) {
    log.warn(
      { branches, kafkaCallThreads: threads },
      `${sharing} of up to ${branches} branches have no Kafka call thread of their own, so their consumers wait for each other: start the supervisor with UV_THREADPOOL_SIZE=${branches + 4} (src/kafka/call-threads.cts)`,
    );
  }
}

async function main(): Promise<void> {
  let config: IngesterConfig;
  try {
    const loaded = loadConfig(process.argv.slice(2));
    if (loaded.help) {
      process.stdout.write(HELP);
      return;
    }
    config = loaded.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`supervisor: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  const log = createLogger(config.logLevel, { role: 'supervisor' });
  endProcessOnUncaughtException(log);
  // The bound is enforced here: a worker stuck past it is reported and the process exits 1,
  // rather than terminating a thread that may still hold a librdkafka handle.
  const stopping = new Promise<number>((resolve) => {
    const arm = () => {
      const timer = setTimeout(() => {
        log.error({ boundMs: config.shutdownTimeoutMs }, 'workers did not stop within the shutdown bound');
        resolve(1);
      }, config.shutdownTimeoutMs);
      timer.unref();
    };
    process.once('SIGTERM', arm);
    process.once('SIGINT', arm);
  });
  const code = await Promise.race([supervise(config, log), stopping]);
  process.exit(code);
}

main().catch((err) => {
  process.stderr.write(
    `supervisor: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
