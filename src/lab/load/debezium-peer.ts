// The best-known JDBC sink, run beside the ingester in one benchmark: Debezium's JDBC sink
// connector on Kafka Connect standalone, draining the same transactions (in Connect's JSON with a
// schema, which the connector needs) into one table keyed by the Kafka coordinates. It does less
// than the ingester (no customers first, no balances, no quarantine, at least once): the figure
// says what the ingester's guarantees cost against the fastest way people do this job today.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { CpuMeter, processMemory } from './cpu-split.js';
import type { DrainRun } from './drain-run.js';
import { PROJECT_DIR } from './ingester-process.js';

const POM = path.join(PROJECT_DIR, 'scripts', 'peer', 'pom.xml');
const LIBS = path.join(PROJECT_DIR, '.peer', 'libs');
export const PEER_TABLE = 'peer_transaction';
/** Kafka Connect's own start script gives its worker this heap. */
const HEAP = ['-Xms256M', '-Xmx2G'];
/** Its start-up takes seconds (docs/performance.md): two minutes without a row means it is not consuming. */
const FIRST_ROW_TIMEOUT_MS = 120_000;

/**
 * Timed from the first row in the table to the last; its start-up is from the JVM's start to the
 * first row (Connect's start-up, the group join, the first batch).
 */
export interface PeerRun extends DrainRun {
  tasks: number;
}

