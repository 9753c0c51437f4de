// One measured pass of the load test (src/lab/load-test.ts): a scratch database and topics,
// the producer, one or more supervisors ingesting, progress sampled, the ledger verified, and
// the pass's report and chart written.
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { DEFAULTS } from '../../config/defaults.js';
import { env } from '../../core/env.js';
import type { KafkaConnection } from '../../kafka/kafka-settings.js';
import { IngesterGroup, IngesterProcess } from './ingester-process.js';
import { runProducer, type ProduceSummary } from './local-services.js';
import { checkpoint } from './checkpoint.js';
import { createScratchEnvironment, type ScratchEnvironment } from './scratch-environment.js';
import {
  branchWindows,
  committedPerBranch,
  latency,
  latencyOverTime,
  otherConnections,
  verifyLedger,
} from './ledger-check.js';
import { Progress } from './progress.js';
import { buildReport, chart, printTable, type RunShape, type Sample } from './load-report.js';
import { CpuMeter } from './cpu-split.js';
import { CommittedTransactions, countStatements } from './committed-transactions.js';
import type { PassResult } from './supervisor-comparison.js';

/** How often progress is sampled: often enough that a 20 s run draws curves, not three points. */
const SAMPLE_MS = 100;
/**
 * The live producer's linger.ms: a branch's producer gathers its records for 20 ms, as a real one
 * sending thousands a second would; a shorter linger costs the broker CPU on the cores the
 * ingester shares (docs/performance.md). Each record still carries the time it was handed to the
 * producer, so that wait counts in the latency measured.
 */
const LIVE_PRODUCER_LINGER_MS = 20;

export interface RunSettings extends RunShape {
  warmup: number;
  kafka: KafkaConnection;
  reportDir: string;
  keep: boolean;
}

/** The producer's arguments for a run's workload on a scratch environment's topics. */
export function workloadArgs(s: RunSettings, scratch: ScratchEnvironment): string[] {
  return [
    ...['--brokers', s.kafka.brokers, '--branches', String(s.branches), '--customers', String(s.customers)],
    ...['--transactions', String(s.transactions), '--seed', String(s.seed)],
    ...['--customers-topic', scratch.customersTopic, '--transactions-topic', scratch.transactionsTopic],
  ];
}

/** What a live run adds to them: the rate, and the producer's gathering. */
export function liveArgs(s: RunSettings): string[] {
  return ['--rate', String(s.rate), '--linger-ms', String(LIVE_PRODUCER_LINGER_MS)];
}

