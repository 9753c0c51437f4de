// npm run load-test: how many transactions per second each branch, and the ingester as a whole,
// sustains. Catch-up mode drains a backlog produced first; live mode produces at a fixed rate
// while the ingester runs and measures produce-to-ledger latency. Every run verifies the ledger,
// and writes a JSON report and an SVG chart under reports/. Idle mode measures what branches cost
// when nothing arrives.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { DEFAULTS } from '../config/defaults.js';
import { env } from '../core/env.js';
import { integerOption, parseFlags, type Problems } from '../config/options.js';
import { runMain } from '../core/run-main.js';
import { ConfigError } from '../core/errors.js';
import { IngesterGroup, IngesterProcess, PROJECT_DIR } from './load/ingester-process.js';
import { ensureLocalKafka, runProducer, type ProduceSummary } from './load/local-services.js';
import { checkpoint } from './load/checkpoint.js';
import { createScratchEnvironment } from './load/scratch-environment.js';
import {
  branchWindows,
  committedPerBranch,
  latency,
  latencyOverTime,
  otherConnections,
  verifyLedger,
} from './load/ledger-check.js';
import { Progress } from './load/progress.js';
import { buildReport, chart, printTable, type RunShape, type Sample } from './load/load-report.js';
import { readKafka } from '../config/connection-options.js';
import type { KafkaConnection } from '../kafka/kafka-settings.js';
import { CpuMeter } from './load/cpu-split.js';
import { INGESTER_TUNING_HELP, ingesterTuningArgs } from './load/ingester-tuning.js';
import { WORKER_TUNING_FLAGS } from '../config/ingester-config.js';
import { measureIdle } from './load/idle-run.js';
import { type PassResult, writeComparison } from './load/supervisor-comparison.js';

/** How often progress is sampled: often enough that a 20 s run draws curves, not three points. */
const SAMPLE_MS = 100;
/** The live producer's linger.ms (see runPass). */
const LIVE_PRODUCER_LINGER_MS = 20;

const HELP = `Usage: npm run load-test -- [options]

  --mode catch-up|live|idle  catch-up: produce a backlog, then time the drain (default)
                             live: produce at --rate for --duration while the ingester runs
                             idle: no records; CPU and memory of --baseline-branches and then
                             --branches idle branches over --duration, after --settle
  --branches <n>             branches, one partition each (default 8)
  --customers <n>            customers in total (default 10000)
  --transactions <n>         transactions in total, catch-up mode (default 1000000)
  --rate <n>                 transactions per second, live mode (default 2000)
  --duration <s>             seconds of live production (default 60)
  --baseline-branches <n>    idle mode: the first pass's branches, to take the supervisor's
                             fixed cost out of the figure per branch; 0: one pass (default 8)
  --settle <s>               idle mode: seconds between the last worker's start and the
                             measurement (default 60)
  --warmup <s>               live mode: latency and memory are also summarised without the
                             records produced in the first <s> seconds (default 10)
  --supervisors <n>          more than 1: the supervisors share the branches through a Kafka
                             consumer group (--partitions auto), and the same workload is run
                             first with one supervisor, so both are compared in one run
  --skip-baseline            with --supervisors: run only the scaled-out pass
  --seed <n>                 seed of the produced data (default 1)
  --keep                     keep the scratch topics and database for inspection
  --report-dir <dir>         where the JSON report and the SVG chart go (default reports)

Ingester settings (the ingester's defaults when not given):
${INGESTER_TUNING_HELP}`;

