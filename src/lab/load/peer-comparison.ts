// A live load test with --peer: the ingester's pass and the JDBC sink peer's at the same rate,
// side by side on stdout and in one JSON report, in the shape of the table (CPU per
// transaction of the writer itself, Postgres and the broker after the warm-up, commits per
// second, p50 and p99, peak RSS) with the ratio of the totals.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CpuSplit } from './cpu-split.js';
import type { PeerLiveResult } from './peer-live-pass.js';
import type { PassResult } from './supervisor-comparison.js';

interface Side {
  writer: string;
  transactions: number;
  cpuMicrosecondsPerTransaction: { own: number; postgres: number; broker: number; total: number };
  /** Batch commits (the ingester's own count); the peer's are not told apart from its other transactions. */
  batchCommitsPerSecond: number | null;
  postgresTransactionsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  peakRssMB: number;
  verified: boolean;
}

function cpu(split: CpuSplit): Side['cpuMicrosecondsPerTransaction'] {
  const { ingester: own, postgres, kafka: broker } = split.microsecondsPerRecord;
  return { own, postgres, broker, total: own + postgres + broker };
}

/** Prints and writes `<id>-peer.json`; returns the ratio of the totals (ingester over peer). */
export async function writePeerComparison(
  reportDir: string,
  id: string,
  rate: number,
  ingester: PassResult,
  peer: PeerLiveResult,
): Promise<number> {
  const t = ingester.report.totals;
  if (!t.afterWarmup.cpuSplit || !ingester.commitsAfterWarmup)
    throw new Error('the side-by-side comparison needs a warm-up (--warmup > 0)');
  const sides: Side[] = [
    {
      writer: 'ingester',
      transactions: t.rowsWritten,
      cpuMicrosecondsPerTransaction: cpu(t.afterWarmup.cpuSplit),
      batchCommitsPerSecond: ingester.commitsAfterWarmup.perSecond,
      postgresTransactionsPerSecond: ingester.commitsAfterWarmup.postgresTransactionsPerSecond,
      latencyMs: t.afterWarmup.latencyMs,
      peakRssMB: t.ingesterPeakRssMB,
      verified: ingester.report.verification.ok,
    },
    {
      writer: `peer (${peer.tasks} tasks)`,
      transactions: peer.transactions,
      cpuMicrosecondsPerTransaction: cpu(peer.cpuSplit),
      batchCommitsPerSecond: null,
      postgresTransactionsPerSecond: peer.postgresTransactionsPerSecond,
      latencyMs: peer.latencyMs,
      peakRssMB: peer.peakRssMB,
      verified: peer.verified,
    },
  ];
  const ratio = sides[0]!.cpuMicrosecondsPerTransaction.total / sides[1]!.cpuMicrosecondsPerTransaction.total;
  const cols = [
    'writer',
    'own µs',
    'PG µs',
    'broker µs',
    'total µs',
    'commits/s',
    'PG xact/s',
    'p50 ms',
    'p99 ms',
    'RSS MB',
    'ok',
  ];
  const w = [16, 8, 8, 10, 9, 10, 10, 8, 8, 8, 4];
  const line = (cells: (string | number)[]) =>
    cells.map((c, i) => (i === 0 ? String(c).padEnd(w[i]!) : String(c).padStart(w[i]!))).join(' ');
  process.stdout.write(`\nside by side at ${rate} tx/s, after the warm-up (CPU per transaction):\n${line(cols)}\n`);
  for (const s of sides) {
    const c = s.cpuMicrosecondsPerTransaction;
    process.stdout.write(
      `${line([s.writer, c.own.toFixed(1), c.postgres.toFixed(1), c.broker.toFixed(1), c.total.toFixed(1), s.batchCommitsPerSecond?.toFixed(0) ?? '-', s.postgresTransactionsPerSecond.toFixed(0), s.latencyMs.p50.toFixed(1), s.latencyMs.p99.toFixed(1), s.peakRssMB.toFixed(0), s.verified ? 'yes' : 'NO'])}\n`,
    );
  }
  process.stdout.write(`ingester/peer total CPU per transaction: ${ratio.toFixed(2)}\n`);
  const jsonPath = path.join(reportDir, `${id}-peer.json`);
  await writeFile(
    jsonPath,
    `${JSON.stringify({ id, rate, machine: ingester.report.machine, ratio, sides, ingesterReport: ingester.jsonPath }, null, 2)}\n`,
  );
  process.stdout.write(`side by side: ${jsonPath}\n`);
  return ratio;
}
