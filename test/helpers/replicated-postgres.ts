// PostgreSQL servers of a test's own that can lose their last commits, as production ones do:
// a primary with an asynchronous streaming standby (initdb and pg_basebackup from the installed
// PostgreSQL 15, as CloudNativePG and Patroni set them up by default), whose replication link
// runs through a proxy the test can cut, and base backups to restore a server from. Everything
// lives in a temporary folder, stopped and removed when the test ends.
import { chmod, mkdtemp, rm, appendFile, rename } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { asPostgres, BIN } from './private-postgres.js';
import { freePort, TcpProxy } from './tcp-proxy.js';
import { sql } from './supervisor.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** One server: its data folder and port. */
export class PostgresServer {
  constructor(
    readonly dir: string,
    readonly data: string,
    readonly port: number,
  ) {}

  /** A database URL on this server, straight to it (not through an endpoint). */
  url(database = 'postgres'): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    await asPostgres(`${BIN}/pg_ctl`, ['-D', this.data, '-l', path.join(this.dir, `${this.port}.log`), '-w', 'start']);
  }

  /** Stops it at once, as a crash or a lost machine does (no shutdown checkpoint). */
  async kill(): Promise<void> {
    await asPostgres(`${BIN}/pg_ctl`, ['-D', this.data, '-m', 'immediate', 'stop']);
  }

  /** A standby becomes a primary, on a new timeline. */
  async promote(): Promise<void> {
    await asPostgres(`${BIN}/pg_ctl`, ['-D', this.data, '-w', 'promote']);
  }

  /**
   * A base backup of the running server (with its WAL, so it starts on its own), into a folder
   * beside the data folder; `connection` names another way in (a standby's replication link).
   */
  async baseBackup(name: string, options: { standbyOf?: string } = {}): Promise<string> {
    const target = path.join(this.dir, name);
    const args = ['-D', target, '-X', 'stream', '-c', 'fast', '--no-sync'];
    args.push('-d', options.standbyOf ?? `host=127.0.0.1 port=${this.port} user=postgres`);
    if (options.standbyOf) args.push('-R');
    await asPostgres(`${BIN}/pg_basebackup`, args);
    return target;
  }

  /** Stops the server, puts the data folder of a backup in place of its own, and starts it again. */
  async restore(backup: string): Promise<void> {
    await this.kill();
    await rm(this.data, { recursive: true, force: true });
    await rename(backup, this.data);
    await this.start();
  }
}

/** A folder of servers of the test's own; each is stopped, and the folder removed, when the test ends. */
export class PrivatePostgres {
  readonly #dir: string;
  readonly #servers: PostgresServer[] = [];
  readonly #links: TcpProxy[] = [];

  private constructor(dir: string) {
    this.#dir = dir;
  }

  static async create(t: Teardown): Promise<PrivatePostgres> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-ha-'));
    await chmod(dir, 0o777);
    const folder = new PrivatePostgres(dir);
    t.teardown(async () => {
      for (const link of folder.#links) await link.down();
      for (const s of folder.#servers)
        await asPostgres(`${BIN}/pg_ctl`, ['-D', s.data, '-m', 'immediate', 'stop']).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    });
    return folder;
  }

  /** A primary, started: trusts local connections and replication. */
  async primary(): Promise<PostgresServer> {
    const primary = new PostgresServer(this.#dir, path.join(this.#dir, 'primary'), await freePort());
    this.#servers.push(primary);
    await asPostgres(`${BIN}/initdb`, ['-D', primary.data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
    await appendFile(
      path.join(primary.data, 'postgresql.conf'),
      `\nport = ${primary.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${this.#dir}'\nfsync = off\nmax_wal_senders = 4\n`,
    );
    await primary.start();
    return primary;
  }

  /**
   * A streaming standby of `primary` (asynchronous, hot), started. Its replication link goes
   * through `link`: cut it (link.down()) and the standby stops receiving, so the commits the
   * primary makes from then on are the ones a failover loses.
   */
  async standbyOf(primary: PostgresServer): Promise<{ standby: PostgresServer; link: TcpProxy }> {
    const link = await TcpProxy.start({ host: '127.0.0.1', port: primary.port });
    this.#links.push(link);
    const port = await freePort();
    const data = await primary.baseBackup('standby', { standbyOf: `host=127.0.0.1 port=${link.port} user=postgres` });
    const standby = new PostgresServer(this.#dir, data, port);
    this.#servers.push(standby);
    await appendFile(path.join(data, 'postgresql.conf'), `\nport = ${port}\n`);
    await standby.start();
    return { standby, link };
  }
}

/** The sum of every branch's commit count on a server (src/db/stored-position.ts). */
export async function commitsOn(url: string): Promise<number> {
  const [row] = await sql<{ n: string | null }>(url, 'SELECT sum(commits) AS n FROM branch_lease');
  return Number(row?.n ?? 0);
}
