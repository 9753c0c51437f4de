import type { CpuSplit, ProcessMemory } from './cpu-split.js';
import type { ProduceSummary } from './local-services.js';
import type { BranchWindow, latency, Verification } from './ledger-check.js';
import { renderChartSvg } from './svg-chart.js';
import { machine } from './machine.js';

/** One sample of a run, every 100 ms from the start. */
export interface Sample {
  seconds: number;
  committed: number[];
  rssMB: number;
  cpuSeconds: number;
  /** The ingester's Postgres connections at that moment. */
  connections: number;
}

/** What a run was asked to do, as its report records it. */
export interface RunShape {
  mode: string;
  branches: number;
  customers: number;
  transactions: number;
  rate: number;
  duration: number;
  seed: number;
  ingesterArgs: string[];
}

export function buildReport(
  r: RunShape & {
    runId: string;
    supervisors: number;
    seconds: number;
    samples: Sample[];
    finishedAt: (number | null)[];
    finalSummary: ProduceSummary;
    memory: ProcessMemory;
    cpuSeconds: number;
    cpuSplit: CpuSplit;
    cpuSplitAfterWarmup: CpuSplit | undefined;
    latencies: Awaited<ReturnType<typeof latency>>;
    steadyLatencies: Awaited<ReturnType<typeof latency>>;
    warmup: number;
    verification: Verification;
    workerDeaths: number;
    exitCode: number | null;
    /** When the ingester process was started (epoch ms). */
    spawnedAtMs: number;
    windows: Map<number, BranchWindow>;
  },
) {
  const steady = r.steadyLatencies.overall;
  // Records committed before the clock started (while the last workers started) are not the drain's.
  const timedPerBranch = new Map(
    r.finalSummary.branches.map((b) => [b.branch, b.transactions - (r.samples[0]!.committed[b.branch] ?? 0)]),
  );
  const timed = [...timedPerBranch.values()].reduce((a, b) => a + b, 0);
  // A branch that had committed all its records before the clock started (64 threads take
  // seconds to start) has nothing timed: it was first, not starved, so it is left out of the
  // comparison instead of counting as a rate of 0.
  const comparedBranches = r.finalSummary.branches.filter((b) => timedPerBranch.get(b.branch)! > 0);
  const doneBeforeStart = r.finalSummary.branches.length - comparedBranches.length;
  const branchRates = comparedBranches.map(
    (b) => timedPerBranch.get(b.branch)! / (r.finishedAt[b.branch] ?? r.seconds),
  );
  const meanBranchRate = branchRates.reduce((a, b) => a + b, 0) / Math.max(1, branchRates.length);
  const peakConnections = Math.max(...r.samples.map((s) => s.connections));
  const whileActive = whileActiveRates(r.windows);
  const lastCommitMs = Math.max(...[...r.windows.values()].map((w) => w.lastMs));
  const withStartUpSeconds = (lastCommitMs - r.spawnedAtMs) / 1000;
  return {
    runId: r.runId,
    settings: {
      mode: r.mode,
      branches: r.branches,
      customers: r.customers,
      transactions: r.transactions,
      rate: r.mode === 'live' ? r.rate : null,
      durationSeconds: r.mode === 'live' ? r.duration : null,
      seed: r.seed,
      ingesterArgs: r.ingesterArgs,
      supervisors: r.supervisors,
    },
    machine: machine(),
    totals: {
      seconds: r.seconds,
      transactionsPerSecond: timed / r.seconds,
      committedBeforeStart: r.finalSummary.totals.transactions - timed,
      // Catch-up: from the supervisor's start to the last commit, so nothing done while the last
      // threads started is left out (the figure the bench gives as "with start-up").
      withStartUp:
        r.mode === 'catch-up' && withStartUpSeconds > 0
          ? {
              seconds: withStartUpSeconds,
              transactionsPerSecond: r.finalSummary.totals.transactions / withStartUpSeconds,
            }
          : null,
      megabytesPerSecond:
        (r.finalSummary.totals.bytes * (timed / r.finalSummary.totals.transactions)) / 2 ** 20 / r.seconds,
      rowsWritten: r.verification.perBranch.reduce((n, b) => n + b.ledgerRows, 0),
      parked: r.verification.perBranch.reduce((n, b) => n + b.parked, 0),
      rejected: r.verification.perBranch.reduce((n, b) => n + b.rejected, 0),
      latencyMs: {
        p50: r.latencies.overall.p50,
        p95: r.latencies.overall.p95,
        p99: r.latencies.overall.p99,
        max: r.latencies.overall.max,
      },
      afterWarmup: {
        warmupSeconds: r.warmup,
        latencyMs: { p50: steady.p50, p95: steady.p95, p99: steady.p99, max: steady.max },
        cpuSplit: r.cpuSplitAfterWarmup ?? null,
      },
      ingesterCpuSeconds: r.cpuSeconds,
      ingesterCpuShareOfOneCore: r.cpuSeconds / r.seconds,
      ingesterPeakRssMB: r.memory.peakRssBytes / 2 ** 20,
      ingesterRss: rssTrend(r.samples, r.warmup),
      workerDeaths: r.workerDeaths,
      ingesterExitCode: r.exitCode,
      // Where the machine's CPU went during the run, by process role (from /proc).
      cpuSplit: r.cpuSplit,
      // Starvation shows as one branch far below the others: its rate over the mean branch rate.
      slowestBranchShare: meanBranchRate > 0 ? Math.min(...branchRates) / meanBranchRate : null,
      branchesDoneBeforeStart: doneBeforeStart,
      // The same, each branch from its own first commit to its last: a branch starved while the
      // others ran shows here even when it started first.
      slowestBranchShareWhileActive: whileActive.slowestShare,
      postgresConnections: { peak: peakConnections, perBranch: peakConnections / r.branches },
    },
    branches: r.finalSummary.branches.map((b) => {
      const seconds = r.finishedAt[b.branch] ?? r.seconds;
      const got = r.verification.perBranch.find((v) => v.branch === b.branch);
      const lat = r.latencies.perBranch.get(b.branch);
      const branchTimed = timedPerBranch.get(b.branch)!;
      return {
        branch: b.branch,
        transactions: b.transactions,
        seconds,
        transactionsPerSecond: branchTimed / seconds,
        megabytesPerSecond: (b.bytes * (branchTimed / Math.max(1, b.transactions))) / 2 ** 20 / seconds,
        rowsWritten: got?.ledgerRows ?? 0,
        parked: got?.parked ?? 0,
        rejected: got?.rejected ?? 0,
        latencyMs: lat ?? null,
        whileActive: whileActive.perBranch.get(b.branch) ?? null,
      };
    }),
    latencyHistogram: r.latencies.overall.histogram,
    verification: { ok: r.verification.ok, problems: r.verification.problems },
    samples: r.samples,
  };
}

