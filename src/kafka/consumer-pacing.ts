// How long the branch consumers of one supervisor wait when there are no records. Every empty
// ask has a price: the binding runs each consume call on a libuv pool thread and hands the result
// back to the worker's loop (a queue lock, a thread wake-up and an eventfd write each way), and
// the broker answers each empty fetch. A consume call returns at its first record, so a longer
// wait only spaces out the asks that find nothing. The broker's fetch wait grows with the
// branches so that a supervisor's empty fetches stay near 160 a second, and a few branches keep
// the short fetch wait that measured the lowest latency (docs/performance.md).
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
/** The longest broker fetch wait (librdkafka's own default for fetch.wait.max.ms). */
const WAIT_MAX_MS = 500;

/** How long each of `branches` branch consumers (and the broker for it) waits when there is nothing. */
export function emptyWaitMs(branches: number): number {
  return Math.min(WAIT_MAX_MS, Math.max(WAIT_MIN_MS, Math.round((1000 * branches) / EMPTY_ASKS_PER_SECOND)));
}

/**
 * How long one consume call of an idle branch with a call thread of its own waits. Only the JS
 * side: the call returns at its first record, so the wait costs no latency, and every empty
 * return is a thread wake-up that runs the branch loop in V8's unoptimised tiers, a large share
 * of what an idle branch costs (docs/performance.md, Idle branches). It stays within an idle
 * branch's other rhythms: health every 2 s against a 10 s lease, the look for parked
 * transactions' customers after each wait, and a stop, which waits for the call in progress. The
 * broker's fetch wait stays emptyWaitMs: a long one measured a higher p99 under load.
 */
export const OWN_THREAD_IDLE_WAIT_MS = 1_000;

/**
 * The pacing of `branches` branch consumers with `poolThreads` libuv pool threads. A branch that
 * has to share a pool thread waits WAIT_MIN_MS (or the linger time when longer): a long
 * wait of an idle branch would hold the thread from a branch that has records.
 */
export function consumerPacing(branches: number, poolThreads: number, lingerMs: number): ConsumerPacing {
  const ownThreads = callThreads.branchesWithoutCallThread(branches, poolThreads) === 0;
  return Object.freeze({
    fetchWaitMs: emptyWaitMs(branches),
    idleWaitMs: Math.max(lingerMs, ownThreads ? OWN_THREAD_IDLE_WAIT_MS : WAIT_MIN_MS),
  });
}