runMain('load-test', async () => {
  const flags = parseFlags(process.argv.slice(2), {
    mode: { type: 'string' },
    branches: { type: 'string' },
    customers: { type: 'string' },
    transactions: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'baseline-branches': { type: 'string' },
    settle: { type: 'string' },
    ...WORKER_TUNING_FLAGS,
    supervisors: { type: 'string' },
    'skip-baseline': { type: 'boolean' },
    seed: { type: 'string' },
    keep: { type: 'boolean' },
    'report-dir': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const problems: Problems = [];
  const mode = flags.mode ?? 'catch-up';
  if (mode !== 'catch-up' && mode !== 'live' && mode !== 'idle')
    problems.push(`mode must be catch-up, live or idle, got "${mode}"`);
  const branches = integerOption(problems, 'branches', flags.branches, 8, { min: 1, max: 256 });
  const customers = integerOption(problems, 'customers', flags.customers, 10_000, { min: 1, max: 100_000_000 });
  const rate = integerOption(problems, 'rate', flags.rate, 2000, { min: 1, max: 10_000_000 });
  const warmup = integerOption(problems, 'warmup', flags.warmup, 10, { min: 0, max: 3600 });
  const duration = integerOption(problems, 'duration', flags.duration, 60, { min: 1, max: 86_400 });
  const transactions =
    mode === 'live'
      ? rate * duration
      : integerOption(problems, 'transactions', flags.transactions, 1_000_000, { min: 1, max: 1_000_000_000 });
  const seed = integerOption(problems, 'seed', flags.seed, 1, { min: 0, max: 2 ** 32 - 1 });
  const ingesterArgs = ingesterTuningArgs(problems, flags);
  if (customers < branches) problems.push(`customers (${customers}) must be at least branches (${branches})`);
  // More than one: supervisors share the branches through a consumer group (--partitions auto).
  const supervisors = integerOption(problems, 'supervisors', flags.supervisors, 1, { min: 1, max: 64 });
  if (mode === 'idle' && supervisors > 1) problems.push('idle mode runs one supervisor at a time; drop --supervisors');
  // From the environment (KAFKA_BROKERS, KAFKA_CONFIG_FILE, KAFKA_CFG_*): the producer and the
  // ingester processes inherit it.
  const kafka = readKafka(problems, {});
  const reportDir = path.resolve(PROJECT_DIR, flags['report-dir'] ?? 'reports');
  const baselineBranches = integerOption(problems, 'baseline-branches', flags['baseline-branches'], 8, {
    min: 0,
    max: 256,
  });
  const settle = integerOption(problems, 'settle', flags.settle, 60, { min: 0, max: 3600 });
  if (problems.length > 0) throw new ConfigError(problems);

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase();
  if (mode === 'idle') {
    const counts = baselineBranches > 0 && baselineBranches < branches ? [baselineBranches, branches] : [branches];
    const idle = {
      kafka,
      serverUrl: env('DATABASE_URL') ?? DEFAULTS.databaseUrl,
      settleSeconds: settle,
      seconds: duration,
      ingesterArgs,
      reportDir,
      keep: Boolean(flags.keep),
    };
    const undoKafka = await ensureLocalKafka();
    try {
      return (await measureIdle(idle, counts, `loadtest-idle-${stamp}`)) ? 0 : 1;
    } finally {
      await undoKafka();
    }
  }
  const settings: RunSettings = Object.freeze({
    mode,
    branches,
    customers,
    transactions,
    rate,
    duration,
    warmup,
    seed,
    ingesterArgs,
    kafka,
    reportDir,
    keep: Boolean(flags.keep),
  });
  await mkdir(reportDir, { recursive: true });
  const undoKafka = await ensureLocalKafka();
  try {
    // A scaled-out run is compared with one supervisor on the same workload (same seed, a fresh
    // topic pair and database each), one pass after the other, so that both figures come from one
    // run on one machine.
    const passes = supervisors > 1 && !flags['skip-baseline'] ? [1, supervisors] : [supervisors];
    const results: PassResult[] = [];
    for (const count of passes) {
      const runId = `loadtest-${mode}-${stamp}${passes.length > 1 ? `-${count}sup` : ''}`;
      if (passes.length > 1)
        process.stderr.write(
          `load-test: pass ${results.length + 1} of ${passes.length}: ${count} supervisor${count === 1 ? '' : 's'}\n`,
        );
      results.push(await runPass(settings, count, runId));
    }
    if (results.length > 1) await writeComparison(reportDir, `loadtest-${mode}-${stamp}`, results);
    return results.every((r) => r.report.verification.ok) ? 0 : 1;
  } finally {
    await undoKafka();
  }
});

interface RunSettings extends RunShape {
  warmup: number;
  kafka: KafkaConnection;
  reportDir: string;
  keep: boolean;
}

/** One measured run: produce, ingest with `supervisors` supervisors, verify, report. */
async function runPass(s: RunSettings, supervisors: number, runId: string): Promise<PassResult> {
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
    const produceArgs = [
      '--brokers',
      brokers,
      '--branches',
      String(branches),
      '--customers',
      String(s.customers),
      '--transactions',
      String(transactions),
      '--seed',
      String(s.seed),
      '--customers-topic',
      scratch.customersTopic,
      '--transactions-topic',
      scratch.transactionsTopic,
    ];
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
      process.stderr.write(
        `load-test: producing ${s.rate} transactions/s for ${s.duration} s over ${branches} branches while the ingester runs\n`,
      );
      started = Date.now();
      // A branch's producer gathers its records for 20 ms, as a real one sending thousands a
      // second would; a shorter linger costs the broker CPU on the cores the ingester shares
      // (docs/performance.md). Each record still carries the time it was
      // handed to the producer, so that wait counts in the latency measured.
      produced = runProducer([
        ...produceArgs,
        '--rate',
        String(s.rate),
        '--linger-ms',
        String(LIVE_PRODUCER_LINGER_MS),
      ]);
    }

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
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
      let warm: { meter: CpuMeter; committed: number } | undefined;
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
          warm = { meter: await CpuMeter.start(() => ingester!.pids), committed: done };
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
      await writeFile(jsonPath, `${JSON.stringify(report, null, 2)}\n`);
      await writeFile(svgPath, chart(report, samples, await latencyOverTime(db, mode === 'live' ? started : null)));
      printTable(report);
      process.stdout.write(`report: ${jsonPath}\nchart:  ${svgPath}\n`);
      if (verification.ok)
        process.stdout.write(
          `verified: all ${finalSummary.totals.transactions} transactions in the ledger exactly once, balances equal the produced totals\n`,
        );
      else process.stdout.write(`VERIFICATION FAILED:\n  - ${verification.problems.join('\n  - ')}\n`);
      return { supervisors, report, jsonPath };
    } finally {
      await db.end();
    }
  } finally {
    if (ingester?.running) await ingester.stop();
    await scratch.cleanup();
  }
}