export type Report = ReturnType<typeof buildReport>;

/** Each branch's rate from its first commit to its last, and the slowest over their mean. */
function whileActiveRates(windows: Map<number, BranchWindow>) {
  const perBranch = new Map<number, { seconds: number; transactionsPerSecond: number }>();
  for (const [branch, w] of windows) {
    const seconds = (w.lastMs - w.firstMs) / 1000;
    // A branch whose rows all went in one commit has no window to time.
    if (seconds > 0) perBranch.set(branch, { seconds, transactionsPerSecond: w.rows / seconds });
  }
  const rates = [...perBranch.values()].map((b) => b.transactionsPerSecond);
  const mean = rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length);
  return { perBranch, slowestShare: mean > 0 ? Math.min(...rates) / mean : null };
}

/**
 * Is memory flat? V8 heaps grow between major collections, so RSS is a saw-tooth: its peaks in
 * the two halves of the run, and the least-squares slope, say more than any two samples.
 */
function rssTrend(samples: Sample[], fromSeconds: number) {
  const kept = samples.filter((s) => s.seconds >= fromSeconds);
  if (kept.length < 4) return null;
  const half = Math.floor(kept.length / 2);
  const peak = (list: Sample[]) => Math.max(...list.map((s) => s.rssMB));
  const meanX = kept.reduce((a, s) => a + s.seconds, 0) / kept.length;
  const meanY = kept.reduce((a, s) => a + s.rssMB, 0) / kept.length;
  const slope =
    kept.reduce((a, s) => a + (s.seconds - meanX) * (s.rssMB - meanY), 0) /
    kept.reduce((a, s) => a + (s.seconds - meanX) ** 2, 0);
  return {
    fromSeconds,
    peakFirstHalfMB: peak(kept.slice(0, half)),
    peakSecondHalfMB: peak(kept.slice(half)),
    trendMBPerMinute: slope * 60,
  };
}

