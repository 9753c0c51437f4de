// What one write of the batch writer did (src/ingest/batch-writer.ts), and what one commit of
// the batch committer did (src/ingest/batch-committer.ts): the writes' outcome and what isolating
// refused records added. When the committer halves a refused batch, the outcomes of its partial
// writes are summed here.
export interface BatchOutcome {
  customersCreated: number;
  posted: number;
  /** Transactions skipped because the ledger already had them (stored offsets moved back). */
  alreadyPosted: number;
  parked: number;
  /** Parked earlier, posted now that their customer exists. */
  unparked: number;
  /**
   * With unparkCustomers: the index in that list of the last customer the chunk took rows of.
   * The customers before it have none left (each is taken whole before the next, in list order).
   */
  unparkedThrough?: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  /** Posted into the ledger's default partition: no partition holds their time yet (src/db/ledger-partitions.ts). */
  postedToDefaultPartition: number;
}

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
