// A branch worker: the piscina task of a worker thread that owns one branch partition (a thread
// runs one such task by default; --branches-per-thread k lets k share a thread and its Postgres
// connection, src/db/thread-prisma.ts). It runs the branch's ownership lifecycle
// (src/worker/ownership.ts) until the supervisor raises the branch's stop flag, then returns;
// the supervisor never terminates a thread that holds a live librdkafka handle.
import { threadId } from 'node:worker_threads';
import { createLogger } from '../core/log.js';
import { threadPrisma } from '../db/thread-prisma.js';
import { adoptWorkerQueryCompilerModule } from '../db/query-compiler-module.js';
import { BranchContext } from './branch-context.js';
import { BranchEvents } from './branch-events.js';
import { BranchOwnership } from './ownership.js';
import type { BranchResult, BranchTask } from './protocol.js';

// Before any Prisma client of this thread runs a query.
adoptWorkerQueryCompilerModule();

export default async function runBranch(task: BranchTask): Promise<BranchResult> {
  // The thread's one connection (its own, or shared with the thread's other branches): the
  // writes, lease renewals and health checks take turns on it.
  const threadLog = createLogger(task.config.logLevel, { thread: threadId });
  const prisma = threadPrisma.acquire(task.config.databaseUrl, {
    responseTimeoutMs: task.config.databaseResponseTimeoutMs,
    onDropped: (message) => threadLog.warn(message),
  });
  const branch = new BranchContext(task, prisma);
  const events = new BranchEvents(task.events, task.partition);
  const result: BranchResult = { partition: task.partition, batches: 0, records: 0 };
  try {
    await new BranchOwnership(branch, { events, pacing: task.pacing, result }).run();
    branch.log.info({ batches: result.batches, records: result.records }, 'branch worker stopping');
    return result;
  } finally {
    await threadPrisma.release(prisma).catch(() => undefined);
    events.close();
    branch.close();
  }
}
