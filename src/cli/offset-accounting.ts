// The audit's rule for one offset of a branch's partition: what accounts for it, exactly once, or
// what is wrong with it. Pure: the audit (src/cli/audit.ts) gathers the facts from Kafka and
// Postgres, chunk by chunk, and this decides.

/** The kinds of row an offset can have in Postgres. */
export type RowKind = 'ledger' | 'customer' | 'parked' | 'rejected';

/** What accounts for an offset. */
export type Account =
  | RowKind
  /** A customer creation repeated with the same data: the customer's row is at another offset. */
  | 'repeat'
  /** Deleted from Kafka before it was read, and the loss accepted by an operator. */
  | 'gap'
  /** Kafka holds no record there (a transaction marker, or an aborted transaction's record). */
  | 'marker'
  /** At or past the branch's stored offset: not read yet. */
  | 'unread';

export interface OffsetFacts {
  /** Rows at this offset in Postgres, of each kind found. */
  rows: readonly RowKind[];
  /** Kafka delivered a record at this offset. */
  inKafka: boolean;
  /** The offset is below the partition's log start (deleted, by retention or by hand). */
  deleted: boolean;
  /** An accepted offset gap covers it. */
  gapAccepted: boolean;
  /** At or past the stored next offset. */
  unread: boolean;
  /** The record is a customer creation for a customer whose row exists (at another offset). */
  repeatOfKnownCustomer: boolean;
}

export type Verdict = { account: Account } | { problem: string };

export function accountFor(f: OffsetFacts): Verdict {
  if (f.rows.length > 1) return { problem: `accounted for more than once: ${f.rows.join(' and ')} rows` };
  if (f.unread)
    return f.rows.length === 0
      ? { account: 'unread' }
      : { problem: `a ${f.rows[0]} row at or past the stored offset, which was not read yet` };
  const [row] = f.rows;
  if (row !== undefined) {
    if (!f.inKafka && !f.deleted) return { problem: `a ${row} row where Kafka holds no record` };
    return { account: row };
  }
  if (f.inKafka)
    return f.repeatOfKnownCustomer ? { account: 'repeat' } : { problem: 'read, but no row accounts for it' };
  if (f.deleted)
    return f.gapAccepted
      ? { account: 'gap' }
      : { problem: 'deleted from Kafka before it was read, with no row and no accepted gap' };
  return { account: 'marker' };
}
