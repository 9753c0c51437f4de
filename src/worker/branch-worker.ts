// A branch worker: the task of a worker thread that owns one branch partition (a thread runs one
// such task by default; --branches-per-thread k lets k share a thread and its Postgres connection,
// src/db/thread-prisma.ts). It reads batches from its consumer and commits each in Postgres,
// fetching the next batch while the current one is written. Outages and schema problems are
// waited out with backoff; records Postgres refuses are quarantined
// (src/ingest/batch-committer.ts); offset gaps stop the branch until an operator accepts them
// (src/ingest/offset-gaps.ts). Nothing is ever skipped silently.
// It writes only while it holds the branch's lease (src/ingest/branch-lease.ts); otherwise it
// stands by, so two supervisors on the same branches never both write one.
import os from 'node:os';
import v8 from 'node:v8';
import { randomUUID } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { BranchConsumer, isOffsetReset } from '../kafka/branch-consumer.js';
import type { PrismaClient } from '../db/prisma.js';
import { threadPrisma } from '../db/thread-prisma.js';
import { adoptWorkerQueryCompilerModule } from '../db/query-compiler-module.js';
import type { RawRecord } from '../ingest/batch.js';
import { parkedStats, readOffsets } from '../ingest/batch-writer.js';
import { BatchCommitter } from '../ingest/batch-committer.js';
import { BatchReports } from './batch-reports.js';
import { createLogger, type Logger } from '../core/log.js';
import { sleepUnlessStopped, stopRequested, type BranchResult, type BranchTask, type WorkerEvent } from './protocol.js';
import { Backoff } from '../core/backoff.js';
import { crashAfterBatches, deafAfterBatches, exhaustHeapAfterBatches } from './fault-injection.js';
import { FetchStallWatch, type FetchPosition } from '../kafka/fetch-stall.js';
import { LeaseLostError, recordStall, release, renew, tryAcquire, type Lease } from '../db/branch-lease.js';
import { describeGap, findGaps, recordGaps, type Watermarks } from '../ingest/offset-gaps.js';
import { IngesterError } from '../core/errors.js';
import { DatabaseError, toDatabaseError } from '../db/database-error.js';
import type { IngesterConfig } from '../config/ingester-config.js';

const STATS_INTERVAL_MS = 10_000;
/** How often figures for /metrics (parked backlog, lag) are sent to the supervisor. */
const METRICS_INTERVAL_MS = 2_000;
/** How often an idle branch with parked transactions looks for their customers. */
const IDLE_UNPARK_INTERVAL_MS = 500;
/** How often a standby worker tries to take its branch. */
const LEASE_POLL_MS = 1_000;
/** How often a branch stopped on an offset gap looks whether it was accepted. */
const GAP_POLL_MS = 2_000;
/** While an action keeps failing the same way, a full log line at most this often. */
const REPEAT_LOG_MS = 60_000;
/** How often an owning branch asks the broker where its topics end (fetch-stall.ts). */
const FETCH_CHECK_MS = 5_000;
/** Records waiting this long on the broker while none of their topic arrive: a stalled consumer. */
const FETCH_STALL_MS = 20_000;
/** A broker that does not say where the topics end within this long is asked again later. */
const LOG_END_TIMEOUT_MS = 2_000;

// Before any Prisma client of this thread runs a query.
adoptWorkerQueryCompilerModule();

export default async function runBranch(task: BranchTask): Promise<BranchResult> {
  return new BranchWorker(task).run();
}

/**
 * Why ownership of the branch ended: asked to stop, the offsets must be checked again, or the
 * Kafka consumer stopped fetching and is recreated. All but 'stopped' start over at once.
 */
type OwnershipEnd = 'stopped' | 'recheck-offsets' | 'reconnect-kafka';

