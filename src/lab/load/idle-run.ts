// What branches cost when nothing arrives: a supervisor on empty topics, left to settle, then its
// CPU (all threads) and resident memory over a measured window. Two passes, a few branches and
// many, give the cost of each added branch without the supervisor's fixed share
// (docs/performance.md, "Idle branches").
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { KafkaConnection } from '../../kafka/kafka-settings.js';
import { CpuMeter } from './cpu-split.js';
import { IngesterProcess } from './ingester-process.js';
import { machine, type Machine } from './machine.js';
import { createScratchEnvironment } from './scratch-environment.js';

export interface IdleSettings {
  kafka: KafkaConnection;
  serverUrl: string;
  /** Seconds between the last worker's start and the measured window (start-up's JIT and garbage). */
  settleSeconds: number;
  /** Length of the measured window in seconds. */
  seconds: number;
  ingesterArgs: string[];
  reportDir: string;
  keep: boolean;
}

export interface IdlePass {
  branches: number;
  runId: string;
  /** Seconds the window really lasted. */
  seconds: number;
  /** CPU as a share of one core over the window: the ingester (every thread), the broker, Postgres. */
  coreShare: { ingester: number; kafka: number; postgres: number };
  /** The ingester's share divided by its branches: the supervisor's fixed cost included. */
  ingesterCoreSharePerBranch: number;
  rssMB: number;
  peakRssMB: number;
  workerDeaths: number;
  /** The supervisor was still running at the end of the window. */
  running: boolean;
}

/** The cost of each branch added between two passes: the supervisor's fixed share cancels out. */
export interface IdleMarginal {
  fromBranches: number;
  toBranches: number;
  coreSharePerAddedBranch: number;
  rssMBPerAddedBranch: number;
}

export interface IdleReport {
  mode: 'idle';
  machine: Machine;
  settings: { settleSeconds: number; seconds: number; ingesterArgs: string[] };
  passes: IdlePass[];
  marginal: IdleMarginal | null;
  ok: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One supervisor on `branches` branches of empty scratch topics, measured after it settles. */
export async function runIdlePass(s: IdleSettings, branches: number, runId: string): Promise<IdlePass> {
  const scratch = await createScratchEnvironment({
    kafka: s.kafka,
    serverUrl: s.serverUrl,
    partitions: branches,
    runId,
    keep: s.keep,
  });
  let ingester: IngesterProcess | undefined;
  try {
    const databaseUrl = await scratch.newDatabase('ledger');
    const started = new IngesterProcess({
      partitions: `0-${branches - 1}`,
      brokers: s.kafka.brokers,
      databaseUrl,
      customersTopic: scratch.customersTopic,
      transactionsTopic: scratch.transactionsTopic,
      extraArgs: s.ingesterArgs,
      logFile: path.join(s.reportDir, `${runId}-ingester.log`),
    });
    ingester = started;
    await started.waitUntilWorkersStarted(branches, 120_000);
    process.stderr.write(`load-test: ${branches} idle branches started; settling for ${s.settleSeconds} s\n`);
    await sleep(s.settleSeconds * 1000);
    const meter = await CpuMeter.start(() => started.pids);
    process.stderr.write(`load-test: measuring ${branches} idle branches for ${s.seconds} s\n`);
    await sleep(s.seconds * 1000);
    const split = await meter.end(0);
    const running = started.running;
    const memory = running ? await started.memory() : { rssBytes: 0, peakRssBytes: 0 };
    const share = (cpuSeconds: number) => cpuSeconds / split.seconds;
    return {
      branches,
      runId,
      seconds: split.seconds,
      coreShare: {
        ingester: share(split.cpuSeconds.ingester),
        kafka: share(split.cpuSeconds.kafka),
        postgres: share(split.cpuSeconds.postgres),
      },
      ingesterCoreSharePerBranch: share(split.cpuSeconds.ingester) / branches,
      rssMB: memory.rssBytes / 2 ** 20,
      peakRssMB: memory.peakRssBytes / 2 ** 20,
      workerDeaths: started.workerDeaths,
      running,
    };
  } finally {
    if (ingester?.running) await ingester.stop();
    await scratch.cleanup();
  }
}

export function marginalCost(few: IdlePass, many: IdlePass): IdleMarginal {
  const added = many.branches - few.branches;
  return {
    fromBranches: few.branches,
    toBranches: many.branches,
    coreSharePerAddedBranch: (many.coreShare.ingester - few.coreShare.ingester) / added,
    rssMBPerAddedBranch: (many.rssMB - few.rssMB) / added,
  };
}

export function idleReport(s: IdleSettings, passes: IdlePass[]): IdleReport {
  const [few, many] = passes;
  return {
    mode: 'idle',
    machine: machine(),
    settings: { settleSeconds: s.settleSeconds, seconds: s.seconds, ingesterArgs: s.ingesterArgs },
    passes,
    marginal: few && many ? marginalCost(few, many) : null,
    // A supervisor that lost a worker or exited while idle measured something else.
    ok: passes.every((p) => p.running && p.workerDeaths === 0),
  };
}

const percent = (share: number, digits = 2) => `${(share * 100).toFixed(digits)} %`;

export function printIdleReport(report: IdleReport): void {
  const cols = ['branches', 'ingester', 'per branch', 'broker', 'postgres', 'RSS MB', 'peak MB'];
  const w = [8, 10, 11, 9, 9, 8, 8];
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(w[i]!)).join(' ');
  process.stdout.write(
    `\nidle branches, CPU as a share of one core over ${report.settings.seconds} s after ${report.settings.settleSeconds} s of settling:\n${line(cols)}\n`,
  );
  for (const p of report.passes)
    process.stdout.write(
      `${line([String(p.branches), percent(p.coreShare.ingester), percent(p.ingesterCoreSharePerBranch, 3), percent(p.coreShare.kafka), percent(p.coreShare.postgres), p.rssMB.toFixed(0), p.peakRssMB.toFixed(0)])}\n`,
    );
  const m = report.marginal;
  if (m)
    process.stdout.write(
      `each branch added from ${m.fromBranches} to ${m.toBranches}: ${percent(m.coreSharePerAddedBranch, 3)} of a core, ${m.rssMBPerAddedBranch.toFixed(1)} MB of RSS\n`,
    );
  if (!report.ok) process.stdout.write('FAILED: a supervisor exited or lost a worker while idle\n');
}

/** A pass for each branch count, one after the other; the report is written under reportDir. */
export async function measureIdle(s: IdleSettings, branchCounts: number[], id: string): Promise<boolean> {
  await mkdir(s.reportDir, { recursive: true });
  const passes: IdlePass[] = [];
  for (const count of branchCounts) passes.push(await runIdlePass(s, count, `${id}-${count}`));
  const report = idleReport(s, passes);
  const jsonPath = path.join(s.reportDir, `${id}.json`);
  await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
  printIdleReport(report);
  process.stdout.write(`report: ${jsonPath}\n`);
  return report.ok;
}
