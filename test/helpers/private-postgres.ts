// A PostgreSQL server of the test's own (initdb from the installed PostgreSQL 15, on its own
// port), for tests that need TLS or their own roles: only TLS connections are admitted (hostssl),
// with the server certificate a test CA signed. Stopped and removed when the test ends.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, writeFile, appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const BIN = '/usr/lib/postgresql/15/bin';

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** initdb and postgres refuse to run as root: as root, run them as the postgres user. */
export function asPostgres(command: string, args: string[]) {
  const asRoot = process.getuid?.() === 0;
  return execFileAsync(asRoot ? 'runuser' : command, asRoot ? ['-u', 'postgres', '--', command, ...args] : args, {
    timeout: 120_000,
  });
}

/**
 * Over TCP the server admits TLS only (the role zb_password_user with a SCRAM password, every other
 * role trusted), and never to the maintenance database `postgres` (as on
 * managed servers); `createDatabase` goes through the server's Unix socket instead.
 */
export async function privatePostgresWithTls(
  t: Teardown,
  port: number,
  tls: { cert: string; key: string },
): Promise<{ serverUrl: string; createDatabase(name: string): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-pg-'));
  await chmod(dir, 0o777);
  const data = path.join(dir, 'data');
  t.teardown(async () => {
    await asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', 'stop']).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  await asPostgres(`${BIN}/initdb`, ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync']);
  // The key must belong to the server's user and be private to it.
  for (const [from, to] of [
    [tls.cert, 'server.crt'],
    [tls.key, 'server.key'],
  ] as const) {
    await copyFile(from, path.join(data, to));
    await chmod(path.join(data, to), 0o600);
  }
  if (process.getuid?.() === 0) await execFileAsync('chown', ['-R', 'postgres', data]);
  await appendFile(
    path.join(data, 'postgresql.conf'),
    `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\nssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nfsync = off\n`,
  );
  await writeFile(
    path.join(data, 'pg_hba.conf'),
    `local all all trust\nhost postgres all 127.0.0.1/32 reject\nhostssl all zb_password_user 127.0.0.1/32 scram-sha-256\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n`,
  );
  if (process.getuid?.() === 0) await execFileAsync('chown', ['postgres', path.join(data, 'pg_hba.conf')]);
  await asPostgres(`${BIN}/pg_ctl`, ['-D', data, '-l', path.join(dir, 'server.log'), '-w', 'start']);
  return {
    serverUrl: `postgresql://postgres@127.0.0.1:${port}`,
    async createDatabase(name: string) {
      await asPostgres(`${BIN}/createdb`, ['-h', dir, '-p', String(port), name]);
    },
  };
}
