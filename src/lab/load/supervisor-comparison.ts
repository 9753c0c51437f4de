// A load test with --supervisors N runs the same workload with one supervisor and then with N:
// the two passes side by side, on stdout and as a JSON report that names each pass's own.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Report } from './load-report.js';

export interface PassResult {
  supervisors: number;
  report: Report;
  jsonPath: string;
  /** Live runs with a warm-up: batch commits after it (branch_lease.commits). */
  commitsAfterWarmup?:
    | { perSecond: number; recordsPerCommit: number; postgresTransactionsPerSecond: number }
    | undefined;
}

/** The passes side by side: on stdout, and as a JSON report that names each pass's own. */
export async function writeComparison(reportDir: string, id: string, results: PassResult[]): Promise<void> {
  const base = results[0]!.report.totals;
  const rows = results.map((r) => {
    const t = r.report.totals;
    return {
      supervisors: r.supervisors,
      transactionsPerSecond: t.transactionsPerSecond,
      throughputVsOneSupervisor: t.transactionsPerSecond / base.transactionsPerSecond,
      latencyMs: t.latencyMs,
      afterWarmupLatencyMs: t.afterWarmup.latencyMs,
      ingesterCpuSeconds: t.ingesterCpuSeconds,
      ingesterPeakRssMB: t.ingesterPeakRssMB,
      verified: r.report.verification.ok,
      report: r.jsonPath,
    };
  });
  const cols = ['supervisors', 'tx/s', 'vs 1', 'p50 ms', 'p99 ms', 'CPU s', 'peak RSS MB', 'verified'];
  const w = [11, 9, 6, 8, 8, 7, 12, 9];
  const line = (cells: (string | number)[]) => cells.map((c, i) => String(c).padStart(w[i]!)).join(' ');
  process.stdout.write(
    `\ncomparison (same workload, one pass after the other; RSS is the sum over the supervisors):\n${line(cols)}\n`,
  );
  for (const r of rows) {
    process.stdout.write(
      `${line([r.supervisors, Math.round(r.transactionsPerSecond), r.throughputVsOneSupervisor.toFixed(2), r.latencyMs.p50.toFixed(1), r.latencyMs.p99.toFixed(1), r.ingesterCpuSeconds.toFixed(1), r.ingesterPeakRssMB.toFixed(0), r.verified ? 'yes' : 'NO'])}\n`,
    );
  }
  const jsonPath = path.join(reportDir, `${id}-comparison.json`);
  await writeFile(jsonPath, `${JSON.stringify({ id, machine: results[0]!.report.machine, passes: rows }, null, 2)}\n`);
  process.stdout.write(`comparison: ${jsonPath}\n`);
}
