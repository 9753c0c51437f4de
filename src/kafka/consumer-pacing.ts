// How often the branch consumers of one supervisor ask for records when there are none. Every
// ask has a price beyond the broker's: the binding runs each consume call on a libuv pool thread
// and hands the result back to the worker's loop (a queue lock, a thread wake-up and an eventfd
// write each way), so many idle branches asking often cost a real share of a core. A consume call
// returns at its first record, so a longer wait only spaces out the asks that find nothing; the
// waits grow with the branches so that a supervisor's empty asks stay near 160 a second, and a
// few branches keep the short wait that measured the lowest latency (docs/performance.md).
// The default import: a CommonJS module's named exports are not seen under the tests' TS loader.
import callThreads from './call-threads.cjs';

export interface ConsumerPacing {
  /** fetch.wait.max.ms: how long the broker holds a fetch that finds nothing new. */
  readonly fetchWaitMs: number;
  /** How long one consume call waits for a batch's first record. */
  readonly idleWaitMs: number;
}

/** Empty asks in a second across the supervisor: 8 branches at 50 ms. */
const EMPTY_ASKS_PER_SECOND = 160;
const WAIT_MIN_MS = 50;
/**
 * librdkafka's own fetch.wait.max.ms; within an idle branch's other rhythms too (its parked
 * transactions are looked at every 500 ms, its health every 2 s, and a stop waits for the call
 * in progress).
 */
const WAIT_MAX_MS = 500;

/** How long each of `branches` branch consumers (and the broker for it) waits when there is nothing. */
export function emptyWaitMs(branches: number): number {
  return Math.min(WAIT_MAX_MS, Math.max(WAIT_MIN_MS, Math.round((1000 * branches) / EMPTY_ASKS_PER_SECOND)));
}

/**
 * The pacing of `branches` branch consumers with `poolThreads` libuv pool threads. A branch that
 * has to share a pool thread keeps its wait at the linger time: a long wait of an idle branch
 * would hold the thread from a branch that has records.
 */
export function consumerPacing(branches: number, poolThreads: number, lingerMs: number): ConsumerPacing {
  const ownThreads = callThreads.branchesWithoutCallThread(branches, poolThreads) === 0;
  const waitMs = emptyWaitMs(branches);
  return Object.freeze({ fetchWaitMs: waitMs, idleWaitMs: Math.max(1, lingerMs, ownThreads ? waitMs : 0) });
}
