// Which Postgres server a branch's connection reaches, as the health check reads it. A promoted
// standby keeps the primary's system identifier and starts a new timeline; a different
// identifier is another cluster (a restore into a new one, a wrong endpoint). Either deserves a
// line of its own: the batch statement's compare-and-set is what keeps the ledger right
// (src/db/stored-position.ts), this line tells an operator why it may fire.
import type { ServerIdentity } from '../db/branch-health.js';
import type { Logger } from '../core/log.js';

export class ServerWatch {
  readonly #log: Logger;
  #last: ServerIdentity | undefined;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** The server the last health check reached; logs when it is not the one before. */
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
        : `the same cluster on another timeline (${last.timeline ?? 'in recovery'} before, ${server.timeline ?? 'in recovery'} now: a standby was promoted or a backup restored)`;
    this.#log.warn(
      { before: last, now: server },
      `the database connection now reaches ${what}; commits the old server had and this one lacks are read again from Kafka`,
    );
  }
}
