// Stopping as an AbortSignal, as in Node's own APIs: a call made after a stop was requested, or
// a wait that a stop interrupts, throws a StoppedError (class stop), so every function either
// returns its value or throws, and `isStop` is the one way to ask whether a failure was a stop.
// A branch's signal follows its shared stop flag (src/core/stop-flag.ts), which the supervisor
// raises from another thread.
import { setTimeout as delay } from 'node:timers/promises';
import { ERROR_CODES, IngesterError } from './errors.js';
import { STOP_INDEX, stopRequested } from './stop-flag.js';

export class StoppedError extends IngesterError {
  constructor() {
    super(ERROR_CODES.STOPPED, 'stop requested');
    this.name = 'StoppedError';
  }
}

/** True when `err` says a stop was requested, not that something failed. */
export function isStop(err: unknown): boolean {
  return err instanceof IngesterError && err.errorClass === 'stop';
}

/** How long one wait on the flag lasts before it is renewed (while the signal is in use). */
const FLAG_WAIT_MS = 60_000;

/** A signal that follows a shared stop flag, until `dispose` says it is no longer needed. */
export interface FlagSignal {
  signal: AbortSignal;
  /** The owner is done (it returned or failed): the flag is no longer watched. */
  dispose(): void;
}

/**
 * A signal aborted (with a StoppedError) as soon as the shared stop flag is raised. The flag is
 * watched by waits of FLAG_WAIT_MS renewed until `dispose`: a worker that failed rather than
 * stopped leaves no wait behind on a flag its restart reuses.
 */
export function stopSignal(flag: Int32Array): FlagSignal {
  const controller = new AbortController();
  let disposed = false;
  const watch = (): void => {
    if (disposed) return;
    if (stopRequested(flag)) {
      controller.abort(new StoppedError());
      return;
    }
    // A pending waitAsync keeps no event loop alive: the signal never holds a thread open.
    const wait = Atomics.waitAsync(flag, STOP_INDEX, 0, FLAG_WAIT_MS);
    if (wait.async) void wait.value.then(watch);
    else watch();
  };
  watch();
  return {
    signal: controller.signal,
    dispose: () => {
      disposed = true;
    },
  };
}

/** Waits `ms`; throws the signal's StoppedError at once when a stop is requested meanwhile. */
export async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted();
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if (signal.aborted) signal.throwIfAborted();
    throw err;
  }
}

/**
 * Resolves once `signal` is aborted. An interval keeps the event loop up meanwhile: a pending
 * abort listener alone would let the process (or thread) end.
 */
export async function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  const keepAlive = setInterval(() => undefined, 60_000);
  try {
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    clearInterval(keepAlive);
  }
}
