// Kafka Connect standalone running Debezium's JDBC sink on one topic: started with its table
// made first, watched through its REST API until its tasks run, stopped with its files removed.
// The bench's catch-up (debezium-peer.ts) and the load test's live pass (peer-live-pass.ts) use it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { processMemory } from './cpu-split.js';
import { ensurePeerJars } from './peer-jars.js';
import { peerProperties } from './peer-settings.js';
import { peerTableDdl } from './peer-table.js';

/** Kafka Connect's own start script gives its worker this heap. */
const HEAP = ['-Xms256M', '-Xmx2G'];

/** Kafka Connect standalone running the JDBC sink on one topic, its table made first. */
export class PeerConnect {
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #status: string;
  readonly #tasks: number;
  readonly spawnedAt: number;

  private constructor(child: ChildProcess, dir: string, status: string, tasks: number, spawnedAt: number) {
    this.#child = child;
    this.#dir = dir;
    this.#status = status;
    this.#tasks = tasks;
    this.spawnedAt = spawnedAt;
  }

  /**
   * Makes the table in `databaseUrl` and starts Connect on `topic`; `timed` adds the produce
   * timestamp to every row (see peerTableDdl).
   */
  static async start(options: {
    brokers: string;
    topic: string;
    databaseUrl: string;
    tasks: number;
    timed: boolean;
    fetchWaitMs?: number | undefined;
    logFile: string;
    say: (text: string) => void;
  }): Promise<PeerConnect> {
    const libs = await ensurePeerJars(options.say);
    const db = new pg.Client({ connectionString: options.databaseUrl });
    await db.connect();
    try {
      await db.query(peerTableDdl(options.timed));
    } finally {
      await db.end();
    }
    const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-peer-'));
    const restPort = await freePort();
    const files = peerProperties({
      brokers: options.brokers,
      topic: options.topic,
      databaseUrl: options.databaseUrl,
      tasks: options.tasks,
      restPort,
      offsetsFile: path.join(dir, 'offsets'),
      name: path.basename(dir),
      timed: options.timed,
      fetchWaitMs: options.fetchWaitMs,
    });
    await writeFile(path.join(dir, 'worker.properties'), files.worker);
    await writeFile(path.join(dir, 'connector.properties'), files.connector);
    const spawnedAt = Date.now();
    const log = createWriteStream(options.logFile);
    const child = spawn(
      'java',
      [
        ...HEAP,
        '-cp',
        `${libs}/*`,
        'org.apache.kafka.connect.cli.ConnectStandalone',
        path.join(dir, 'worker.properties'),
        path.join(dir, 'connector.properties'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const status = `http://127.0.0.1:${restPort}/connectors/${path.basename(dir)}/status`;
    return new PeerConnect(child, dir, status, options.tasks, spawnedAt);
  }

  /** Waits until Connect's REST API reports every task of the connector RUNNING. */
  async waitUntilRunning(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error('Kafka Connect exited before its tasks ran');
      const body = await fetch(this.#status)
        .then((r) => (r.ok ? (r.json() as Promise<{ tasks?: { state: string }[] }>) : undefined))
        .catch(() => undefined);
      const running = body?.tasks?.filter((t) => t.state === 'RUNNING').length ?? 0;
      if (running >= this.#tasks) return;
      if (Date.now() > deadline) throw new Error(`the peer's tasks were not running within ${timeoutMs / 1000} s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  get pid(): number {
    return this.#child.pid!;
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  async peakRssMB(): Promise<number> {
    return (await processMemory(this.pid)).peakRssBytes / 2 ** 20;
  }

  /** Stops Connect (SIGTERM, then SIGKILL after 30 s) and removes its files. */
  async stop(): Promise<void> {
    if (!this.exited) {
      const exited = new Promise((r) => this.#child.once('exit', r));
      this.#child.kill('SIGTERM');
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
