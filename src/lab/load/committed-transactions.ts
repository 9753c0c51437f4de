// Postgres transactions a writer commits in its database over a measured phase, as Postgres's
// own statistics count them (pg_stat_database.xact_commit): each costs the server a commit
// however few rows it holds, so it is the figure to put beside CPU per transaction. The
// measuring client's own statements are transactions there too, and are taken out.
import type pg from 'pg';

/** Counts the statements `client` sends from now on (each a transaction of its own). */
export function countStatements(client: pg.Client): () => number {
  let sent = 0;
  const target = client as unknown as { query: (...args: unknown[]) => unknown };
  const query = target.query.bind(client);
  target.query = (...args: unknown[]) => {
    sent++;
    return query(...args);
  };
  return () => sent;
}

export class CommittedTransactions {
  readonly #db: pg.Client;
  readonly #own: () => number;
  readonly #start: { at: number; committed: number; own: number };

  private constructor(db: pg.Client, own: () => number, start: { at: number; committed: number; own: number }) {
    this.#db = db;
    this.#own = own;
    this.#start = start;
  }

  /** `db` is connected to the measured database; `own` counts its statements (countStatements). */
  static async start(db: pg.Client, own: () => number): Promise<CommittedTransactions> {
    const committed = await read(db);
    return new CommittedTransactions(db, own, { at: Date.now(), committed, own: own() });
  }

  /** Transactions committed since the start by everything but the measuring client, and per second. */
  async end(): Promise<{ count: number; perSecond: number }> {
    const committed = await read(this.#db);
    // The two reads balance: the first is in the figure the last one reads, the last is not.
    const count = committed - this.#start.committed - (this.#own() - this.#start.own);
    return { count, perSecond: count / ((Date.now() - this.#start.at) / 1000) };
  }
}

async function read(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    'select xact_commit::text as n from pg_stat_database where datname = current_database()',
  );
  return Number(rows[0]!.n);
}
