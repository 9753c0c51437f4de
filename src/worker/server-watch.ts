// Which Postgres server a branch's connection reaches, read every so often. A promoted standby
// keeps the primary's system identifier and starts a new timeline; a different identifier is
// another cluster (a restore into a new one, a wrong endpoint). Either deserves a line of its
// own: the batch statement's compare-and-set is what keeps the ledger right
// (src/db/stored-position.ts), this line tells an operator why it may fire. A server that will
// not say (a role without pg_control_system(), as on some managed services) is told once.
import { readServerIdentity, type ServerIdentity } from '../db/server-identity.js';
import type { PrismaClient } from '../db/prisma.js';
import type { Logger } from '../core/log.js';
import { toDatabaseError } from '../db/database-error.js';

export class ServerWatch {
  readonly #log: Logger;
  #last: ServerIdentity | undefined;
  #refusedSaid = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Reads which server answers and logs when it is not the one before; never throws. */
  async check(prisma: PrismaClient): Promise<void> {
    let server: ServerIdentity;
    try {
      server = await readServerIdentity(prisma);
    } catch (err) {
      if (!this.#refusedSaid)
        this.#log.info(
          { err: toDatabaseError(err).message },
          'cannot read which Postgres server answers; a failover is then seen only by the position check',
        );
      this.#refusedSaid = true;
      return;
    }
    this.seen(server);
  }

  seen(server: ServerIdentity): void {
    const last = this.#last;
    this.#last = server;
    if (last === undefined) {
      this.#log.debug({ server }, 'connected to Postgres');
      return;
    }
    if (last.systemIdentifier === server.systemIdentifier && last.timeline === server.timeline) return;
    const what =
      last.systemIdentifier !== server.systemIdentifier
        ? `another database cluster (system identifier ${last.systemIdentifier} before, ${server.systemIdentifier} now)`
        : `the same cluster on another timeline (${last.timeline ?? 'in recovery'} before, ${server.timeline ?? 'in recovery'} now: a standby was promoted or a backup restored to a point in time)`;
    this.#log.warn(
      { before: last, now: server },
      `the database connection now reaches ${what}; commits the old server had and this one lacks are read again from Kafka`,
    );
  }
}
