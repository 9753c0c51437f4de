// A certificate authority of the test's own, made with openssl: a CA and server certificates it
// signs (for 127.0.0.1 and localhost), for the TLS Postgres and the TLS Kafka broker of the tests.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface TestCa {
  dir: string;
  /** The CA certificate (PEM) clients trust. */
  caCert: string;
  /** Issues a server certificate and key (PEM files) for 127.0.0.1 and localhost. */
  issueServer(name: string): Promise<{ cert: string; key: string }>;
}

const openssl = (args: string[], cwd: string) => execFileAsync('openssl', args, { cwd, timeout: 60_000 });

export async function createTestCa(t: Teardown, name = 'ca'): Promise<TestCa> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `zipbank-${name}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=ZipBank test ${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
  const caCert = path.join(dir, `${name}.pem`);
  return {
    dir,
    caCert,
    async issueServer(server: string) {
      const ext = path.join(dir, `${server}.ext`);
      await writeFile(ext, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
      await openssl(
        [
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-subj',
          '/CN=localhost',
          '-keyout',
          `${server}.key`,
          '-out',
          `${server}.csr`,
        ],
        dir,
      );
      await openssl(
        [
          'x509',
          '-req',
          '-in',
          `${server}.csr`,
          '-CA',
          `${name}.pem`,
          '-CAkey',
          `${name}.key`,
          '-CAcreateserial',
          '-days',
          '2',
          '-extfile',
          ext,
          '-out',
          `${server}.pem`,
        ],
        dir,
      );
      return { cert: path.join(dir, `${server}.pem`), key: path.join(dir, `${server}.key`) };
    },
  };
}
