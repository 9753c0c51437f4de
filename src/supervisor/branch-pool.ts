// The supervisor's branch workers: one long-lived piscina task per branch, each with its own stop
// flag, so a single branch can be stopped (a rebalance revoked it) while the others run. A worker
// that dies is restarted with backoff; a stop is cooperative (the worker finishes or abandons its
// batch, disconnects its consumer and releases the lease): a thread holding a live librdkafka
// handle is never terminated, which crashes the process.
import { Piscina } from 'piscina';
import { MessageChannel } from 'node:worker_threads';
import type { IngesterConfig } from '../config/ingester-config.js';
import type { Logger } from '../core/log.js';
import type { BranchStatus } from './branch-status.js';
import { Backoff } from '../core/backoff.js';
import type { CompiledModule } from '../db/query-compiler-module.js';
import type { ConsumerPacing } from '../kafka/consumer-pacing.js';
import { requestStop, sleepUnlessStopped, stopRequested } from '../core/stop-flag.js';
import type { BranchResult, BranchTask, WorkerEvent } from '../worker/protocol.js';

/** A worker that ran this long before dying is healthy again: its next restart waits little. */
const HEALTHY_RUN_MS = 60_000;

interface RunningBranch {
  stop: Int32Array;
  done: Promise<void>;
  /** Assigned again while its worker was stopping: start a new one once it has. */
  startAgain: boolean;
}

export interface BranchPoolOptions {
  config: IngesterConfig;
  log: Logger;
  status: BranchStatus;
  /** Branches run from the start (min) and at most (max); threads follow from --branches-per-thread. */
  branches: { min: number; max: number };
  /** How every branch consumer waits when there is nothing to read. */
  pacing: ConsumerPacing;
  /** Prisma's query compiler, compiled once by the supervisor (src/db/query-compiler-module.ts). */
  queryCompilerModule: CompiledModule;
  /** Called after each committed batch with the branch's next transactions offset. */
  onCommitted?: (partition: number, nextOffset: number) => void;
  /** The worker threads' code: the bundle built next to this module unless given (tests). */
  workerFile?: string;
}

/** Worker threads that run `branches` branches, `perThread` to a thread. */
export function threadsFor(branches: number, perThread: number): number {
  return Math.ceil(branches / perThread);
}

export class BranchPool {
  readonly #pool: Piscina<BranchTask, BranchResult>;
  readonly #config: IngesterConfig;
  readonly #log: Logger;
  readonly #status: BranchStatus;
  readonly #branches = new Map<number, RunningBranch>();
  readonly #pacing: ConsumerPacing;
  /** Set by stopAll: a branch the group assigns while the supervisor stops is not started. */
  #closed = false;
  /** Called after each committed batch with the branch's next transactions offset. */
  readonly #onCommitted: (partition: number, nextOffset: number) => void;

