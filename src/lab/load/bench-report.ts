// A benchmark's report: each run's figures, their medians, the machine, and the table printed at
// the end. It measures nothing itself: src/lab/bench.ts runs COPY, the ingester and the peer.
import type { CpuSplit } from './cpu-split.js';
import type { PeerRun } from './debezium-peer.js';
import type { DrainRun } from './drain-run.js';
import type { LedgerSize } from './ledger-prefill.js';
import type { Machine } from './machine.js';

export interface CopyRun {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  cpu: CpuSplit;
}

/** The ingester draining the whole backlog, timed from when every worker is connected. */
export interface IngesterRun extends DrainRun {
  /** With --prefilled-rows: the ledger's size before the drain. */
  ledger: LedgerSize | undefined;
  problems: string[];
}

export interface BenchRun {
  run: number;
  copy: CopyRun;
  ingester: IngesterRun;
  ingesterToCopy: number;
  /** With --prefilled-rows: the same drain into a ledger that already held that many rows. */
  prefilled?: { ingester: IngesterRun; toEmpty: number };
  /** With --peer: the JDBC sink draining the same transactions, and the ingester's rate over its own, start-up included. */
  peer?: { run: PeerRun; ingesterToPeerWithStartup: number };
}

export interface BenchResult {
  runId: string;
  settings: { ingesterArgs: string[] } & Record<string, unknown>;
  machine: Machine;
  naive: { rows: number; seconds: number; rowsPerSecond: number };
  runs: BenchRun[];
  median: BenchMedians;
  verified: boolean;
}

export interface BenchMedians {
  copyRowsPerSecond: number;
  ingesterRowsPerSecond: number;
  ingesterRowsPerSecondWithStartup: number;
  ingesterToCopy: number;
  ingesterToNaive: number;
  prefilledToEmpty: number | null;
  peerRowsPerSecondWithStartup: number | null;
  ingesterToPeerWithStartup: number | null;
}

export function medians(runs: BenchRun[], naiveRowsPerSecond: number): BenchMedians {
  const of = (pick: (r: BenchRun) => number) => median(runs.map(pick));
  const withPeer = runs.filter((r) => r.peer !== undefined);
  const withPrefill = runs.filter((r) => r.prefilled !== undefined);
  return {
    copyRowsPerSecond: of((r) => r.copy.rowsPerSecond),
    ingesterRowsPerSecond: of((r) => r.ingester.rowsPerSecond),
    ingesterRowsPerSecondWithStartup: of((r) => r.ingester.rowsPerSecondWithStartup),
    ingesterToCopy: of((r) => r.ingesterToCopy),
    ingesterToNaive: of((r) => r.ingester.rowsPerSecond) / naiveRowsPerSecond,
    prefilledToEmpty: withPrefill.length > 0 ? median(withPrefill.map((r) => r.prefilled!.toEmpty)) : null,
    peerRowsPerSecondWithStartup:
      withPeer.length > 0 ? median(withPeer.map((r) => r.peer!.run.rowsPerSecondWithStartup)) : null,
    ingesterToPeerWithStartup:
      withPeer.length > 0 ? median(withPeer.map((r) => r.peer!.ingesterToPeerWithStartup)) : null,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function printTable(r: BenchResult, reportPath: string): void {
  const cols = [
    'run',
    'COPY rows/s',
    'ingester rows/s',
    'with start-up',
    'ingester/COPY',
    'CPU µs/row: ingester',
    'postgres',
    'kafka',
    'other',
    'machine busy',
  ];
  const w = [6, 11, 15, 13, 13, 20, 8, 6, 6, 12];
  const line = (cells: (string | number)[]) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]!) : String(c).padStart(w[i]!))).join(' ');
  const out = [line(cols)];
  for (const run of r.runs) {
    const us = run.ingester.cpu.microsecondsPerRecord;
    out.push(
      line([
        run.run,
        Math.round(run.copy.rowsPerSecond),
        Math.round(run.ingester.rowsPerSecond),
        Math.round(run.ingester.rowsPerSecondWithStartup),
        run.ingesterToCopy.toFixed(2),
        us.ingester.toFixed(1),
        us.postgres.toFixed(1),
        us.kafka.toFixed(1),
        us.other.toFixed(1),
        `${Math.round(run.ingester.cpu.machineBusyShare * 100)}%`,
      ]),
    );
  }
  const m = r.median;
  out.push(
    line([
      'median',
      Math.round(m.copyRowsPerSecond),
      Math.round(m.ingesterRowsPerSecond),
      Math.round(m.ingesterRowsPerSecondWithStartup),
      m.ingesterToCopy.toFixed(2),
      '',
      '',
      '',
      '',
      '',
    ]),
  );
  out.push('');
  out.push(
    `COPY, per row: ${r.runs.map((run) => `${run.copy.cpu.microsecondsPerRecord.postgres.toFixed(1)} µs of Postgres CPU`).join(', ')}`,
  );
  out.push(
    `naive: ${r.naive.rows} rows in ${r.naive.seconds.toFixed(2)} s = ${Math.round(r.naive.rowsPerSecond)} rows/s`,
  );
  out.push(
    `ingester/COPY = ${m.ingesterToCopy.toFixed(2)} (median of ${r.runs.length}: ${r.runs.map((run) => run.ingesterToCopy.toFixed(2)).join(', ')})   ingester/naive = ${m.ingesterToNaive.toFixed(1)}`,
  );
  if (m.prefilledToEmpty !== null)
    out.push(
      `into a prefilled ledger / into an empty one = ${m.prefilledToEmpty.toFixed(2)} (median of ${r.runs.length}: ${r.runs.map((run) => run.prefilled!.toEmpty.toFixed(2)).join(', ')})`,
    );
  if (m.ingesterToPeerWithStartup !== null) {
    for (const run of r.runs) {
      const p = run.peer!.run;
      const us = p.cpu.microsecondsPerRecord;
      out.push(
        `run ${run.run} peer (Debezium JDBC sink, ${p.tasks} tasks): ${Math.round(p.rowsPerSecond)} rows/s steady, ${Math.round(p.rowsPerSecondWithStartup)} with its ${p.startupSeconds.toFixed(1)} s start-up; CPU µs/row: peer ${us.ingester.toFixed(1)}, postgres ${us.postgres.toFixed(1)}, kafka ${us.kafka.toFixed(1)}; peak RSS ${Math.round(p.peakRssMB)} MB`,
      );
    }
    out.push(
      `ingester/peer, start-up included = ${m.ingesterToPeerWithStartup.toFixed(2)} (median of ${r.runs.length}: ${r.runs.map((run) => run.peer!.ingesterToPeerWithStartup.toFixed(2)).join(', ')})`,
    );
  }
  out.push(`machine: ${r.machine.cpus} × ${r.machine.cpuModel ?? 'unknown CPU'}, ${r.machine.memoryGB} GB`);
  out.push(
    `ingester settings: ${r.settings.ingesterArgs.length > 0 ? r.settings.ingesterArgs.join(' ') : "the ingester's defaults"}`,
  );
  out.push(`report: ${reportPath}`, '');
  process.stdout.write(out.join('\n'));
}