class BranchWorker {
  readonly #task: BranchTask;
  readonly #config: IngesterConfig;
  readonly #partition: number;
  readonly #topics: { customers: string; transactions: string };
  readonly #stop: Int32Array;
  readonly #log: Logger;
  readonly #prisma: PrismaClient;
  /** One owner identity per run of this task: a restarted worker is a new owner. */
  readonly #owner = `${os.hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  readonly #result: BranchResult;
  /** Next offsets as committed, per topic: what lag is measured from. */
  #storedOffsets = new Map<string, number>();
  /** The consumer while the branch is owned: lag is read from it even while writes fail. */
  #consumer: BranchConsumer | undefined;
  #lastLagReport = 0;
  /** The lease while the branch is owned; a stall reason is recorded on it for `cli status`. */
  #lease: Lease | undefined;
  #stallRecorded: string | null = null;
  /** The parked backlog as the last health check saw it, for the stats log. */
  #parked: { count: number; oldestAgeSeconds: number | null; waitingFor: number[] } | undefined;
  /** Kept across consumers: a stall that a new consumer does not cure is not retried forever. */
  readonly #fetchWatch = new FetchStallWatch(FETCH_STALL_MS);
  /** Log ends last read from the broker: the consumer's own figures freeze if it stops fetching. */
  readonly #brokerLogEnds = new Map<string, number>();
  /** ZIPBANK_FAULT_DEAF_BRANCH fires once per worker: the consumer that replaces it works. */
  #deafFaultFired = false;
  /** Committed batches not yet reported to the supervisor (src/ingest/batch-reports.ts). */
  readonly #reports: BatchReports;

  constructor(task: BranchTask) {
    this.#task = task;
    this.#config = task.config;
    this.#partition = task.partition;
    this.#topics = { customers: task.config.customersTopic, transactions: task.config.transactionsTopic };
    this.#stop = new Int32Array(task.stopFlag);
    // The thread too: with --branches-per-thread, branches of one thread share its fate.
    this.#log = createLogger(task.config.logLevel, { branch: task.partition, thread: threadId });
    // The thread's one connection (its own, or shared with the thread's other branches): the
    // writes, lease renewals and health checks take turns on it (src/db/thread-prisma.ts).
    this.#prisma = threadPrisma.acquire(task.config.databaseUrl);
    this.#result = { partition: task.partition, batches: 0, records: 0 };
    this.#reports = new BatchReports(task.partition);
  }

  get #stopped(): boolean {
    return stopRequested(this.#stop);
  }

