// The owned branch's chores, each on its own interval, run between batches by the ingest loop
// (not from a timer of their own: they share the branch's consumer and its one connection, and
// one of them can end the ownership run). One table of intervals instead of a `lastX` field each.

export class Chores<Name extends string> {
  readonly #intervals: Readonly<Record<Name, number>>;
  readonly #lastRun = new Map<Name, number>();

  /** `startedAt`: chores count their first interval from there (undefined: due at once). */
  constructor(intervals: Readonly<Record<Name, number>>, startedAt: Partial<Record<Name, number>> = {}) {
    this.#intervals = intervals;
    for (const [name, at] of Object.entries(startedAt) as [Name, number][]) this.#lastRun.set(name, at);
  }

  /** True when the chore's interval has passed since it last ran. */
  due(name: Name, now = Date.now()): boolean {
    const last = this.#lastRun.get(name);
    return last === undefined || now - last >= this.#intervals[name];
  }

  /** Marks the chore as run now. */
  ran(name: Name, now = Date.now()): void {
    this.#lastRun.set(name, now);
  }

  /** Makes the chore due at once. */
  forget(name: Name): void {
    this.#lastRun.delete(name);
  }

  /** Milliseconds since the chore last ran (Infinity when it never did). */
  sinceLastRun(name: Name, now = Date.now()): number {
    const last = this.#lastRun.get(name);
    return last === undefined ? Number.POSITIVE_INFINITY : now - last;
  }
}