export function printTable(report: Report): void {
  const cols = ['branch', 'tx/s', 'MB/s', 'rows', 'parked', 'rejected', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms'];
  const w = [6, 9, 7, 9, 7, 9, 8, 8, 8, 8];
  const line = (cells: (string | number)[]) => cells.map((c, i) => String(c).padStart(w[i]!)).join(' ');
  const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
  if (report.settings.ingesterArgs.length > 0)
    process.stdout.write(`ingester options: ${report.settings.ingesterArgs.join(' ')}\n`);
  process.stdout.write(`${line(cols)}\n`);
  for (const b of report.branches) {
    process.stdout.write(
      `${line([b.branch, Math.round(b.transactionsPerSecond), b.megabytesPerSecond.toFixed(2), b.rowsWritten, b.parked, b.rejected, ms(b.latencyMs?.p50), ms(b.latencyMs?.p95), ms(b.latencyMs?.p99), ms(b.latencyMs?.max)])}\n`,
    );
  }
  const t = report.totals;
  process.stdout.write(
    `${line(['total', Math.round(t.transactionsPerSecond), t.megabytesPerSecond.toFixed(2), t.rowsWritten, t.parked, t.rejected, ms(t.latencyMs.p50), ms(t.latencyMs.p95), ms(t.latencyMs.p99), ms(t.latencyMs.max)])}\n`,
  );
  if (t.afterWarmup.warmupSeconds > 0) {
    const a = t.afterWarmup.latencyMs;
    process.stdout.write(
      `latency after the first ${t.afterWarmup.warmupSeconds} s: p50 ${ms(a.p50)}, p95 ${ms(a.p95)}, p99 ${ms(a.p99)}, max ${ms(a.max)} ms\n`,
    );
  }
  process.stdout.write(
    `ingester: ${t.ingesterCpuSeconds.toFixed(1)} CPU s (${(t.ingesterCpuShareOfOneCore * 100).toFixed(0)}% of one core), peak RSS ${t.ingesterPeakRssMB.toFixed(0)} MB, ${t.seconds.toFixed(1)} s\n`,
  );
  const cpuLine = (label: string, split: CpuSplit) => {
    const us = split.microsecondsPerRecord;
    process.stdout.write(
      `${label}: ingester ${us.ingester.toFixed(1)} µs, Postgres ${us.postgres.toFixed(1)} µs, Kafka broker ${us.kafka.toFixed(1)} µs, other ${us.other.toFixed(1)} µs; machine ${(split.machineBusyShare * 100).toFixed(0)}% busy\n`,
    );
  };
  cpuLine('CPU per transaction', t.cpuSplit);
  if (t.afterWarmup.cpuSplit)
    cpuLine(`CPU per transaction after the first ${t.afterWarmup.warmupSeconds} s`, t.afterWarmup.cpuSplit);
  process.stdout.write(
    `Postgres connections: at most ${t.postgresConnections.peak} (${t.postgresConnections.perBranch.toFixed(2)} per branch); slowest branch at ${((t.slowestBranchShare ?? 0) * 100).toFixed(0)}% of the mean branch rate${t.branchesDoneBeforeStart > 0 ? ` (${t.branchesDoneBeforeStart} branches, done before the clock started, not compared)` : ''}\n`,
  );
  if (t.withStartUp)
    process.stdout.write(
      `with start-up: ${Math.round(t.withStartUp.transactionsPerSecond)} tx/s (${t.withStartUp.seconds.toFixed(1)} s from the supervisor's start to the last commit); each branch from its first commit to its last: slowest at ${((t.slowestBranchShareWhileActive ?? 0) * 100).toFixed(0)}% of the mean\n`,
    );
  const m = t.ingesterRss;
  if (m && report.settings.mode === 'live')
    process.stdout.write(
      `ingester RSS after the first ${m.fromSeconds} s: peak ${m.peakFirstHalfMB.toFixed(0)} MB in the first half, ${m.peakSecondHalfMB.toFixed(0)} MB in the second; trend ${m.trendMBPerMinute.toFixed(1)} MB/min\n`,
    );
}

export function chart(
  report: Report,
  samples: Sample[],
  latencyOverTime: { seconds: number; p50: number; p99: number; max: number }[],
): string {
  const perBranch = report.branches.map((b) => ({
    name: `branch ${b.branch}`,
    points: samples.map((s) => ({ x: s.seconds, y: s.committed[b.branch] ?? 0 })),
  }));
  const total = (s: Sample) => s.committed.reduce((a, b) => a + b, 0);
  // Throughput over a sliding second: 200 ms samples alone are too jumpy to read.
  const throughput = samples.map((s) => {
    const earlier = [...samples].reverse().find((e) => e.seconds <= s.seconds - 1) ?? samples[0]!;
    return {
      x: s.seconds,
      y: s.seconds > earlier.seconds ? (total(s) - total(earlier)) / (s.seconds - earlier.seconds) : 0,
    };
  });
  const catchUp = report.settings.mode === 'catch-up';
  return renderChartSvg(
    `${report.runId}: ${Math.round(report.totals.transactionsPerSecond)} tx/s, p99 ${report.totals.latencyMs.p99.toFixed(0)} ms`,
    [
      {
        title: 'rows committed per branch (cumulative)',
        xLabel: 'seconds since the start',
        yLabel: 'rows',
        series: perBranch,
      },
      {
        title: 'total throughput (rows/s, over the last second)',
        xLabel: 'seconds since the start',
        yLabel: 'rows/s',
        series: [{ name: 'all branches', points: throughput, emphasis: true }],
      },
      {
        title: catchUp
          ? 'time in the backlog + write (ms, log scale): rows produced before the ingester ran waited for it'
          : 'produce-to-ledger latency (ms, log scale), by when the rows were produced',
        xLabel: catchUp
          ? 'seconds since the first row was produced (when produced)'
          : 'seconds since the start (when produced)',
        yLabel: 'ms',
        logY: true,
        series: (['p50', 'p99', 'max'] as const).map((k) => ({
          name: k,
          points: latencyOverTime.filter((p) => p.seconds >= 0).map((p) => ({ x: p.seconds, y: p[k] })),
        })),
      },
    ],
  );
}