  constructor({
    config,
    log,
    status,
    branches,
    pacing,
    queryCompilerModule,
    onCommitted = () => undefined,
    workerFile,
  }: BranchPoolOptions) {
    this.#config = config;
    this.#log = log;
    this.#status = status;
    this.#onCommitted = onCommitted;
    this.#pacing = pacing;
    this.#pool = new Piscina<BranchTask, BranchResult>({
      // branch-worker.ts and its modules in one file (scripts/bundle-worker.mjs): every thread
      // loads its own copy, and one minified file costs each less than the modules it bundles.
      filename: workerFile ?? new URL('../worker/branch-worker.bundle.js', import.meta.url).href,
      // A thread per branch by default (the design card); with --branches-per-thread k, a thread
      // runs up to k branch tasks side by side: they are async, so they interleave on its loop.
      minThreads: threadsFor(branches.min, config.branchesPerThread),
      maxThreads: Math.max(1, threadsFor(branches.max, config.branchesPerThread)),
      // Branch tasks live as long as their branch: an idle timeout would tear down live consumers.
      idleTimeout: Infinity,
      concurrentTasksPerWorker: config.branchesPerThread,
      maxQueue: Math.max(1, branches.max),
      // A worker whose heap runs away is ended by V8 and restarted like any failed worker, instead
      // of taking the whole process (and every other branch) down with it. The young generation
      // is capped too: left to V8, it alone grows large in every busy worker.
      resourceLimits: { maxOldGenerationSizeMb: config.workerHeapMb, maxYoungGenerationSizeMb: config.workerYoungMb },
      // Shared, not copied: each worker's Prisma uses the supervisor's compiled query compiler.
      workerData: { queryCompilerModule },
    });
  }

  get running(): number[] {
    return [...this.#branches.keys()].sort((a, b) => a - b);
  }

  /**
   * Starts the branch's worker (and keeps it running) unless it runs already. A branch whose
   * worker is still stopping (the group took it away and gave it straight back, as to a member
   * that thaws) gets a new worker as soon as the old one has stopped: every start ends running.
   */
  start(partition: number): void {
    if (this.#closed) return;
    const current = this.#branches.get(partition);
    if (current) {
      if (stopRequested(current.stop)) current.startAgain = true;
      return;
    }
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const branch: RunningBranch = { stop, done: Promise.resolve(), startAgain: false };
    branch.done = this.#keepRunning(partition, stop).finally(() => {
      if (this.#branches.get(partition) !== branch) return;
      this.#branches.delete(partition);
      if (branch.startAgain && !this.#closed) {
        this.#log.info({ branch: partition }, 'branch assigned again while its worker stopped; starting a new one');
        this.start(partition);
      }
    });
    this.#branches.set(partition, branch);
  }

  /** Asks the branch's worker to stop; resolves once it has (lease released, consumer closed). */
  async stop(partition: number): Promise<void> {
    const branch = this.#branches.get(partition);
    if (!branch) return;
    branch.startAgain = false;
    requestStop(branch.stop);
    await branch.done;
  }

  /** Asks every worker to stop (signal handlers call it); `idle` tells when they have. */
  stopAll(): void {
    this.#closed = true;
    for (const branch of this.#branches.values()) requestStop(branch.stop);
  }

  async idle(): Promise<void> {
    await Promise.all([...this.#branches.values()].map((b) => b.done));
  }

  /** Only once every task has returned: no thread holds a librdkafka handle any more. */
  async destroy(): Promise<void> {
    await this.idle();
    await this.#pool.destroy();
  }

  async #keepRunning(partition: number, stop: Int32Array): Promise<void> {
    const backoff = new Backoff(1_000, 30_000);
    let restarts = 0;
    const heart = this.#status.liveness.watch(partition);
    const task = {
      partition,
      config: this.#config,
      stopFlag: stop.buffer as SharedArrayBuffer,
      heartbeat: heart.buffer,
      pacing: this.#pacing,
    };
    while (!stopRequested(stop)) {
      heart.beat();
      const started = Date.now();
      // A fresh channel per run: events of a dead run can never be mistaken for the new one's.
      const channel = new MessageChannel();
      channel.port1.on('message', (event: WorkerEvent) => {
        this.#status.record(event);
        if ((event.type === 'batches' || event.type === 'ready') && event.transactionsNextOffset !== undefined)
          this.#onCommitted(partition, event.transactionsNextOffset);
      });
      try {
        await this.#pool.run({ ...task, events: channel.port2 }, { transferList: [channel.port2] });
        if (stopRequested(stop)) return;
        this.#log.error({ branch: partition }, 'branch worker returned without being asked to stop');
      } catch (err) {
        if (stopRequested(stop)) {
          this.#log.error({ branch: partition, err }, 'branch worker failed while stopping');
          return;
        }
        this.#log.error({ branch: partition, err }, 'branch worker died');
      } finally {
        channel.port1.close();
      }
      this.#status.workerDown(partition);
      if (Date.now() - started > HEALTHY_RUN_MS) backoff.reset();
      const delayMs = backoff.next();
      restarts++;
      this.#log.warn({ branch: partition, delayMs, restarts }, 'restarting branch worker');
      heart.beat(delayMs);
      if (await sleepUnlessStopped(stop, delayMs)) return;
    }
  }
}
