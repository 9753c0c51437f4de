// Where the CPU goes during a measured phase, split by process role: the ingester, the Postgres
// server processes, the Kafka broker, everything else. On a 2-core machine the three share the
// cores, so the ingester's own CPU is CPU that Postgres does not get: the split explains why a
// ratio to COPY swings from run to run. Read from /proc (Linux), never sampled by a profiler.
import { readdir, readFile } from 'node:fs/promises';

/** Linux clock ticks per second for /proc/<pid>/stat (USER_HZ, 100 on every mainstream kernel). */
const CLOCK_TICKS = 100;

export type CpuRole = 'ingester' | 'postgres' | 'kafka' | 'other';
const ROLES: readonly CpuRole[] = ['ingester', 'postgres', 'kafka', 'other'];

export interface CpuSplit {
  seconds: number;
  /** CPU seconds per role over the phase. */
  cpuSeconds: Record<CpuRole, number>;
  /** CPU microseconds per record per role (records given to `end`). */
  microsecondsPerRecord: Record<CpuRole, number>;
  /** Share of all the machine's cores that was busy (any process), 0 to 1. */
  machineBusyShare: number;
}

/** A process's command name and CPU seconds (user + system, all threads), or undefined when gone. */
async function readStat(pid: number): Promise<{ comm: string; seconds: number } | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    seconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS,
  };
}

/** CPU seconds (user + system) a process and all its threads have used, or undefined when gone. */
export async function processCpuSeconds(pid: number): Promise<number | undefined> {
  return (await readStat(pid))?.seconds;
}

export interface ProcessMemory {
  rssBytes: number;
  peakRssBytes: number;
}

/** A process's resident memory now and at its peak (VmRSS, VmHWM), in bytes. */
export async function processMemory(pid: number): Promise<ProcessMemory> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rssBytes: kb('VmRSS'), peakRssBytes: kb('VmHWM') };
}

interface Snapshot {
  at: number;
  perProcess: Map<number, { role: CpuRole; seconds: number }>;
  machine: { busy: number; total: number };
}

/** Starts measuring; `end(records)` gives the split since the start. */
export class CpuMeter {
  readonly #ingesterPids: () => number[];
  readonly #start: Snapshot;

  private constructor(ingesterPids: () => number[], start: Snapshot) {
    this.#ingesterPids = ingesterPids;
    this.#start = start;
  }

  static async start(ingesterPids: () => number[] = () => []): Promise<CpuMeter> {
    return new CpuMeter(ingesterPids, await snapshot(ingesterPids()));
  }

  /**
   * The split since the start. A process that started during the phase counts all of its CPU; one
   * that exited during it loses what it used (backends of the measured writer live throughout).
   */
  async end(records: number): Promise<CpuSplit> {
    const end = await snapshot(this.#ingesterPids());
    const cpuSeconds = Object.fromEntries(ROLES.map((r) => [r, 0])) as Record<CpuRole, number>;
    for (const [pid, now] of end.perProcess) {
      const before = this.#start.perProcess.get(pid);
      cpuSeconds[now.role] += Math.max(0, now.seconds - (before?.seconds ?? 0));
    }
    const seconds = (end.at - this.#start.at) / 1000;
    const microsecondsPerRecord = Object.fromEntries(
      ROLES.map((r) => [r, records > 0 ? (cpuSeconds[r] * 1e6) / records : 0]),
    ) as Record<CpuRole, number>;
    const total = end.machine.total - this.#start.machine.total;
    return {
      seconds,
      cpuSeconds,
      microsecondsPerRecord,
      machineBusyShare: total > 0 ? (end.machine.busy - this.#start.machine.busy) / total : 0,
    };
  }
}

async function snapshot(ingesterPids: number[]): Promise<Snapshot> {
  const at = Date.now();
  const ingester = new Set(ingesterPids);
  const perProcess = new Map<number, { role: CpuRole; seconds: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = await readStat(pid);
    if (stat === undefined) continue; // exited meanwhile
    perProcess.set(pid, { role: await roleOf(pid, stat.comm, ingester), seconds: stat.seconds });
  }
  return { at, perProcess, machine: await machineTicks() };
}

async function roleOf(pid: number, comm: string, ingester: Set<number>): Promise<CpuRole> {
  if (ingester.has(pid)) return 'ingester';
  if (comm === 'postgres') return 'postgres';
  if (comm === 'java') {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes('kafka.Kafka')) return 'kafka';
  }
  return 'other';
}

/** Busy and total ticks of all cores, from the first line of /proc/stat. */
async function machineTicks(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0]!;
  // user nice system idle iowait irq softirq steal ...
  const ticks = line.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: total - idle, total };
}
