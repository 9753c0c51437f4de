// A stop flag shared between threads: an Int32 in a SharedArrayBuffer, 0 = run, 1 = stop. Sleeps
// wake at once when it is raised, so a stop never waits out a backoff.
export const STOP_INDEX = 0;

export function stopRequested(flag: Int32Array): boolean {
  return Atomics.load(flag, STOP_INDEX) === 1;
}

export function requestStop(flag: Int32Array): void {
  Atomics.store(flag, STOP_INDEX, 1);
  Atomics.notify(flag, STOP_INDEX);
}

/** Sleeps up to `ms`, waking early when stop is requested; resolves true when it was. */
export async function sleepUnlessStopped(flag: Int32Array, ms: number): Promise<boolean> {
  const result = Atomics.waitAsync(flag, STOP_INDEX, 0, ms);
  if (result.async) {
    // A pending waitAsync does not keep the event loop alive by itself; a timer does. It outlasts
    // the wait (whose own timeout may come a moment after a timer of the same length) and is
    // cleared as soon as the wait ends.
    const keepAlive = setTimeout(() => undefined, ms + 1_000);
    try {
      await result.value;
    } finally {
      clearTimeout(keepAlive);
    }
  }
  return stopRequested(flag);
}
