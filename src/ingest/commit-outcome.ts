// What one commit of the batch committer did (src/ingest/batch-committer.ts): the batch writer's
// outcome, and what isolating refused records added. When the committer halves a refused batch,
// the outcomes of its partial writes are summed here.
import type { BatchOutcome } from './batch-writer.js';

export interface CommitOutcome extends BatchOutcome {
  /** Records (or parked transactions) quarantined because Postgres refused them. */
  refused: number;
  /** Of those, parked transactions (they leave the branch's parked backlog). */
  parkedRefused: number;
  /** Statements the isolation took beyond the first write (0 in the common case). */
  extraWrites: number;
}

/** Sums the outcomes of the partial writes of one isolated batch. */
export class Tally {
  writes = 0;
  refused = 0;
  parkedRefused = 0;
  readonly #sum: BatchOutcome = {
    customersCreated: 0,
    posted: 0,
    alreadyPosted: 0,
    parked: 0,
    unparked: 0,
    rejected: 0,
    rejectedByReason: {},
    postedToDefaultPartition: 0,
  };

  add(o: BatchOutcome): void {
    const s = this.#sum;
    s.customersCreated += o.customersCreated;
    s.posted += o.posted;
    s.alreadyPosted += o.alreadyPosted;
    s.parked += o.parked;
    s.unparked += o.unparked;
    if (o.unparkedThrough !== undefined) s.unparkedThrough = o.unparkedThrough;
    s.rejected += o.rejected;
    s.postedToDefaultPartition += o.postedToDefaultPartition;
    for (const [reason, n] of Object.entries(o.rejectedByReason))
      s.rejectedByReason[reason] = (s.rejectedByReason[reason] ?? 0) + n;
  }

  get outcome(): CommitOutcome {
    // The first write, which was refused, is not an extra one; every write after it is.
    return { ...this.#sum, refused: this.refused, parkedRefused: this.parkedRefused, extraWrites: this.writes };
  }
}