/** One measured run: produce, ingest with `supervisors` supervisors, verify, report. */
export async function runPass(s: RunSettings, supervisors: number, runId: string): Promise<PassResult> {
  const { mode, branches, transactions, warmup } = s;
  const brokers = s.kafka.brokers;
  const scratch = await createScratchEnvironment({
    kafka: s.kafka,
    serverUrl: env('DATABASE_URL') ?? DEFAULTS.databaseUrl,
    partitions: branches,
    runId,
    keep: s.keep,
  });
  let ingester: IngesterProcess | IngesterGroup | undefined;
  try {
    const databaseUrl = await scratch.newDatabase('ledger');
    const produceArgs = workloadArgs(s, scratch);
    const common = {
      brokers,
      databaseUrl,
      customersTopic: scratch.customersTopic,
      transactionsTopic: scratch.transactionsTopic,
      extraArgs: s.ingesterArgs,
      logFile: path.join(s.reportDir, `${runId}-ingester.log`),
    };
    const startIngester = () =>
      supervisors === 1
        ? new IngesterProcess({ ...common, partitions: `0-${branches - 1}` })
        : new IngesterGroup(supervisors, { ...common, group: runId });

    let produced: Promise<ProduceSummary>;
    let started: number;
    let spawnedAtMs: number;
    if (mode === 'catch-up') {
      process.stderr.write(
        `load-test: producing a backlog of ${transactions} transactions over ${branches} branches\n`,
      );
      produced = Promise.resolve(await runProducer(produceArgs));
      await checkpoint(databaseUrl);
      spawnedAtMs = Date.now();
      ingester = startIngester();
      // The drain is timed from the moment every branch worker is connected.
      await ingester.waitUntilWorkersStarted(branches);
      started = Date.now();
    } else {
      spawnedAtMs = Date.now();
      ingester = startIngester();
      await ingester.waitUntilWorkersStarted(branches);
      // As the peer's pass does: neither pays for the page writes of what ran before it.
      await checkpoint(databaseUrl);
      process.stderr.write(
        `load-test: producing ${s.rate} transactions/s for ${s.duration} s over ${branches} branches while the ingester runs\n`,
      );
      started = Date.now();
      produced = runProducer([...produceArgs, ...liveArgs(s)]);
    }

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const ownStatements = countStatements(db);
    const meter = await CpuMeter.start(() => ingester!.pids);
    try {
      // A sample every 100 ms, the first at the start: a 20 s run still draws a curve.
      const samples: Sample[] = [
        {
          seconds: 0,
          committed: await committedPerBranch(db, scratch.transactionsTopic, branches),
          rssMB: (await ingester.memory()).rssBytes / 2 ** 20,
          cpuSeconds: await ingester.cpuSeconds(),
          connections: await otherConnections(db),
        },
      ];
      const finishedAt = new Array<number | null>(branches).fill(null);
      const progress = new Progress('load-test', transactions);
      let summary: ProduceSummary | undefined;
      void produced.then(
        (p) => (summary = p),
        () => undefined,
      );
      const deadline = started + Math.max(300_000, (transactions / 200) * 1000);
      // Live: the CPU split is also measured from the end of the warm-up, as the latency is.
      let warm:
        | { meter: CpuMeter; committed: number; commits: number; at: number; transactions: CommittedTransactions }
        | undefined;
      for (;;) {
        await new Promise((r) => setTimeout(r, SAMPLE_MS));
        if (!ingester.running) throw new Error('the ingester exited during the run');
        const committed = await committedPerBranch(db, scratch.transactionsTopic, branches);
        const memory = await ingester.memory();
        const seconds = (Date.now() - started) / 1000;
        samples.push({
          seconds,
          committed,
          rssMB: memory.rssBytes / 2 ** 20,
          cpuSeconds: await ingester.cpuSeconds(),
          connections: await otherConnections(db),
        });
        const done = committed.reduce((a, b) => a + b, 0);
        if (mode === 'live' && warmup > 0 && warm === undefined && seconds >= warmup)
          warm = {
            meter: await CpuMeter.start(() => ingester!.pids),
            committed: done,
            commits: await batchCommits(db),
            at: Date.now(),
            transactions: await CommittedTransactions.start(db, ownStatements),
          };
        progress.update(done, `ingester RSS ${Math.round(memory.rssBytes / 2 ** 20)} MB`);
        if (summary) {
          summary.branches.forEach((b) => {
            if (finishedAt[b.branch] === null && committed[b.branch]! >= b.transactions) finishedAt[b.branch] = seconds;
          });
          if (done >= summary.totals.transactions) break;
        }
        if (Date.now() > deadline)
          throw new Error(
            `not drained within ${Math.round((deadline - started) / 1000)} s (${done} of ${transactions})`,
          );
      }
      const finalSummary = await produced;
      // Per record the clock saw: those committed before it started are not in its CPU either.
      const committedBeforeStart = samples[0]!.committed.reduce((a, b) => a + b, 0);
      const cpuSplit = await meter.end(finalSummary.totals.transactions - committedBeforeStart);
      const cpuSplitAfterWarmup = await warm?.meter.end(finalSummary.totals.transactions - warm.committed);
      // Batch statements committed after the warm-up (branch_lease.commits), per second and per record.
      const commitsNow = await batchCommits(db);
      const postgresTransactions = await warm?.transactions.end();
      const commits = warm && {
        perSecond: (commitsNow - warm.commits) / ((Date.now() - warm.at) / 1000),
        recordsPerCommit: (finalSummary.totals.transactions - warm.committed) / Math.max(1, commitsNow - warm.commits),
        postgresTransactionsPerSecond: postgresTransactions!.perSecond,
      };
      const seconds = samples.at(-1)!.seconds;
      progress.done(`${finalSummary.totals.transactions} transactions in ${seconds.toFixed(1)} s`);
      const memory = await ingester.memory();
      // Start-up CPU (module loading, JIT, connecting) is not the drain's: counted from the first sample.
      const cpuSeconds = (await ingester.cpuSeconds()) - samples[0]!.cpuSeconds;
      const exitCode = await ingester.stop();
      const latencies = await latency(db);
      // Start-up (JIT, connections, the customers produced first) is not the steady state.
      const steadyLatencies = mode === 'live' && warmup > 0 ? await latency(db, started + warmup * 1000) : latencies;
      const verification = await verifyLedger(db, finalSummary.branches, scratch.transactionsTopic);
      const windows = await branchWindows(db, scratch.transactionsTopic);

      const report = buildReport({
        runId,
        ...s,
        supervisors,
        seconds,
        samples,
        finishedAt,
        finalSummary,
        memory,
        cpuSeconds,
        cpuSplit,
        cpuSplitAfterWarmup,
        latencies,
        steadyLatencies,
        warmup: mode === 'live' ? warmup : 0,
        verification,
        workerDeaths: ingester.workerDeaths,
        exitCode,
        spawnedAtMs,
        windows,
      });
      const jsonPath = path.join(s.reportDir, `${runId}.json`);
      const svgPath = path.join(s.reportDir, `${runId}.svg`);
      await writeFile(jsonPath, `${JSON.stringify({ ...report, commitsAfterWarmup: commits }, null, 2)}\n`);
      await writeFile(svgPath, chart(report, samples, await latencyOverTime(db, mode === 'live' ? started : null)));
      printTable(report);
      if (commits)
        process.stdout.write(
          `commits after the warm-up: ${commits.perSecond.toFixed(0)} per second, ${commits.recordsPerCommit.toFixed(1)} transactions per commit; Postgres transactions ${commits.postgresTransactionsPerSecond.toFixed(0)} per second\n`,
        );
      process.stdout.write(`report: ${jsonPath}\nchart:  ${svgPath}\n`);
      if (verification.ok)
        process.stdout.write(
          `verified: all ${finalSummary.totals.transactions} transactions in the ledger exactly once, balances equal the produced totals\n`,
        );
      else process.stdout.write(`VERIFICATION FAILED:\n  - ${verification.problems.join('\n  - ')}\n`);
      return { supervisors, report, jsonPath, commitsAfterWarmup: commits };
    } finally {
      await db.end();
    }
  } finally {
    if (ingester?.running) await ingester.stop();
    await scratch.cleanup();
  }
}

/** Batch statements committed on every branch so far (src/db/stored-position.ts counts them). */
async function batchCommits(db: pg.Client): Promise<number> {
  const { rows } = await db.query<{ n: string }>('SELECT coalesce(sum(commits), 0)::text AS n FROM branch_lease');
  return Number(rows[0]?.n ?? 0);
}
