// Threads for the binding's blocking calls. node-rdkafka runs consume, connect, disconnect,
// metadata and watermark queries on libuv's thread pool, which the whole process shares (every
// worker thread included) and which has 4 threads unless UV_THREADPOOL_SIZE says otherwise. A
// branch's consume holds a pool thread while it waits for records (up to the linger time for the
// first one), so with more branches than pool threads a branch with records waits behind idle
// branches' waits, and its latency grows (docs/performance.md).
//
// libuv reads UV_THREADPOOL_SIZE once, when the pool is first used, and Node's ES module loader
// uses the pool to read the entry module itself: so the process entry, src/main.cts, is
// CommonJS (loaded synchronously) and sets the size before it loads anything else. CommonJS here
// too, so that the entry can require it. An ES module preloaded with --import or --loader (in
// NODE_OPTIONS, say, by a tracing agent or a test runner) has used the pool before the entry
// runs: the size is then left as the environment gave it, and the supervisor warns. (So has a
// --require preload that reads files or resolves names asynchronously as it loads; that one
// this cannot see: give UV_THREADPOOL_SIZE in the environment with such an agent.)

/** libuv's pool size when UV_THREADPOOL_SIZE is not set; Node's own fs, dns and crypto use these. */
export const LIBUV_DEFAULT_THREADS = 4;
/** libuv's upper bound. */
const LIBUV_MAX_THREADS = 1024;
/**
 * Branches given a pool thread each when UV_THREADPOOL_SIZE is not set: the entry runs before
 * the configuration is read. 64 is also as many branches as Postgres's default 100 connections
 * leave room for (one per branch). An idle pool thread costs next to nothing (docs/performance.md).
 */
export const DEFAULT_BRANCH_THREADS = 64;

/** The pool size libuv takes from UV_THREADPOOL_SIZE's value (atoi: 0 or garbage means 1). */
export function poolSize(value: string | undefined): number {
  if (value === undefined) return LIBUV_DEFAULT_THREADS;
  const n = Number.parseInt(value, 10);
  return Math.min(LIBUV_MAX_THREADS, Number.isFinite(n) && n > 0 ? n : 1);
}

/** True when ES modules load before the entry: the pool is then in use already. */
function preloadsEsModules(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  // NODE_OPTIONS may quote its options ("--import=file:///...").
  return [...execArgv, nodeOptions ?? ''].some((options) =>
    /(^|\s)["']?--(import|loader|experimental-loader)\b/.test(options),
  );
}

/**
 * Sets UV_THREADPOOL_SIZE for DEFAULT_BRANCH_THREADS branches unless a usable size is given or
 * the pool is in use already.
 */
export function sizeCallThreads(env: NodeJS.ProcessEnv, execArgv: readonly string[]): void {
  if (sizeGiven(env) || preloadsEsModules(execArgv, env.NODE_OPTIONS)) return;
  env.UV_THREADPOOL_SIZE = String(LIBUV_DEFAULT_THREADS + DEFAULT_BRANCH_THREADS);
}

/**
 * For an entry that cannot size the pool itself (an ES module: src/supervisor.ts): the
 * environment to start the process again with, the size set from its start whatever it
 * preloads; undefined when a usable size is given already.
 */
export function relaunchEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv | undefined {
  if (sizeGiven(env)) return undefined;
  return { ...env, UV_THREADPOOL_SIZE: String(LIBUV_DEFAULT_THREADS + DEFAULT_BRANCH_THREADS) };
}

function sizeGiven(env: NodeJS.ProcessEnv): boolean {
  const given = env.UV_THREADPOOL_SIZE;
  return given !== undefined && /^\s*[1-9]\d*\s*$/.test(given);
}

/** Branches of `branches` that share pool threads instead of having one each. */
export function branchesWithoutCallThread(branches: number, size: number): number {
  return Math.max(0, branches - (size - LIBUV_DEFAULT_THREADS));
}
