// The Prisma client of a branch worker thread, with its one Postgres connection. By default a
// thread runs one branch, so this is that branch's own client, made when the branch starts and
// closed when it ends, as before. With --branches-per-thread k the thread's k branches share it:
// their batches, lease renewals and health checks take turns on one connection, so 64 branches
// need 64 / k connections, and Postgres runs as many writers at once as there are threads (many
// concurrent writers on a small machine cost each row more CPU, docs/performance.md).
// Each batch is still its own transaction; only the waiting for the connection is shared.
import { createPrisma, type PrismaClient, type SilentConnectionOptions } from './prisma.js';

/** Connections of a thread's pool: the design's one per branch thread. */
const CONNECTIONS_PER_THREAD = 1;

class ThreadPrisma {
  #client: PrismaClient | undefined;
  #users = 0;

  /**
   * The thread's client, made on first use; every acquire is paired with a release. Every branch
   * task carries the supervisor's one frozen config, so the URL is the same for all of them.
   */
  acquire(databaseUrl: string, silence: SilentConnectionOptions): PrismaClient {
    this.#client ??= createPrisma(databaseUrl, CONNECTIONS_PER_THREAD, silence);
    this.#users++;
    return this.#client;
  }

  /** The last branch of the thread to go closes the connection. */
  async release(client: PrismaClient): Promise<void> {
    if (client !== this.#client) return;
    if (--this.#users > 0) return;
    this.#client = undefined;
    await client.$disconnect();
  }
}

export const threadPrisma = new ThreadPrisma();
