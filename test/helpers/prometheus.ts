// A real Prometheus server (Debian's prometheus package) of the test's own: a free port, its own
// data folder, scraping the given targets every second and evaluating the given rule files.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export class PrometheusServer {
  private constructor(readonly url: string) {}

  static async start(
    t: Teardown,
    options: { job: string; targets: string[]; ruleFiles: string[] },
  ): Promise<PrometheusServer> {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-prometheus-'));
    const config = path.join(dir, 'prometheus.yml');
    await writeFile(
      config,
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n${options.ruleFiles.map((f) => `  - ${JSON.stringify(f)}\n`).join('')}scrape_configs:\n  - job_name: ${options.job}\n    static_configs:\n      - targets: ${JSON.stringify(options.targets)}\n`,
    );
    const port = await freePort();
    const child = spawn(
      'prometheus',
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));
    t.teardown(async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
      await rm(dir, { recursive: true, force: true });
    });
    const server = new PrometheusServer(`http://127.0.0.1:${port}`);
    for (let i = 0; i < 100; i++) {
      if (child.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
      if (
        await fetch(`${server.url}/-/ready`).then(
          (r) => r.ok,
          () => false,
        )
      )
        return server;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`prometheus did not become ready: ${log}`);
  }

  /** An instant query; throws with Prometheus's error when the expression does not parse or run. */
  async query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
    return body.data!.result;
  }
}
