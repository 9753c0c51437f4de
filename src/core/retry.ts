// The one retry loop: the branch worker's database and Kafka calls, the supervisor's start-up
// checks and the consumer group join all run through it. Whether a failure is waited out is
// read from the error code's class (src/core/errors.ts), never decided where it was thrown.
import { Backoff } from './backoff.js';
import { type ErrorClass, IngesterError } from './errors.js';
import { sleepUnlessStopped } from './stop-flag.js';

/** While an action keeps failing the same way, a full report at most this often. */
export const REPEAT_REPORT_MS = 60_000;

export interface RetryFailure {
  err: IngesterError;
  errorClass: ErrorClass;
  /** 1 for the first failure in a row. */
  attempt: number;
  delayMs: number;
  failingForMs: number;
  /** The same failure as the last one, reported in full less than REPEAT_REPORT_MS ago. */
  repeated: boolean;
}

export interface RetryOptions {
  /** Raised: the loop ends at once, resolving undefined. */
  stop: Int32Array;
  backoff?: Backoff;
  /**
   * Turns what the action threw into an IngesterError, so that its code decides; by default an
   * error that is not an IngesterError is rethrown as it is (a bug, not an outage).
   */
  classify?: (thrown: unknown) => IngesterError;
  /** Called before each wait (log it, report it); awaited. */
  onFailure?: (failure: RetryFailure) => void | Promise<void>;
  /** Called once the action succeeds after failing. */
  onRecovered?: (attempts: number, failedForMs: number) => void | Promise<void>;
}

/** True for the classes a retry loop waits out: an outage, or a setup an operator is fixing. */
export function isWaitedOut(errorClass: ErrorClass): boolean {
  return errorClass === 'retry' || errorClass === 'pause';
}

/**
 * Runs `action` until it succeeds. A failure whose class is waited out (isWaitedOut) is retried
 * with backoff; any other is rethrown at once. Resolves undefined when stop is requested first.
 */
export async function retry<T>(action: () => Promise<T>, options: RetryOptions): Promise<T | undefined> {
  const backoff = options.backoff ?? new Backoff();
  const classify = options.classify ?? rethrowUnknown;
  let failingSince = 0;
  let lastMessage = '';
  let lastReported = 0;
  for (;;) {
    try {
      const value = await action();
      if (backoff.attempts > 0) await options.onRecovered?.(backoff.attempts, Date.now() - failingSince);
      return value;
    } catch (thrown) {
      const err = classify(thrown);
      const errorClass = err.errorClass;
      if (!isWaitedOut(errorClass)) throw err;
      const now = Date.now();
      if (backoff.attempts === 0) failingSince = now;
      const delayMs = backoff.next();
      const repeated = err.message === lastMessage && now - lastReported < REPEAT_REPORT_MS;
      if (!repeated) {
        lastMessage = err.message;
        lastReported = now;
      }
      await options.onFailure?.({
        err,
        errorClass,
        attempt: backoff.attempts,
        delayMs,
        failingForMs: now - failingSince,
        repeated,
      });
      if (await sleepUnlessStopped(options.stop, delayMs)) return undefined;
    }
  }
}

function rethrowUnknown(thrown: unknown): IngesterError {
  if (thrown instanceof IngesterError) return thrown;
  throw thrown;
}
