// Runs the real supervisor (node dist/main.cjs) as a child process for a test, and reads
// what it wrote with plain SQL.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { BROKERS, PROJECT_DIR } from './fixtures.js';
import type { TestTopics } from './fixtures.js';

interface Teardown {
  teardown(fn: () => unknown): void;
}

export interface SupervisorOptions {
  /**
   * tap makes every Node process a test spawns preload its --import hook (NODE_OPTIONS, put back
   * even into an environment given in full); `env -u` takes it out, so the supervisor starts as
   * it would in production.
   */
  withoutTestHooks?: boolean;
  /** The process entry: dist/main.cjs (npm start, the image) unless given. */
  entry?: 'dist/main.cjs' | 'dist/supervisor.js';
}

export class SupervisorProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(
    t: Teardown,
    topics: TestTopics,
    databaseUrl: string,
    args: string[],
    env: Record<string, string> = {},
    options: SupervisorOptions = {},
  ) {
    const [command, ...prefix] = options.withoutTestHooks
      ? ['/usr/bin/env', '-u', 'NODE_OPTIONS', process.execPath]
      : [process.execPath];
    this.child = spawn(
      command!,
      [
        ...prefix,
        path.join(PROJECT_DIR, options.entry ?? 'dist/main.cjs'),
        '--customers-topic',
        topics.customersTopic,
        '--transactions-topic',
        topics.transactionsTopic,
        '--brokers',
        BROKERS,
        '--database-url',
        databaseUrl,
        ...(args.includes('--metrics-port') ? [] : ['--metrics-port', '0']),
        ...args,
      ],
      { cwd: PROJECT_DIR, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
    );
    let buffered = '';
    const collect = (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      this.lines.push(...parts);
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    // 'close', not 'exit': it comes after stdout and stderr are read to the end, so a test that
    // reads the log once the process has exited sees its last lines.
    this.exited = new Promise((resolve) => this.child.once('close', (code, signal) => resolve({ code, signal })));
    t.teardown(() => this.kill('SIGKILL'));
    // Safety net: never leave a supervisor behind, even when another teardown fails first.
    const killOnExit = () => this.child.kill('SIGKILL');
    process.once('exit', killOnExit);
    void this.exited.then(() => process.removeListener('exit', killOnExit));
  }

  /**
   * Sends the signal and waits for the exit. A supervisor that has not exited within `withinMs`
   * fails the test with its last log lines (a hang is a finding, not a test timeout to puzzle
   * over), and is SIGKILLed so that nothing is left running.
   */
  async kill(
    signal: NodeJS.Signals,
    withinMs = 30_000,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), withinMs)));
    const exit = await Promise.race([this.exited, late]).finally(() => clearTimeout(timer));
    if (exit !== 'late') return exit;
    this.child.kill('SIGKILL');
    throw new Error(
      `supervisor ${this.child.pid} did not exit within ${withinMs} ms of ${signal}; its last log lines:\n${this.tail()}`,
    );
  }

  /** The port /metrics, /healthz and /readyz are served on, once the supervisor has said it. */
  async httpPort(): Promise<number> {
    for (let i = 0; i < 300; i++) {
      const line = this.logs().find((l) => l.msg === 'serving /healthz, /readyz and /metrics');
      if (line) return (line.address as { port: number }).port;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the supervisor never said where it serves /metrics');
  }

  /** GET one of the supervisor's HTTP endpoints (/healthz, /readyz, /metrics). */
  async get(path: string): Promise<{ status: number; text: string }> {
    const res = await fetch(`http://127.0.0.1:${await this.httpPort()}${path}`);
    return { status: res.status, text: await res.text() };
  }

  /** Its last log lines as text, for a failure message. */
  tail(lines = 40): string {
    return this.lines.slice(-lines).join('\n');
  }

  /**
   * The first log line that matches, waiting up to `withinMs` for it: a worker's log line reaches
   * stdout through its own stream, after the event (readiness, a row) a test may have waited on.
   * Undefined when no such line came, so the test's assertion fails with its own message.
   */
  async logLine(
    matches: (line: Record<string, unknown>) => boolean,
    withinMs = 10_000,
  ): Promise<Record<string, unknown> | undefined> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const line = this.logs().find(matches);
      if (line || Date.now() > deadline) return line;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Parsed JSON log lines. */
  logs(): Record<string, unknown>[] {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
  }
}

export async function sql<T extends pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

export async function count(url: string, table: string, where = 'true'): Promise<number> {
  const [row] = await sql<{ n: string }>(url, `SELECT count(*) AS n FROM ${table} WHERE ${where}`);
  return Number(row?.n ?? 0);
}

/** Polls until `check` is true; throws with the last value after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  read: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 60_000,
  pollMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!check(value)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, pollMs));
    value = await read();
  }
  return value;
}

/** Every invariant of the ledger: no record twice, balances equal their ledger sums. */
export async function ledgerInvariants(url: string) {
  const [dups] = await sql<{ n: string }>(
    url,
    `SELECT count(*) AS n FROM (SELECT 1 FROM "transaction" GROUP BY kafka_topic, kafka_partition, kafka_offset HAVING count(*) > 1) d`,
  );
  const [mismatch] = await sql<{ n: string }>(
    url,
    `SELECT count(*) AS n FROM balance b
       FULL JOIN (SELECT custid, sum(CASE WHEN kind = 'deposit' THEN amount_cents ELSE -amount_cents END) AS s, count(*) AS c
                    FROM "transaction" GROUP BY custid) l USING (custid)
      WHERE coalesce(b.balance_cents, 0) <> coalesce(l.s, 0) OR coalesce(b.transaction_count, 0) <> coalesce(l.c, 0)`,
  );
  const [net] = await sql<{ s: string | null }>(
    url,
    `SELECT sum(CASE WHEN kind = 'deposit' THEN amount_cents ELSE -amount_cents END) AS s FROM "transaction"`,
  );
  return { duplicates: Number(dups?.n), balanceMismatches: Number(mismatch?.n), netCents: Number(net?.s ?? 0) };
}

/** The value of one sample line of Prometheus text, e.g. sample(text, 'x_total{branch="0"}'). */
export function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
