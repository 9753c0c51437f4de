// The supervisor as a child process, for the demo, the load test and the benchmark: started with
// given settings, its JSON log kept in a file, its CPU time and memory read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { processCpuSeconds, processMemory, type ProcessMemory } from './cpu-split.js';

/**
 * What the container image sets for the supervisor (Dockerfile, ENV): the load tools measure the
 * ingester as it ships. glibc gives busy threads malloc arenas of their own (up to 8 per core);
 * two shared arenas keep the peak lower (docs/performance.md). A variable of the caller's
 * environment wins.
 */
export const IMAGE_ENVIRONMENT: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2' });

export const PROJECT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface IngesterSettings {
  partitions: string;
  brokers: string;
  databaseUrl: string;
  customersTopic: string;
  transactionsTopic: string;
  extraArgs?: string[];
  logFile: string;
}

export class IngesterProcess {
  readonly child: ChildProcess;
  #workersStarted = 0;
  /** Branches whose worker logged "started" and not yet "stopping" (or "died"). */
  readonly #runningBranches = new Set<number>();
  /** The end of the last stdout chunk when it stopped mid-line. */
  #partialLine = '';
  #died = 0;
  readonly exited: Promise<number | null>;

  constructor(settings: IngesterSettings) {
    this.child = spawn(
      process.execPath,
      [
        // Profiling the ingester under load (for example --cpu-prof): node's own flags, lab only.
        ...(process.env.ZIPBANK_LAB_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
        'dist/main.cjs',
        '--partitions',
        settings.partitions,
        '--brokers',
        settings.brokers,
        '--database-url',
        settings.databaseUrl,
        '--customers-topic',
        settings.customersTopic,
        '--transactions-topic',
        settings.transactionsTopic,
        '--metrics-port',
        '0',
        ...(settings.extraArgs ?? []),
      ],
      { cwd: PROJECT_DIR, stdio: ['ignore', 'pipe', 'pipe'], env: { ...IMAGE_ENVIRONMENT, ...process.env } },
    );
    const log = createWriteStream(settings.logFile, { flags: 'a' });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      log.write(chunk);
      const lines = (this.#partialLine + chunk.toString()).split('\n');
      this.#partialLine = lines.pop() ?? '';
      for (const line of lines) this.#readLogLine(line);
    });
    this.child.stderr!.pipe(log);
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get workersStarted(): number {
    return this.#workersStarted;
  }

  /** Branch workers running now (started and not stopping): the branches this supervisor owns. */
  get workersRunning(): number {
    return this.#runningBranches.size;
  }

  /**
   * Follows the workers by branch. Counting "stopping" lines against "started" ones went wrong
   * when the group moved a branch away before its worker had started: the stop was counted,
   * the start never came, and the member looked as if it owned nothing.
   */
  #readLogLine(line: string): void {
    const started = line.includes('"branch worker started"');
    const died = !started && line.includes('"branch worker died"');
    if (!started && !died && !line.includes('"branch worker stopping"')) return;
    if (started) this.#workersStarted += 1;
    if (died) this.#died += 1;
    const branch = branchOf(line);
    if (branch === undefined) return;
    if (started) this.#runningBranches.add(branch);
    else this.#runningBranches.delete(branch);
  }

  get workerDeaths(): number {
    return this.#died;
  }

  async waitUntilWorkersStarted(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#workersStarted < count) {
      if (!this.running) throw new Error(`the supervisor exited with ${this.child.exitCode}`);
      if (Date.now() > deadline)
        throw new Error(`only ${this.#workersStarted} of ${count} branch workers started within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** CPU seconds used so far by the supervisor and all its threads. */
  async cpuSeconds(): Promise<number> {
    const seconds = await processCpuSeconds(this.child.pid!);
    if (seconds === undefined) throw new Error(`the supervisor (pid ${this.child.pid}) is gone`);
    return seconds;
  }

  /** Its process id, for the CPU split. */
  get pids(): number[] {
    return [this.child.pid!];
  }

  /** Resident memory now and at its peak, in bytes. */
  async memory(): Promise<ProcessMemory> {
    return processMemory(this.child.pid!);
  }

  /** SIGTERM, then the exit status. */
  async stop(): Promise<number | null> {
    if (this.running) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/**
 * Several supervisors sharing the branches through a consumer group (--partitions auto), seen as
 * one ingester: CPU and memory are summed over the processes, as a scaled-out run costs them.
 */
export class IngesterGroup {
  readonly #members: IngesterProcess[];

  constructor(count: number, settings: Omit<IngesterSettings, 'partitions'> & { group: string }) {
    this.#members = Array.from(
      { length: count },
      (_, i) =>
        new IngesterProcess({
          ...settings,
          partitions: 'auto',
          extraArgs: [...(settings.extraArgs ?? []), '--group', settings.group],
          logFile: settings.logFile.replace(/\.log$/, `-${i}.log`),
        }),
    );
  }

  get running(): boolean {
    return this.#members.every((m) => m.running);
  }

  get workerDeaths(): number {
    return this.#members.reduce((n, m) => n + m.workerDeaths, 0);
  }

  /**
   * Every branch has a worker and the group has spread them: each member owns its share (at
   * least floor(count / members)). Otherwise the first member to join drains alone for a while
   * and the scaled-out run measures one supervisor.
   */
  async waitUntilWorkersStarted(count: number, timeoutMs = 90_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const share = Math.floor(count / this.#members.length);
    const spread = () =>
      this.#members.reduce((n, m) => n + m.workersRunning, 0) >= count &&
      this.#members.every((m) => m.workersRunning >= share);
    while (!spread()) {
      if (!this.running) throw new Error('a supervisor exited during start-up');
      if (Date.now() > deadline) throw new Error(`branch workers did not start within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async cpuSeconds(): Promise<number> {
    return (await Promise.all(this.#members.map((m) => m.cpuSeconds()))).reduce((a, b) => a + b, 0);
  }

  get pids(): number[] {
    return this.#members.flatMap((m) => m.pids);
  }

  async memory(): Promise<ProcessMemory> {
    const all = await Promise.all(this.#members.map((m) => m.memory()));
    return {
      rssBytes: all.reduce((n, m) => n + m.rssBytes, 0),
      peakRssBytes: all.reduce((n, m) => n + m.peakRssBytes, 0),
    };
  }

  async stop(): Promise<number | null> {
    const codes = await Promise.all(this.#members.map((m) => m.stop()));
    return codes.find((c) => c !== 0) ?? 0;
  }
}

/** The branch a worker's JSON log line is about, when it names one. */
function branchOf(line: string): number | undefined {
  try {
    return (JSON.parse(line) as { branch?: number }).branch;
  } catch {
    return undefined;
  }
}
