// npm run load-test: how many transactions per second each branch, and the ingester as a whole,
// sustains. Catch-up mode drains a backlog produced first; live mode produces at a fixed rate
// while the ingester runs and measures produce-to-ledger latency. Every run verifies the ledger,
// and writes a JSON report and an SVG chart under reports/. Idle mode measures what branches cost
// when nothing arrives.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULTS } from '../config/defaults.js';
import { env } from '../core/env.js';
import { integerOption, parseFlags, type Problems } from '../config/options.js';
import { runMain } from '../core/run-main.js';
import { ConfigError } from '../core/errors.js';
import { PROJECT_DIR } from './load/ingester-process.js';
import { ensureLocalKafka } from './load/local-services.js';
import { readKafka } from '../config/connection-options.js';
import { INGESTER_TUNING_HELP, ingesterTuningArgs } from './load/ingester-tuning.js';
import { WORKER_TUNING_FLAGS } from '../config/ingester-config.js';
import { measureIdle } from './load/idle-run.js';
import { type PassResult, writeComparison } from './load/supervisor-comparison.js';
import { runPass, type RunSettings } from './load/load-pass.js';
import { runPeerLivePass } from './load/peer-live-pass.js';
import { writePeerComparison } from './load/peer-comparison.js';
import { reportStamp } from './load/report-stamp.js';

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
  --peer                     live mode: after the ingester's pass, Debezium's JDBC sink connector
                             on Kafka Connect standalone takes the same live stream (in Connect
                             JSON, topics and a database of its own), and both are printed side
                             by side: CPU per transaction (own, Postgres, broker), commits/s,
                             p50/p99, peak RSS, each after the warm-up (so --warmup must be above
                             0 and below --duration). Its jars come from Maven Central on first use.
  --peer-tasks <n>           the peer's tasks (default 2, its best setting on 2 cores)
  --peer-fetch-wait-ms <n>   a latency budget for the peer, as --linger-ms is the ingester's: its
                             fetches wait up to <n> ms for a megabyte (default: Connect's own
                             settings, a fetch returns at its first record)
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
    peer: { type: 'boolean' },
    'peer-tasks': { type: 'string' },
    'peer-fetch-wait-ms': { type: 'string' },
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
  const peerTasks = integerOption(problems, 'peer-tasks', flags['peer-tasks'], 2, { min: 1, max: 64 });
  const peerFetchWaitMs =
    flags['peer-fetch-wait-ms'] === undefined
      ? undefined
      : integerOption(problems, 'peer-fetch-wait-ms', flags['peer-fetch-wait-ms'], 0, { min: 0, max: 10_000 });
  // Both sides are measured after the warm-up: a run no longer than it would measure nothing.
  if (flags.peer && (mode !== 'live' || supervisors > 1 || warmup === 0 || warmup >= duration))
    problems.push('--peer compares one supervisor with the peer in live mode, after a warm-up shorter than --duration');
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

  const stamp = reportStamp();
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
    let peerVerified = true;
    if (flags.peer) {
      process.stderr.write(`load-test: the peer, on the same live stream\n`);
      const peer = await runPeerLivePass(
        settings,
        { tasks: peerTasks, fetchWaitMs: peerFetchWaitMs },
        `loadtest-${mode}-${stamp}-peer`,
      );
      await writePeerComparison(reportDir, `loadtest-${mode}-${stamp}`, rate, results[0]!, peer);
      peerVerified = peer.verified;
    }
    return results.every((r) => r.report.verification.ok) && peerVerified ? 0 : 1;
  } finally {
    await undoKafka();
  }
});
