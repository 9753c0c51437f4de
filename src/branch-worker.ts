// A branch worker: the body of one worker thread, owning one branch partition. It reads batches
// from its consumer and writes each in one Postgres transaction, fetching the next batch while
// the current one is written. Outages are waited out with backoff; nothing is ever skipped.
// It writes only while it holds the branch's lease (src/ingest/branch-lease.ts); otherwise it
// stands by, so two supervisors on the same branches never both write one.
import { BranchConsumer } from './kafka/branch-consumer.js';
import { createPrisma, type PrismaClient } from './db/prisma.js';
import { assembleBatch, type RawRecord } from './ingest/batch.js';
import { parkedStats, readOffsets, writeBatch } from './ingest/batch-writer.js';
import { createLogger, type Logger } from './log.js';
import { sleepUnlessStopped, stopRequested, type BranchResult, type BranchTask, type WorkerEvent } from './worker-protocol.js';
import { Backoff } from './ingest/backoff.js';
import { crashAfterBatches } from './ingest/fault-injection.js';
import { LeaseLostError, release, renew, tryAcquire, type Lease } from './ingest/branch-lease.js';
import os from 'node:os';
import { randomUUID } from 'node:crypto';

const STATS_INTERVAL_MS = 10_000;
/** How often figures for /metrics (parked backlog, lag) are sent to the supervisor. */
const METRICS_INTERVAL_MS = 2_000;
/** How often an idle branch with parked transactions looks for their customers. */
const IDLE_UNPARK_INTERVAL_MS = 500;
/** How often a standby worker tries to take its branch. */
const LEASE_POLL_MS = 1_000;

