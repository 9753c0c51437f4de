// How often the branch consumers of one supervisor ask for records when there are none. Every
// ask has a price beyond the broker's: the binding runs each consume call on a libuv pool thread
// and hands the result back to the worker's loop (a queue lock, a thread wake-up and an eventfd
// write each way). An idle 64-branch supervisor asking every 50 ms per branch spent a third of a
// core on nothing, most of it in the kernel (README, "Many branches on one supervisor"). Waiting
// longer costs no latency: a consume call returns as soon as a record is there, and the broker
// answers a fetch as soon as one arrives. It only spaces out the asks that find nothing.
import { branchesWithoutCallThread } from './call-threads.cjs';

export interface ConsumerPacing {
  /** fetch.wait.max.ms: how long the broker holds a fetch that finds nothing new. */
  readonly fetchWaitMs: number;
  /** How long one consume call waits for a batch's first record. */
  readonly idleWaitMs: number;
}

/** Empty fetches the broker answers in a second across the supervisor: 8 branches at 50 ms. */
const IDLE_FETCHES_PER_SECOND = 160;
const FETCH_WAIT_MIN_MS = 50;
/** librdkafka's own default. */
const FETCH_WAIT_MAX_MS = 500;
/**
 * Within the idle branch's other rhythms: its parked transactions are looked at every 500 ms,
 * its health every 2 s, and a stop waits for the call in progress.
 */
const IDLE_WAIT_MS = 500;

/** fetch.wait.max.ms for each of `branches` branch consumers. */
export function fetchWaitMs(branches: number): number {
  return Math.min(FETCH_WAIT_MAX_MS, Math.max(FETCH_WAIT_MIN_MS, Math.round((1000 * branches) / IDLE_FETCHES_PER_SECOND)));
}

/**
 * The pacing of `branches` branch consumers with `callThreads` libuv pool threads. A branch that
 * has to share a pool thread keeps its wait at the linger time: a long wait of an idle branch
 * would hold the thread from a branch that has records.
 */
export function consumerPacing(branches: number, callThreads: number, lingerMs: number): ConsumerPacing {
  const ownThreads = branchesWithoutCallThread(branches, callThreads) === 0;
  return Object.freeze({ fetchWaitMs: fetchWaitMs(branches), idleWaitMs: ownThreads ? Math.max(lingerMs, IDLE_WAIT_MS) : Math.max(1, lingerMs) });
}
