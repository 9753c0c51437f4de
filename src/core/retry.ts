// The one retry loop: the branch worker's database and Kafka calls, the supervisor's start-up
// checks and the consumer group join all run through it. Whether a failure is waited out is
// read from the error code's class (src/core/errors.ts), never decided where it was thrown. A
// stop ends it at once: the StoppedError of its signal is thrown (src/core/stop-signal.ts).
import { Backoff } from './backoff.js';
import { type ErrorClass, IngesterError } from './errors.js';
import { sleep } from './stop-signal.js';

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

/** Turns what an action threw into an IngesterError, so that its code decides. */
export type Classify = (thrown: unknown) => IngesterError;

/** What happens around the retries besides waiting: logs, reports, leases. All optional. */
export interface RetryObserver {
  /** Before each try of the action. */
  trying?(what: string): void;
  /** Before each wait; awaited. */
  failed?(what: string, failure: RetryFailure): void | Promise<void>;
  /** Once the action succeeds after failing; awaited. */
  recovered?(what: string, attempts: number, failedForMs: number): void | Promise<void>;
  /** After the last try, whatever its end. */
  settled?(what: string): void;
}

export interface RetryOptions {
  /** Aborted: the loop ends at once, throwing the signal's reason. */
  signal: AbortSignal;
  backoff?: Backoff;
  /** By default an error that is not an IngesterError is rethrown as it is (a bug, not an outage). */
  classify?: Classify;
  observer?: RetryObserver;
  /** What the action does, for the observer (`could not ${what}`). */
  what?: string;
}

/** True for the classes a retry loop waits out: an outage, or a setup an operator is fixing. */
export function isWaitedOut(errorClass: ErrorClass): boolean {
  return errorClass === 'retry' || errorClass === 'pause';
}

/**
 * Runs `action` until it succeeds. A failure whose class is waited out (isWaitedOut) is retried
 * with backoff; any other is rethrown at once. Throws the signal's StoppedError when a stop is
 * requested before it succeeds.
 */
export async function retry<T>(action: () => Promise<T>, options: RetryOptions): Promise<T> {
  const { signal, observer, what = 'run an action' } = options;
  const backoff = options.backoff ?? new Backoff();
  const classify = options.classify ?? rethrowUnknown;
  let failingSince = 0;
  let lastMessage = '';
  let lastReported = 0;
  try {
    for (;;) {
      signal.throwIfAborted();
      try {
        observer?.trying?.(what);
        const value = await action();
        if (backoff.attempts > 0) await observer?.recovered?.(what, backoff.attempts, Date.now() - failingSince);
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
        const failingForMs = now - failingSince;
        await observer?.failed?.(what, { err, errorClass, attempt: backoff.attempts, delayMs, failingForMs, repeated });
        await sleep(delayMs, signal);
      }
    }
  } finally {
    observer?.settled?.(what);
  }
}

/**
 * A retry loop's settings as one value, passed down to whatever makes database or Kafka calls
 * (the committer takes one): the stop signal, how failures are classified, and who hears of them.
 */
export class RetryPolicy {
  readonly signal: AbortSignal;
  readonly classify: Classify;
  readonly #observer: RetryObserver | undefined;

  constructor(options: { signal: AbortSignal; classify?: Classify; observer?: RetryObserver }) {
    this.signal = options.signal;
    this.classify = options.classify ?? rethrowUnknown;
    this.#observer = options.observer;
  }

  /** Runs `action` through the retry loop (see retry); `what` names it in reports. */
  run<T>(what: string, action: () => Promise<T>): Promise<T> {
    return retry(action, { signal: this.signal, classify: this.classify, observer: this.#observer, what });
  }

  /** The same signal and observer, with failures classified by `classify` instead. */
  classifyingWith(classify: Classify): RetryPolicy {
    return new RetryPolicy({ signal: this.signal, classify, observer: this.#observer });
  }
}

/** The default classification: an IngesterError decides by its code; anything else is a bug, rethrown. */
export function rethrowUnknown(thrown: unknown): IngesterError {
  if (thrown instanceof IngesterError) return thrown;
  throw thrown;
}
