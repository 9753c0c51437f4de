import { sleep, untilAborted } from '../core/stop-signal.js';
import type { Collect } from './prefetch.js';

/**
 * Fault injection for the restart tests: ZIPBANK_FAULT_CRASH_BRANCH="<branch>:<batches>" makes
 * that branch's worker fail after committing <batches> batches, every time it runs. The failure
 * is an ordinary thrown error, so the worker still disconnects its consumer on the way out (a
 * thread is never ended with a live librdkafka handle). Unset in production.
 */
export function crashAfterBatches(partition: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return branchFault(env.ZIPBANK_FAULT_CRASH_BRANCH, partition);
}

/**
 * ZIPBANK_FAULT_HEAP_BRANCH="<branch>:<batches>": that branch's worker, after <batches> batches,
 * keeps allocating until V8 ends the thread at its heap limit (--worker-heap-mb).
 */
export function exhaustHeapAfterBatches(partition: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return branchFault(env.ZIPBANK_FAULT_HEAP_BRANCH, partition);
}

/**
 * ZIPBANK_FAULT_DEAF_BRANCH="<branch>:<batches>": after <batches> batches, that branch's consumer
 * delivers nothing more, without an error, as librdkafka's can after a broker restart
 * (src/kafka/fetch-stall.ts). Once per worker: the consumer that replaces it works.
 */
export function deafAfterBatches(partition: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return branchFault(env.ZIPBANK_FAULT_DEAF_BRANCH, partition);
}

/**
 * ZIPBANK_FAULT_HANG_BRANCH="<branch>:<batches>": after <batches> batches, that branch's loop
 * waits on a call that never returns (until the branch is stopped), sending nothing: what the
 * liveness check (src/supervisor/liveness.ts) must catch. Once per worker.
 */
export function hangAfterBatches(partition: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return branchFault(env.ZIPBANK_FAULT_HANG_BRANCH, partition);
}

function branchFault(spec: string | undefined, partition: number): number | undefined {
  if (!spec) return undefined;
  const match = /^(\d+):(\d+)$/.exec(spec.trim());
  if (!match || Number(match[1]) !== partition) return undefined;
  return Number(match[2]);
}

/**
 * ZIPBANK_FAULT_SUPERVISOR_THROW_MS="<ms>": the supervisor throws an exception nothing catches,
 * <ms> after its branch workers started, as a bug in a callback would.
 */
export function supervisorThrowAfterMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const spec = env.ZIPBANK_FAULT_SUPERVISOR_THROW_MS?.trim();
  return spec && /^\d+$/.test(spec) ? Number(spec) : undefined;
}

/**
 * The one seam through which the faults above reach a branch: it wraps the branch's record
 * collection (the deaf fault) and is asked after every committed batch with the count so far.
 * Inert (every check undefined, the collection unwrapped) unless a ZIPBANK_FAULT_* variable
 * names this branch.
 */
export class FaultInjector {
  readonly #partition: number;
  readonly #crashAfter: number | undefined;
  readonly #exhaustHeapAfter: number | undefined;
  readonly #deafAfter: number | undefined;
  readonly #hangAfter: number | undefined;
  /** The collection wrapped last (the current consumer's), and the one made deaf. */
  #current: object | undefined;
  #deafened: object | undefined;
  #hangFired = false;

  constructor(partition: number, env: NodeJS.ProcessEnv = process.env) {
    this.#partition = partition;
    this.#crashAfter = crashAfterBatches(partition, env);
    this.#exhaustHeapAfter = exhaustHeapAfterBatches(partition, env);
    this.#deafAfter = deafAfterBatches(partition, env);
    this.#hangAfter = hangAfterBatches(partition, env);
  }

  /**
   * The consumer's collection as the branch sees it. Once the deaf fault fired, that consumer's
   * collection finds nothing, without an error, after each idle wait: as librdkafka's consumer
   * can after a broker restart. The next consumer's works: the fault fires once per worker.
   */
  collection(collect: Collect, idleWaitMs: number, signal: AbortSignal): Collect {
    if (this.#deafAfter === undefined) return collect;
    const token = {};
    this.#current = token;
    return (writerIdle) =>
      this.#deafened === token
        ? sleep(idleWaitMs, signal).then(
            () => [],
            () => [],
          )
        : collect(writerIdle);
  }

  /**
   * The seam the ingest loop calls after every commit: fires whatever fault is due after
   * `batches` committed batches (`warn` says which); the hang waits until the branch is stopped.
   */
  async afterCommit(batches: number, warn: (message: string) => void, signal: AbortSignal): Promise<void> {
    this.afterBatch(batches, warn);
    await this.hangIfDue(batches, warn, signal);
  }

  /** Fires whatever fault is due after `batches` committed batches; `warn` says which. */
  afterBatch(batches: number, warn: (message: string) => void): void {
    if (this.#crashAfter !== undefined && batches >= this.#crashAfter) {
      throw new Error(
        `injected fault: branch ${this.#partition} fails after ${this.#crashAfter} batches (ZIPBANK_FAULT_CRASH_BRANCH)`,
      );
    }
    if (this.#exhaustHeapAfter !== undefined && batches >= this.#exhaustHeapAfter) {
      warn('injected fault: exhausting the heap (ZIPBANK_FAULT_HEAP_BRANCH)');
      const hog: string[][] = [];
      for (;;) hog.push(Array.from({ length: 100_000 }, (_, i) => `${i}-${hog.length}`));
    }
    if (this.#deafened === undefined && this.#deafAfter !== undefined && batches >= this.#deafAfter) {
      warn('injected fault: the Kafka consumer delivers nothing more (ZIPBANK_FAULT_DEAF_BRANCH)');
      this.#deafened = this.#current ?? {};
    }
  }

  /** The hang fault, when due: resolves only once the branch is stopped. At once otherwise. */
  async hangIfDue(batches: number, warn: (message: string) => void, signal: AbortSignal): Promise<void> {
    if (this.#hangFired || this.#hangAfter === undefined || batches < this.#hangAfter) return;
    warn('injected fault: the branch loop waits on a call that never returns (ZIPBANK_FAULT_HANG_BRANCH)');
    this.#hangFired = true;
    // The loop sends no sign of life meanwhile, which is what liveness must catch.
    await untilAborted(signal);
  }
}