  /** Sends an event, after the batches committed before it (so that readiness follows their order). */
  #emit(event: WorkerEvent): void {
    this.#sendBatchReports();
    this.#task.events.postMessage(event);
  }

  #sendBatchReports(): void {
    const pending = this.#reports.take();
    if (pending) this.#task.events.postMessage(pending);
  }

  async run(): Promise<BranchResult> {
    try {
      while (!this.#stopped) {
        const lease = await this.#waitForLease();
        if (!lease) break;
        this.#lease = lease;
        try {
          let end: OwnershipEnd;
          do end = await this.#ownBranch(lease);
          while (end !== 'stopped' && !this.#stopped);
        } catch (err) {
          if (!(err instanceof LeaseLostError)) {
            // Failing: the consumer is closed and nothing more is written, so hand the branch to
            // the restarted worker (or a standby) now rather than after the lease's TTL.
            await release(this.#prisma, lease).catch(() => undefined);
            throw err;
          }
          // A paused or partitioned owner: its writes were fenced, its consumer is closed. It
          // stands by and takes the branch back when the new owner goes.
          this.#lease = undefined;
          this.#stallRecorded = null;
          this.#log.warn({ epoch: String(lease.epoch) }, 'lost the branch lease to another owner; standing by');
          continue;
        }
        this.#lease = undefined;
        // A clean stop hands the branch over at once instead of after the lease's TTL.
        await release(this.#prisma, lease).catch((err: unknown) =>
          this.#log.warn({ err }, 'could not release the branch lease; it expires by itself'),
        );
      }
      this.#log.info({ batches: this.#result.batches, records: this.#result.records }, 'branch worker stopping');
      return this.#result;
    } finally {
      await threadPrisma.release(this.#prisma).catch(() => undefined);
      this.#task.events.close();
    }
  }

  /** Standby: polls for the branch's lease until it is free; undefined when asked to stop first. */
  async #waitForLease(): Promise<Lease | undefined> {
    let announced = false;
    while (!this.#stopped) {
      const lease = await this.#attempt('take the branch lease', () =>
        tryAcquire(this.#prisma, this.#topics.transactions, this.#partition, this.#owner),
      );
      if (lease === undefined) return undefined; // stopping
      if (lease) return lease;
      if (!announced) {
        this.#log.info({ owner: this.#owner }, 'another supervisor owns this branch; standing by');
        this.#emit({ type: 'standby', partition: this.#partition });
        announced = true;
      }
      if (await sleepUnlessStopped(this.#stop, LEASE_POLL_MS)) return undefined;
    }
    return undefined;
  }

  /** Runs the branch while this worker holds its lease: offsets, gap check, consumer, ingestion. */
  async #ownBranch(lease: Lease): Promise<OwnershipEnd> {
    // Offsets are read only now: the previous owner's last commit is final once we hold the lease.
    const offsets = await this.#readOffsets();
    if (!offsets) return 'stopped';
    const { kafka, lingerMs, maxBatchBytes } = this.#config;
    const consumer = await this.#attempt('connect to Kafka', () =>
      BranchConsumer.connect({
        kafka,
        partition: this.#partition,
        topics: [this.#topics.customers, this.#topics.transactions],
        lingerMs,
        maxBatchBytes,
        pacing: this.#task.pacing,
      }),
    );
    if (!consumer) return 'stopped';
    this.#consumer = consumer;
    try {
      const checked = await this.#waitUntilNoGap(lease, consumer, offsets);
      if (!checked) return 'stopped';
      const customersUntil = await consumer.assignCustomersFirst(checked, this.#topics);
      if (customersUntil !== undefined)
        this.#log.info(
          { customersUntil },
          'customers first: transactions wait until the customers backlog is read, so that they need not be parked',
        );
      const parkedAtStart = await this.#attempt('count parked transactions', () =>
        parkedStats(this.#prisma, { partition: this.#partition, transactionsTopic: this.#topics.transactions }),
      );
      if (!parkedAtStart) return 'stopped';
      this.#log.info(
        { offsets: Object.fromEntries(checked), parked: parkedAtStart.count, epoch: String(lease.epoch) },
        'branch worker started',
      );
      // The offset is reported at once, so lag tooling is right even before the first batch.
      this.#emit({
        type: 'ready',
        partition: this.#partition,
        transactionsNextOffset: checked.get(this.#topics.transactions),
      });
      return await this.#ingest(lease, consumer, parkedAtStart.count > 0);
    } finally {
      this.#consumer = undefined;
      await consumer.disconnect();
    }
  }

  async #readOffsets(): Promise<Map<string, number> | undefined> {
    const offsets = await this.#attempt('read stored offsets', () =>
      readOffsets(this.#prisma, [this.#topics.customers, this.#topics.transactions], this.#partition),
    );
    if (offsets) this.#storedOffsets = new Map(offsets);
    return offsets;
  }

  /**
   * Compares the stored offsets with what the broker still holds. A gap is recorded and stops the
   * branch (not ready, naming the gap) until an operator accepts it; an accepted gap beyond the
   * log end waits until the recreated topic reaches the stored offset. Resolves the offsets to
   * start from, or undefined when asked to stop.
   */
  async #waitUntilNoGap(
    lease: Lease,
    consumer: BranchConsumer,
    stored: Map<string, number>,
  ): Promise<Map<string, number> | undefined> {
    let offsets = stored;
    let reported = '';
    while (!this.#stopped) {
      const watermarks = new Map<string, Watermarks>();
      for (const topic of offsets.keys()) {
        const marks = await this.#attempt(`read the offsets of ${topic} from Kafka`, () => consumer.watermarks(topic));
        if (!marks) return undefined;
        watermarks.set(topic, marks);
      }
      const gaps = findGaps(this.#partition, offsets, watermarks);
      if (gaps.length === 0) {
        if (reported) {
          this.#log.info('offset gap accepted; the branch goes on');
          this.#emit({ type: 'gap', partition: this.#partition, open: 0 });
          await this.#recordStall(null);
        }
        return offsets;
      }
      const states = await this.#attempt('record the offset gap', () => recordGaps(this.#prisma, gaps));
      if (!states) return undefined;
      const open = states.filter((s) => !s.accepted).map((s) => s.gap);
      const reason =
        open.length > 0
          ? `stopped on an offset gap: ${open.map(describeGap).join('; ')}; accept it with: cli gaps accept --branch ${this.#partition}`
          : `accepted offset gap: waiting until ${gaps.map((g) => `${g.topic}[${g.partition}] reaches offset ${g.expectedOffset} (now ${g.logEndOffset})`).join(', ')}`;
      // Logged when the set of gaps or their state changes, not when only the log end moves.
      const key = states.map((st) => `${st.gap.topic}@${st.gap.expectedOffset}:${st.accepted}`).join(',');
      if (key !== reported) {
        if (open.length > 0)
          this.#log.error({ gaps: open }, `records were lost before this branch read them; ${reason}`);
        else this.#log.warn({ gaps }, reason);
        reported = key;
      }
      this.#emit({ type: 'gap', partition: this.#partition, open: open.length, reason });
      await this.#recordStall(reason);
      // Still the owner while stopped: keep the lease, so no standby starts posting past the gap.
      if (
        (await this.#attempt('renew the branch lease', () => renew(this.#prisma, lease).then(() => true))) === undefined
      )
        return undefined;
      const lag: Record<string, number> = {};
      for (const [topic, marks] of watermarks) lag[topic] = Math.max(0, marks.high - (offsets.get(topic) ?? 0));
      this.#emitLag(lag);
      if (await sleepUnlessStopped(this.#stop, GAP_POLL_MS)) return undefined;
      const reread = await this.#readOffsets();
      if (!reread) return undefined;
      offsets = reread;
    }
    return undefined;
  }

  async #ingest(lease: Lease, consumer: BranchConsumer, parkedAtStart: boolean): Promise<OwnershipEnd> {
    const config = this.#config;
    const partition = this.#partition;
    const committer = new BatchCommitter(
      this.#prisma,
      {
        topics: this.#topics,
        maxPayloadBytes: config.maxPayloadBytes,
        write: { partition, transactionsTopic: this.#topics.transactions, lease },
      },
      (what, action) => this.#attempt(what, action),
      this.#log,
    );
    let checkParked = parkedAtStart;
    const fetchBackoff = new Backoff();
    const crashAfter = crashAfterBatches(partition);
    const exhaustHeapAfter = exhaustHeapAfterBatches(partition);
    let lastUnparkCheck = 0;
    let lastStats = Date.now();
    let lastMetrics = 0;
    let lastParkedNotice = 0;
    let window = { records: 0, posted: 0, parked: 0, rejected: 0 };

    // The batch being collected keeps growing until this loop is ready to write it (see consume).
    let writerIdle = () => {};
    const deafAfter = deafAfterBatches(partition);
    let lastFetchCheck = Date.now();
    const fetch = (idle?: Promise<void>) => {
      const batch = consumer.consume(config.batchSize, idle);
      // Handled now as well as where it is awaited: a fetch failing while a write is in flight
      // must not count as an unhandled rejection (that ends the thread with a live consumer).
      batch.catch(() => undefined);
      return batch;
    };
    let next = fetch();
    try {
      while (!this.#stopped) {
        let records: RawRecord[];
        writerIdle();
        try {
          records = await next;
          fetchBackoff.reset();
        } catch (err) {
          if (isOffsetReset(err)) {
            // Retention deleted records under the running branch: look for the gap.
            this.#log.warn(
              { err: (err as Error).message },
              'the stored offset is no longer on the broker; checking for an offset gap',
            );
            return 'recheck-offsets';
          }
          // librdkafka reconnects by itself; wait and fetch again rather than fail the branch.
          this.#log.warn(
            { err: (err as Error).message, delayMs: fetchBackoff.peek() },
            'fetch from Kafka failed, retrying',
          );
          if (await sleepUnlessStopped(this.#stop, fetchBackoff.next())) break;
          next = fetch();
          continue;
        }
        if (records.length > 0) this.#fetchWatch.fetched(topicsOf(records));
        // Prefetch: the next batch is read from librdkafka while this one is written.
        next = fetch(new Promise<void>((resolve) => (writerIdle = resolve)));

        // Nothing more to write for now: what was committed is reported without waiting.
        if (records.length === 0) this.#sendBatchReports();
        const idleUnpark =
          records.length === 0 && checkParked && Date.now() - lastUnparkCheck >= IDLE_UNPARK_INTERVAL_MS;
        if (records.length > 0 || idleUnpark) {
          const writeStarted = process.hrtime.bigint();
          const outcome = await committer.commit(records, checkParked);
          if (!outcome) break; // stopping: what was not committed is read again
          for (const record of records)
            if ((this.#storedOffsets.get(record.topic) ?? -1) <= record.offset)
              this.#storedOffsets.set(record.topic, record.offset + 1);
          const report = this.#reports.add({
            records: records.length,
            customersCreated: outcome.customersCreated,
            posted: outcome.posted,
            parked: outcome.parked,
            rejectedByReason: outcome.rejectedByReason,
            writeSeconds: Number(process.hrtime.bigint() - writeStarted) / 1e9,
            transactionsNextOffset: this.#storedOffsets.get(this.#topics.transactions),
          });
          if (report) this.#task.events.postMessage(report);
          // After the batch's report: sending it sends the batch's rejections with it.
          if (outcome.refused > 0) this.#emit({ type: 'writeFailed', partition, cause: 'data' });
          lastUnparkCheck = Date.now();
          checkParked = outcome.stillParked > 0;
          this.#result.batches++;
          this.#result.records += records.length;
          window.records += records.length;
          window.posted += outcome.posted;
          window.parked += outcome.parked;
          window.rejected += outcome.rejected;
          if (outcome.parked > 0 && Date.now() - lastParkedNotice >= STATS_INTERVAL_MS) {
            // The lab's own producer sends transactions only: make the wait obvious at once.
            const parked = await parkedStats(this.#prisma, {
              partition,
              transactionsTopic: this.#topics.transactions,
            }).catch(() => undefined);
            if (parked)
              this.#log.warn(
                { parkedNow: parked.count, waitingForCustomers: parked.waitingFor },
                `${parked.count} transactions wait for their customers (ids ${parked.waitingFor.join(', ')}${parked.waitingFor.length === 10 ? ', ...' : ''}), which do not exist yet: they post as soon as those customers are created on ${this.#topics.customers}`,
              );
            lastParkedNotice = Date.now();
          }
          if (outcome.rejected > 0)
            this.#log.warn(
              { rejected: outcome.rejected, byReason: outcome.rejectedByReason },
              'records rejected, see table rejected_event',
            );
          if (outcome.alreadyPosted > 0)
            this.#log.warn(
              { alreadyPosted: outcome.alreadyPosted },
              'records already in the ledger were skipped (stored offsets were behind the ledger)',
            );
          this.#log.debug({ ...outcome, records: records.length }, 'batch committed');
          if (crashAfter !== undefined && this.#result.batches >= crashAfter) {
            throw new Error(
              `injected fault: branch ${partition} fails after ${crashAfter} batches (ZIPBANK_FAULT_CRASH_BRANCH)`,
            );
          }
          if (exhaustHeapAfter !== undefined && this.#result.batches >= exhaustHeapAfter) {
            this.#log.warn('injected fault: exhausting the heap (ZIPBANK_FAULT_HEAP_BRANCH)');
            const hog: string[][] = [];
            for (;;) hog.push(Array.from({ length: 100_000 }, (_, i) => `${i}-${hog.length}`));
          }
          if (!this.#deafFaultFired && deafAfter !== undefined && this.#result.batches >= deafAfter) {
            this.#log.warn('injected fault: the Kafka consumer delivers nothing more (ZIPBANK_FAULT_DEAF_BRANCH)');
            consumer.deafen();
            this.#deafFaultFired = true;
          }
        }

        if (Date.now() - lastFetchCheck >= FETCH_CHECK_MS) {
          lastFetchCheck = Date.now();
          if (await this.#fetchStalled(consumer)) return 'reconnect-kafka';
        }

        if (Date.now() - lastMetrics >= METRICS_INTERVAL_MS) {
          await this.#reportHealth(lease, consumer);
          lastMetrics = Date.now();
        }
        if (Date.now() - lastStats >= STATS_INTERVAL_MS) {
          const seconds = (Date.now() - lastStats) / 1000;
          // heapUsedMB is this worker thread's own V8 heap; rssMB is the whole process.
          const memory = process.memoryUsage();
          this.#log.info(
            {
              ...window,
              recordsPerSecond: Math.round(window.records / seconds),
              parkedNow: this.#parked?.count,
              oldestParkedAgeSeconds: this.#parked?.oldestAgeSeconds,
              waitingForCustomers: this.#parked?.waitingFor,
              heapUsedMB: Math.round(memory.heapUsed / 2 ** 20),
              rssMB: Math.round(memory.rss / 2 ** 20),
            },
            'branch stats',
          );
          window = { records: 0, posted: 0, parked: 0, rejected: 0 };
          lastStats = Date.now();
        }
      }
      return 'stopped';
    } finally {
      // Whatever ended the loop (stop, lost lease, failure): let the prefetch settle before the
      // consumer is disconnected; its records are simply read again by the next owner.
      writerIdle();
      await next.catch(() => undefined);
      this.#sendBatchReports();
    }
  }

  /**
   * Keeps an idle branch's lease alive (a lost lease ends ownership), doubles as the database
   * check that readiness follows, and sends parked figures and lag.
   */
  async #reportHealth(lease: Lease, consumer: BranchConsumer): Promise<void> {
    let reason: string | undefined;
    const parked = await renew(this.#prisma, lease)
      .then(() =>
        parkedStats(this.#prisma, { partition: this.#partition, transactionsTopic: this.#topics.transactions }),
      )
      .catch((err: unknown) => {
        if (err instanceof LeaseLostError) throw err;
        reason = `database: ${toDatabaseError(err).message}`;
        return undefined;
      });
    this.#emit({ type: 'database', partition: this.#partition, ok: parked !== undefined, reason });
    if (parked)
      this.#emit({
        type: 'stats',
        partition: this.#partition,
        parked: parked.count,
        oldestParkedAgeSeconds: parked.oldestAgeSeconds,
      });
    this.#parked = parked;
    this.#emit({ type: 'heap', partition: this.#partition, ...heapFigures() });
    this.#emitLag(this.#lag(consumer));
  }

  /**
   * Per topic, the log end minus the offset stored in Postgres. The log end is the higher of
   * librdkafka's figure from its last fetch and the broker's last answer: the first freezes
   * when the consumer stops fetching.
   */
  #lag(consumer: BranchConsumer): Record<string, number> {
    const lag: Record<string, number> = {};
    for (const topic of [this.#topics.customers, this.#topics.transactions]) {
      const high = Math.max(consumer.highWatermark(topic, this.#partition) ?? -1, this.#brokerLogEnds.get(topic) ?? -1);
      if (high >= 0) lag[topic] = Math.max(0, high - (this.#storedOffsets.get(topic) ?? 0));
    }
    return lag;
  }

  /**
   * Asks the broker where both topics start and end, at once and bounded, and keeps the log ends
   * for lag. A topic it does not answer for is left out: no evidence either way.
   */
  async #readWatermarks(consumer: BranchConsumer): Promise<Map<string, Watermarks>> {
    const topics = [this.#topics.customers, this.#topics.transactions];
    const answers = await Promise.all(
      topics.map((topic) => consumer.watermarks(topic, LOG_END_TIMEOUT_MS).catch(() => undefined)),
    );
    const marks = new Map<string, Watermarks>();
    topics.forEach((topic, i) => {
      const answer = answers[i];
      if (!answer) return;
      marks.set(topic, answer);
      this.#brokerLogEnds.set(topic, answer.high);
    });
    return marks;
  }

  /**
   * Asks the broker where the branch's topics end, and whether records wait there that the
   * consumer has stopped fetching (src/kafka/fetch-stall.ts): true when it must be recreated.
   */
  async #fetchStalled(consumer: BranchConsumer): Promise<boolean> {
    const positions: FetchPosition[] = [];
    for (const [topic, marks] of await this.#readWatermarks(consumer)) {
      // Held back on purpose (customers first): not fetching it is expected.
      if (consumer.isPaused(topic)) continue;
      // Where reading has got to: committed, or handed over and not yet committed, or past
      // transaction markers (which are never records to commit); a topic never read starts at
      // its oldest record, wherever retention has moved that.
      const reached = Math.max(this.#storedOffsets.get(topic) ?? 0, consumer.position(topic) ?? 0, marks.low);
      positions.push({ topic, nextOffset: reached, logEnd: marks.high });
    }
    const verdict = this.#fetchWatch.observe(Date.now(), positions);
    if (!verdict) return false;
    const { topic, nextOffset, logEnd, forMs } = verdict.stall;
    const fields = { topic, nextOffset, logEnd, waitingSeconds: Math.round(forMs / 1000) };
    const where = `${topic}[${this.#partition}] has records from offset ${nextOffset} to ${logEnd - 1} on the broker and none came for ${fields.waitingSeconds} s`;
    if (verdict.action === 'unfetchable') {
      // Lag shows it and ZipBankBranchStalled fires; recreating the consumer again would not help.
      this.#log.error(
        fields,
        `${where}, also after the Kafka consumer was recreated: the branch waits there until they can be read`,
      );
      return false;
    }
    this.#log.warn(fields, `${where}: the Kafka consumer stopped fetching, recreating it`);
    this.#emit({ type: 'fetchStalled', partition: this.#partition });
    return true;
  }

  #emitLag(lag: Record<string, number>): void {
    if (Object.keys(lag).length > 0) this.#emit({ type: 'lag', partition: this.#partition, lag });
    this.#lastLagReport = Date.now();
  }

  /**
   * While writes fail the consumer stops fetching once its queue is full, so its cached high
   * watermarks freeze: ask the broker instead, so lag (and lag alerts) keep moving.
   */
  async #reportLagFromBroker(): Promise<void> {
    const consumer = this.#consumer;
    if (!consumer || Date.now() - this.#lastLagReport < METRICS_INTERVAL_MS) return;
    await this.#readWatermarks(consumer);
    this.#emitLag(this.#lag(consumer));
  }

  /** Records (or clears) why the branch does not move, when it changed; failures are ignored. */
  async #recordStall(reason: string | null): Promise<void> {
    if (!this.#lease || reason === this.#stallRecorded) return;
    try {
      await recordStall(this.#prisma, this.#lease, reason);
      this.#stallRecorded = reason;
    } catch {
      // The database may be what fails; readiness and the logs carry the reason meanwhile.
    }
  }

  /**
   * Runs `action` until it succeeds, waiting with exponential backoff while what it throws says
   * `canRetry` (an outage, a schema problem an operator is fixing); anything else is rethrown.
   * Resolves undefined when stop is requested first. Repeated identical failures are logged in
   * full once, then summarised.
   */
  async #attempt<T>(what: string, action: () => Promise<T>): Promise<T | undefined> {
    const backoff = new Backoff();
    let lastReason = '';
    let lastLogged = 0;
    const failingSince = Date.now();
    for (;;) {
      try {
        const value = await action();
        if (backoff.attempts > 0) {
          this.#log.info(
            { attempts: backoff.attempts, failedForSeconds: Math.round((Date.now() - failingSince) / 1000) },
            `${what}: works again`,
          );
          this.#emit({ type: 'database', partition: this.#partition, ok: true });
          this.#emit({ type: 'kafka', partition: this.#partition, ok: true });
          await this.#recordStall(null);
        }
        return value;
      } catch (thrown) {
        const err = thrown instanceof IngesterError ? thrown : toDatabaseError(thrown);
        if (!err.canRetry) throw err;
        const cause = err instanceof DatabaseError ? err.failure : undefined;
        const delayMs = backoff.next();
        // Logged before readiness changes, so an operator who sees /readyz turn finds the line.
        if (err.message !== lastReason || Date.now() - lastLogged >= REPEAT_LOG_MS) {
          const level = cause === 'schema' ? 'error' : backoff.attempts === 1 ? 'warn' : 'error';
          this.#log[level](
            {
              code: err.code,
              cause,
              attempt: backoff.attempts,
              delayMs,
              failingForSeconds: Math.round((Date.now() - failingSince) / 1000),
            },
            `could not ${what}, retrying: ${err.message}`,
          );
          lastReason = err.message;
          lastLogged = Date.now();
        }
        if (err.code.startsWith('KAFKA_'))
          this.#emit({ type: 'kafka', partition: this.#partition, ok: false, reason: `kafka: ${err.message}` });
        if (cause === 'outage' || cause === 'schema') {
          this.#emit({ type: 'writeFailed', partition: this.#partition, cause });
          const label = cause === 'schema' ? 'database schema or privileges' : 'database';
          this.#emit({ type: 'database', partition: this.#partition, ok: false, reason: `${label}: ${err.message}` });
          // Reachable but refusing (schema): say so in Postgres too, where `cli status` reads it.
          if (cause === 'schema') await this.#recordStall(`${label}: ${err.message}`);
        }
        await this.#reportLagFromBroker();
        if (await sleepUnlessStopped(this.#stop, delayMs)) return undefined;
      }
    }
  }
}

/** The topics a batch holds records of (the branch reads two). */
function topicsOf(records: readonly RawRecord[]): Set<string> {
  const topics = new Set<string>();
  for (const record of records) {
    topics.add(record.topic);
    if (topics.size === 2) break;
  }
  return topics;
}

/** This thread's committed V8 heap: bounded by --worker-young-mb and --worker-heap-mb. */
function heapFigures(): { youngBytes: number; totalBytes: number } {
  const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return { youngBytes: young?.space_size ?? 0, totalBytes: v8.getHeapStatistics().total_heap_size };
}