/** Copies the connector's and Connect's jars from Maven Central on first use (about 70 MB). */
export async function ensurePeerJars(say: (text: string) => void): Promise<string> {
  const marker = path.join(LIBS, '.resolved');
  const resolved = await stat(marker).catch(() => undefined);
  if (resolved && resolved.mtimeMs >= (await stat(POM)).mtimeMs) return LIBS;
  say(`resolving Kafka Connect and Debezium's JDBC sink from Maven Central into ${LIBS}`);
  await rm(LIBS, { recursive: true, force: true });
  await mkdir(LIBS, { recursive: true });
  const code = await new Promise<number | null>((resolve, reject) => {
    const mvn = spawn(
      'mvn',
      ['-q', '-B', '-f', POM, 'dependency:copy-dependencies', `-DoutputDirectory=${LIBS}`, '-DincludeScope=runtime'],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    mvn.once('error', reject);
    mvn.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`Maven could not resolve the peer's jars (exit ${code})`);
  await writeFile(marker, '');
  return LIBS;
}

/** Kafka Connect's JDBC URL and credentials for a postgres:// URL. */
export function jdbcConnection(databaseUrl: string): { url: string; user: string; password: string } {
  const u = new URL(databaseUrl);
  return {
    url: `jdbc:postgresql://${u.hostname}:${u.port || '5432'}${u.pathname}`,
    user: decodeURIComponent(u.username) || os.userInfo().username,
    password: decodeURIComponent(u.password),
  };
}

/** The standalone worker's and the connector's settings, as properties files. */
export function peerProperties(options: {
  brokers: string;
  topic: string;
  databaseUrl: string;
  tasks: number;
  restPort: number;
  offsetsFile: string;
  name: string;
  /** Each row also gets its record's Kafka timestamp (peerTableDdl). */
  timed?: boolean;
  /**
   * A latency budget for the peer, as the ingester's --linger-ms is one: its consumer's fetches
   * wait up to this long for a megabyte, so each poll, flush and commit carries more records.
   * Undefined: Connect's defaults (a fetch returns as soon as one record is there).
   */
  fetchWaitMs?: number | undefined;
}): { worker: string; connector: string } {
  const jdbc = jdbcConnection(options.databaseUrl);
  const lines = (entries: Record<string, string | number>) =>
    `${Object.entries(entries)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`;
  return {
    worker: lines({
      'bootstrap.servers': options.brokers,
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
      'value.converter.schemas.enable': 'true',
      'offset.storage.file.filename': options.offsetsFile,
      listeners: `http://127.0.0.1:${options.restPort}`,
      // Every jar is on the class path: no plugin folders to scan.
      'plugin.discovery': 'only_scan',
      ...(options.fetchWaitMs === undefined
        ? {}
        : { 'consumer.fetch.min.bytes': 1_048_576, 'consumer.fetch.max.wait.ms': options.fetchWaitMs }),
    }),
    connector: lines({
      // Its consumer group is connect-<name>: a name of its own per run, or a second run would
      // start from the offsets the first one committed.
      name: options.name,
      'connector.class': 'io.debezium.connector.jdbc.JdbcSinkConnector',
      'tasks.max': options.tasks,
      topics: options.topic,
      'connection.url': jdbc.url,
      'connection.username': jdbc.user,
      'connection.password': jdbc.password,
      'insert.mode': 'insert',
      // Up to 10,000 records a flush, as the issue's measurement set it (500 by default); a put
      // of fewer is flushed at its end.
      'batch.size': 10_000,
      'primary.key.mode': 'kafka',
      // The table exists before the start, as the ingester's schema does: two tasks creating it
      // at once race, and one of them waits out a retry.
      'schema.evolution': 'none',
      'collection.name.format': PEER_TABLE,
      ...(options.timed
        ? {
            transforms: 'produced',
            'transforms.produced.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
            'transforms.produced.timestamp.field': 'produced_at',
          }
        : {}),
    }),
  };
}

/**
 * The connector's table, made beforehand as the ingester's schema is (its own schema evolution
 * would make the same columns). `timed`: two more columns for a live run's latency, the record's
 * Kafka timestamp (put in each value by Connect's InsertField transform) and the clock at the
 * insert, as the ingester's ledger has them.
 */
export function peerTableDdl(timed: boolean): string {
  const columns = timed
    ? `,\n  produced_at timestamp not null, written_at timestamptz not null default clock_timestamp()`
    : '';
  return `create table ${PEER_TABLE} (
  custid bigint not null, type text not null, date bigint not null, amt bigint not null,
  __connect_topic text not null, __connect_partition integer not null, __connect_offset bigint not null${columns},
  primary key (__connect_topic, __connect_partition, __connect_offset))`;
}

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

/**
 * Drains `topic` (each partition holding `perPartition[p]` transactions from offset 0) with the
 * peer into a new table in `databaseUrl`; stops it and checks the row count.
 */
export async function measurePeer(options: {
  brokers: string;
  topic: string;
  databaseUrl: string;
  perPartition: number[];
  tasks: number;
  logFile: string;
  say: (text: string) => void;
}): Promise<PeerRun> {
  const rows = options.perPartition.reduce((a, b) => a + b, 0);
  const connect = await PeerConnect.start({ ...options, timed: false });
  const db = new pg.Client({ connectionString: options.databaseUrl });
  try {
    await db.connect();
    let meter: CpuMeter | undefined;
    let firstRowAt = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      if (connect.exited) throw new Error(`Kafka Connect exited (log: ${options.logFile})`);
      const done = await peerRowsWritten(db, options.topic, options.perPartition);
      if (done > 0 && meter === undefined) {
        firstRowAt = Date.now();
        meter = await CpuMeter.start(() => [connect.pid]);
      }
      if (done >= rows) break;
      if (meter === undefined && Date.now() - connect.spawnedAt > FIRST_ROW_TIMEOUT_MS)
        throw new Error(`the peer wrote no row within ${FIRST_ROW_TIMEOUT_MS / 1000} s (log: ${options.logFile})`);
      if (Date.now() - connect.spawnedAt > 1_800_000)
        throw new Error('the peer did not drain the backlog within 30 minutes');
    }
    const finished = Date.now();
    const cpu = await meter!.end(rows);
    const peakRssMB = await connect.peakRssMB();
    await connect.stop();
    const count = await db.query<{ n: string }>(`select count(*) as n from ${PEER_TABLE}`);
    const seconds = (finished - firstRowAt) / 1000;
    const startupSeconds = (firstRowAt - connect.spawnedAt) / 1000;
    return {
      rows,
      seconds,
      startupSeconds,
      rowsPerSecond: rows / seconds,
      rowsPerSecondWithStartup: rows / (seconds + startupSeconds),
      peakRssMB,
      cpu,
      tasks: options.tasks,
      verified: Number(count.rows[0]!.n) === rows,
    };
  } finally {
    await connect.stop();
    await db.end().catch(() => undefined);
  }
}

/**
 * Rows the peer has written, read from the highest offset per partition (an index lookup each):
 * a task writes a partition's records in offset order, so offset k written means 0..k are.
 */
export async function peerRowsWritten(db: pg.Client, topic: string, perPartition: number[]): Promise<number> {
  const result = await db.query<{ p: number; last: string | null }>(
    `select p, (select max(__connect_offset) from ${PEER_TABLE} where __connect_topic = $1 and __connect_partition = p) as last
       from generate_series(0, $2::int - 1) as p`,
    [topic, perPartition.length],
  );
  return result.rows.reduce((n, r) => n + (r.last === null ? 0 : Math.min(Number(r.last) + 1, perPartition[r.p]!)), 0);
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