export default async function runBranch(task: BranchTask): Promise<BranchResult> {
  const { partition, config } = task;
  const stop = new Int32Array(task.stopFlag);
  const log = createLogger(config.logLevel, { branch: partition });
  const result: BranchResult = { partition, batches: 0, records: 0 };
  const emit = (event: WorkerEvent) => task.events.postMessage(event);
  const prisma = createPrisma(config.databaseUrl);
  // One owner identity per run of this task: a restarted worker is a new owner.
  const owner = `${os.hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  try {
    while (!stopRequested(stop)) {
      const lease = await waitForLease(task, stop, log, prisma, owner, emit);
      if (!lease) break;
      try {
        await ownBranch(task, stop, log, prisma, lease, result, emit);
      } catch (err) {
        if (!(err instanceof LeaseLostError)) {
          // Failing: the consumer is closed and nothing more is written, so hand the branch to
          // the restarted worker (or a standby) now rather than after the lease's TTL.
          await release(prisma, lease).catch(() => undefined);
          throw err;
        }
        log.warn({ epoch: String(lease.epoch) }, 'lost the branch lease to another owner; standing by');
        continue;
      }
      // A clean stop hands the branch over at once instead of after the lease's TTL.
      await release(prisma, lease).catch((err: unknown) => log.warn({ err }, 'could not release the branch lease; it expires by itself'));
    }
    log.info({ batches: result.batches, records: result.records }, 'branch worker stopping');
    return result;
  } finally {
    await prisma.$disconnect().catch(() => undefined);
    task.events.close();
  }
}

/** Standby: polls for the branch's lease until it is free; undefined when asked to stop first. */
async function waitForLease(task: BranchTask, stop: Int32Array, log: Logger, prisma: PrismaClient, owner: string, emit: (event: WorkerEvent) => void): Promise<Lease | undefined> {
  let announced = false;
  while (!stopRequested(stop)) {
    const lease = await retry(log, stop, 'take the branch lease', () => tryAcquire(prisma, task.config.transactionsTopic, task.partition, owner));
    if (lease === undefined) return undefined; // stopping
    if (lease) return lease;
    if (!announced) {
      log.info({ owner }, 'another supervisor owns this branch; standing by');
      emit({ type: 'standby', partition: task.partition });
      announced = true;
    }
    if (await sleepUnlessStopped(stop, LEASE_POLL_MS)) return undefined;
  }
  return undefined;
}

/** Runs the branch while this worker holds its lease: offsets, consumer, ingestion. */
async function ownBranch(task: BranchTask, stop: Int32Array, log: Logger, prisma: PrismaClient, lease: Lease, result: BranchResult, emit: (event: WorkerEvent) => void): Promise<void> {
  const { partition, config } = task;
  const topics = { customers: config.customersTopic, transactions: config.transactionsTopic };
  let consumer: BranchConsumer | undefined;
  try {
    // Offsets are read only now: the previous owner's last commit is final once we hold the lease.
    const offsets = await retry(log, stop, 'read stored offsets', () => readOffsets(prisma, [topics.customers, topics.transactions], partition));
    if (!offsets) return;
    consumer = await retry(log, stop, 'connect to Kafka', () =>
      BranchConsumer.connect({ brokers: config.brokers, partition, topics: [topics.customers, topics.transactions], offsets, lingerMs: config.lingerMs }),
    );
    if (!consumer) return;
    const parkedAtStart = await retry(log, stop, 'count parked transactions', () => parkedStats(prisma, { partition, transactionsTopic: topics.transactions }));
    if (!parkedAtStart) return;
    log.info({ offsets: Object.fromEntries(offsets), parked: parkedAtStart.count, epoch: String(lease.epoch) }, 'branch worker started');
    emit({ type: 'ready', partition });
    await ingest(task, stop, log, prisma, consumer, lease, offsets, parkedAtStart.count > 0, result, emit);
  } finally {
    await consumer?.disconnect();
  }
}

async function ingest(
  task: BranchTask,
  stop: Int32Array,
  log: Logger,
  prisma: PrismaClient,
  consumer: BranchConsumer,
  lease: Lease,
  storedOffsets: Map<string, number>,
  parkedAtStart: boolean,
  result: BranchResult,
  emit: (event: WorkerEvent) => void,
): Promise<void> {
  const { partition, config } = task;
  const topics = { customers: config.customersTopic, transactions: config.transactionsTopic };
  const writeOptions = { partition, transactionsTopic: config.transactionsTopic, checkParked: parkedAtStart, lease };
  const fetchBackoff = new Backoff();
  const crashAfter = crashAfterBatches(partition);
  let lastUnparkCheck = 0;
  let lastStats = Date.now();
  let lastMetrics = 0;
  let window = { records: 0, posted: 0, parked: 0, rejected: 0 };

  // The batch being collected keeps growing until this loop is ready to write it (see consume).
  let writerIdle = () => {};
  let next = consumer.consume(config.batchSize);
  while (!stopRequested(stop)) {
    let records: RawRecord[];
    writerIdle();
    try {
      records = await next;
      fetchBackoff.reset();
    } catch (err) {
      // librdkafka reconnects by itself; wait and fetch again rather than fail the branch.
      log.warn({ err, delayMs: fetchBackoff.peek() }, 'fetch from Kafka failed, retrying');
      if (await sleepUnlessStopped(stop, fetchBackoff.next())) break;
      next = consumer.consume(config.batchSize);
      continue;
    }
    // Prefetch: the next batch is read from librdkafka while this one is written.
    next = consumer.consume(config.batchSize, new Promise<void>((resolve) => (writerIdle = resolve)));

    const idleUnpark = records.length === 0 && writeOptions.checkParked && Date.now() - lastUnparkCheck >= IDLE_UNPARK_INTERVAL_MS;
    if (records.length > 0 || idleUnpark) {
      const batch = assembleBatch(records, topics, config.maxPayloadBytes);
      const writeStarted = process.hrtime.bigint();
      const outcome = await retry(log, stop, 'write batch', () => writeBatch(prisma, batch, writeOptions), { records: records.length }, () =>
        emit({ type: 'database', partition, ok: false }),
      );
      if (!outcome) break; // stopping: the batch was not committed and will be read again
      for (const [topic, next] of batch.nextOffsets) storedOffsets.set(topic, next);
      emit({
        type: 'batch',
        partition,
        records: records.length,
        customersCreated: outcome.customersCreated,
        posted: outcome.posted,
        parked: outcome.parked,
        rejectedByReason: outcome.rejectedByReason,
        writeSeconds: Number(process.hrtime.bigint() - writeStarted) / 1e9,
      });
      lastUnparkCheck = Date.now();
      writeOptions.checkParked = outcome.stillParked > 0;
      result.batches++;
      result.records += records.length;
      window.records += records.length;
      window.posted += outcome.posted;
      window.parked += outcome.parked;
      window.rejected += outcome.rejected;
      if (outcome.rejected > 0) log.warn({ rejected: outcome.rejected }, 'records rejected, see table rejected_event');
      if (outcome.alreadyPosted > 0) log.warn({ alreadyPosted: outcome.alreadyPosted }, 'records already in the ledger were skipped (stored offsets were behind the ledger)');
      log.debug({ ...outcome, records: records.length }, 'batch committed');
      if (crashAfter !== undefined && result.batches >= crashAfter) {
        writerIdle();
        await next.catch(() => undefined);
        throw new Error(`injected fault: branch ${partition} fails after ${crashAfter} batches (ZIPBANK_FAULT_CRASH_BRANCH)`);
      }
    }

    if (Date.now() - lastMetrics >= METRICS_INTERVAL_MS) {
      // Keeps an idle branch's lease alive (a lost lease ends ownership), and doubles as the
      // database check that readiness follows.
      const parked = await renew(prisma, lease)
        .then(() => parkedStats(prisma, { partition, transactionsTopic: config.transactionsTopic }))
        .catch((err: unknown) => {
          if (err instanceof LeaseLostError) throw err;
          return undefined;
        });
      emit({ type: 'database', partition, ok: parked !== undefined });
      const lag: Record<string, number> = {};
      for (const topic of [config.customersTopic, config.transactionsTopic]) {
        const high = consumer.highWatermark(topic, partition);
        if (high !== undefined) lag[topic] = Math.max(0, high - (storedOffsets.get(topic) ?? 0));
      }
      if (parked) emit({ type: 'stats', partition, parked: parked.count, oldestParkedAgeSeconds: parked.oldestAgeSeconds, lag });
      lastMetrics = Date.now();
    }

    if (Date.now() - lastStats >= STATS_INTERVAL_MS) {
      const parked = await parkedStats(prisma, { partition, transactionsTopic: config.transactionsTopic }).catch(() => undefined);
      const seconds = (Date.now() - lastStats) / 1000;
      // heapUsedMB is this worker thread's own V8 heap; rssMB is the whole process.
      const memory = process.memoryUsage();
      log.info(
        { ...window, recordsPerSecond: Math.round(window.records / seconds), parkedNow: parked?.count, oldestParkedAgeSeconds: parked?.oldestAgeSeconds, heapUsedMB: Math.round(memory.heapUsed / 2 ** 20), rssMB: Math.round(memory.rss / 2 ** 20) },
        'branch stats',
      );
      window = { records: 0, posted: 0, parked: 0, rejected: 0 };
      lastStats = Date.now();
    }
  }
  // Let the prefetch settle before the consumer is disconnected; its records are simply re-read.
  writerIdle();
  await next.catch(() => undefined);
}

/**
 * Runs `action` until it succeeds, waiting with exponential backoff between attempts: a database
 * or broker outage pauses the branch instead of failing it. Resolves undefined when stop is
 * requested first.
 */
async function retry<T>(
  log: Logger,
  stop: Int32Array,
  what: string,
  action: () => Promise<T>,
  context: Record<string, unknown> = {},
  onFirstFailure: () => void = () => undefined,
): Promise<T | undefined> {
  const backoff = new Backoff();
  for (;;) {
    try {
      return await action();
    } catch (err) {
      // Losing the branch is not an outage: retrying would only fail again.
      if (err instanceof LeaseLostError) throw err;
      if (backoff.attempts === 0) onFirstFailure();
      const delayMs = backoff.next();
      log.error({ err, delayMs, attempt: backoff.attempts, ...context }, `could not ${what}, retrying`);
      if (await sleepUnlessStopped(stop, delayMs)) return undefined;
    }
  }
}
