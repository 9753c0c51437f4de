/** Exponential backoff with jitter: 250 ms doubling to a 30 s ceiling. */
export class Backoff {
  #attempts = 0;

  constructor(
    private readonly initialMs = 250,
    private readonly maxMs = 30_000,
  ) {}

  get attempts(): number {
    return this.#attempts;
  }

  /** The delay before the next attempt, without counting it. */
  peek(): number {
    return Math.min(this.maxMs, this.initialMs * 2 ** this.#attempts);
  }

  next(): number {
    const base = this.peek();
    this.#attempts++;
    // Up to 20% jitter so branches that failed together do not retry in lockstep.
    return Math.round(base * (0.8 + Math.random() * 0.2));
  }

  reset(): void {
    this.#attempts = 0;
  }
}
