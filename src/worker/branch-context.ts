// Who and where a branch worker is, fixed for the worker's life: the branch, its topics, its
// settings, its log and connection, its owner identity, and its stop signal. Nothing here
// changes after construction; what does (events, position, consumer, parked state) goes only to
// the parts that use it, through their constructors.
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { threadId } from 'node:worker_threads';
import { createLogger, type Logger } from '../core/log.js';
import { Heartbeat } from '../core/heartbeat.js';
import { sleep, stopSignal } from '../core/stop-signal.js';
import type { IngesterConfig } from '../config/ingester-config.js';
import type { PrismaClient } from '../db/prisma.js';
import type { BranchTask } from './protocol.js';

export interface BranchTopics {
  readonly customers: string;
  readonly transactions: string;
}

export class BranchContext {
  readonly partition: number;
  readonly config: IngesterConfig;
  readonly topics: BranchTopics;
  readonly log: Logger;
  readonly prisma: PrismaClient;
  /** One owner identity per run of this task: a restarted worker is a new owner. */
  readonly owner: string;
  /** Aborted when the supervisor stops the branch: every retry and wait then throws. */
  readonly signal: AbortSignal;
  readonly #heartbeat: Heartbeat;
  readonly #stopWatch: () => void;

  constructor(task: BranchTask, prisma: PrismaClient) {
    this.partition = task.partition;
    this.config = task.config;
    this.topics = Object.freeze({ customers: task.config.customersTopic, transactions: task.config.transactionsTopic });
    // The thread too: with --branches-per-thread, branches of one thread share its fate.
    this.log = createLogger(task.config.logLevel, { branch: task.partition, thread: threadId });
    this.prisma = prisma;
    this.owner = `${os.hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
    const stop = stopSignal(new Int32Array(task.stopFlag));
    this.signal = stop.signal;
    this.#stopWatch = stop.dispose;
    this.#heartbeat = new Heartbeat(task.heartbeat);
    this.#heartbeat.beat();
    Object.freeze(this);
  }

  /** Both topics, customers first. */
  get topicList(): [string, string] {
    return [this.topics.customers, this.topics.transactions];
  }

  /** A sign of life for the supervisor's liveness check, and a quiet spell of `quietMs` announced. */
  alive(quietMs = 0): void {
    this.#heartbeat.beat(quietMs);
  }

  /** The worker returns or fails: its stop flag is no longer watched. */
  close(): void {
    this.#stopWatch();
  }

  /** Waits `ms` (announced to the liveness check); throws StoppedError when the branch is stopped. */
  sleep(ms: number): Promise<void> {
    this.alive(ms);
    return sleep(ms, this.signal);
  }
}
