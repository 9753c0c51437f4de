// The supervisor: `node dist/supervisor.js --partitions 0-7`. One worker thread per branch
// partition through piscina; a worker that dies is restarted with backoff; SIGTERM or SIGINT
// stops every worker cooperatively (shared stop flag) and the process exits 0 within the bound.
import { Piscina } from 'piscina';
import { MessageChannel } from 'node:worker_threads';
import { loadConfig, HELP, type IngesterConfig } from './config.js';
import { ConfigError } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { redact } from './db/database-url.js';
import { describeSettings } from './kafka/kafka-settings.js';
import { Backoff } from './ingest/backoff.js';
import { requestStop, sleepUnlessStopped, stopRequested, type BranchResult, type BranchTask, type WorkerEvent } from './worker-protocol.js';
import { IngesterMetrics } from './metrics.js';
import { startHttpServer } from './http-server.js';
import { runStartupChecks } from './startup-checks.js';

/** A worker that ran this long before dying is healthy again: its next restart waits little. */
const HEALTHY_RUN_MS = 60_000;

export async function supervise(config: IngesterConfig, log: Logger): Promise<number> {
  const stopFlag = new SharedArrayBuffer(4);
  const stop = new Int32Array(stopFlag);

  let signalled = '';
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal while stopping; still waiting for workers to finish their batch');
      return;
    }
    signalled = signal;
    log.info({ signal, boundMs: config.shutdownTimeoutMs }, 'stopping: workers finish or abandon their batch and disconnect');
    requestStop(stop);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  log.info({ partitions: config.partitions, brokers: config.kafka.brokers, kafkaSettings: describeSettings(config.kafka.settings), database: redact(config.databaseUrl), customersTopic: config.customersTopic, transactionsTopic: config.transactionsTopic, batchSize: config.batchSize, lingerMs: config.lingerMs }, 'supervisor started');

  const metrics = new IngesterMetrics(config.partitions);
  const server = await startHttpServer(metrics, config.metricsHost, config.metricsPort, log);
  // Before any thread starts: a setup that can never work must not cost a thread per branch.
  const startup = await runStartupChecks(config, stop, log);
  if (startup !== 'ok') {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return startup === 'stopped' ? 0 : 2;
  }
  const threads = config.partitions.length;
  const pool = new Piscina<BranchTask, BranchResult>({
    filename: new URL('./branch-worker.js', import.meta.url).href,
    minThreads: threads,
    maxThreads: threads,
    // Branch tasks live as long as the process: an idle timeout would tear down live consumers.
    idleTimeout: Infinity,
    concurrentTasksPerWorker: 1,
    maxQueue: threads,
    // A worker whose heap runs away is ended by V8 and restarted like any failed worker, instead
    // of taking the whole process (and every other branch) down with it.
    resourceLimits: { maxOldGenerationSizeMb: config.workerHeapMb },
  });

  const branches = config.partitions.map((partition) => keepBranchRunning(pool, { partition, config, stopFlag }, stop, log, metrics));
  await Promise.all(branches);
  await new Promise<void>((resolve) => server.close(() => resolve()));

  // Every task has returned, so no thread holds a librdkafka handle any more: safe to end them.
  await pool.destroy();
  log.info({ signal: signalled }, 'supervisor stopped cleanly');
  return 0;
}

async function keepBranchRunning(pool: Piscina<BranchTask, BranchResult>, task: Omit<BranchTask, 'events'>, stop: Int32Array, log: Logger, metrics: IngesterMetrics): Promise<void> {
  const backoff = new Backoff(1_000, 30_000);
  let restarts = 0;
  while (!stopRequested(stop)) {
    const started = Date.now();
    // A fresh channel per run: events of a dead run can never be mistaken for the new one's.
    const channel = new MessageChannel();
    channel.port1.on('message', (event: WorkerEvent) => metrics.record(event));
    try {
      await pool.run({ ...task, events: channel.port2 }, { transferList: [channel.port2] });
      if (stopRequested(stop)) return;
      log.error({ branch: task.partition }, 'branch worker returned without being asked to stop');
    } catch (err) {
      if (stopRequested(stop)) {
        log.error({ branch: task.partition, err }, 'branch worker failed while stopping');
        return;
      }
      log.error({ branch: task.partition, err }, 'branch worker died');
    } finally {
      channel.port1.close();
    }
    metrics.workerDown(task.partition, true);
    if (Date.now() - started > HEALTHY_RUN_MS) backoff.reset();
    const delayMs = backoff.next();
    restarts++;
    log.warn({ branch: task.partition, delayMs, restarts }, 'restarting branch worker');
    if (await sleepUnlessStopped(stop, delayMs)) return;
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
  process.stderr.write(`supervisor: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
