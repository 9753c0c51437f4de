// A branch's sign of life, shared between its worker thread and the supervisor: the time until
// which the branch's loop is known to be alive, in a SharedArrayBuffer. The worker moves it on
// at every turn of its loops and before every deliberate wait (a backoff, a poll), by the length
// of the wait; the supervisor reads it without a message, so a worker stuck in one call that
// never returns is seen even though it sends nothing (src/supervisor/liveness.ts).
export class Heartbeat {
  readonly buffer: SharedArrayBuffer;
  readonly #aliveUntil: BigInt64Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.buffer = buffer;
    this.#aliveUntil = new BigInt64Array(buffer);
  }

  /** The loop made progress now, and will be quiet for up to `quietMs` on purpose. */
  beat(quietMs = 0, now = Date.now()): void {
    Atomics.store(this.#aliveUntil, 0, BigInt(Math.ceil(now + quietMs)));
  }

  /** Milliseconds since the loop was last known alive (0 while within a wait it announced). */
  silentForMs(now = Date.now()): number {
    return Math.max(0, now - Number(Atomics.load(this.#aliveUntil, 0)));
  }
}
