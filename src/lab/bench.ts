// npm run bench: in one run on this machine, the same rows into the same table definitions three
// ways: COPY (the Postgres write limit), a naive one-row-per-message consumer (the lab's way,
// made durable), and this ingester draining the same backlog. Prints each figure and the ratios.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULTS } from '../config/defaults.js';
import { measureIngester } from './load/ingester-drain.js';
import { env } from '../core/env.js';
import { integerOption, parseFlags, type Problems } from '../config/options.js';
import { runMain } from '../core/run-main.js';
import { ConfigError } from '../core/errors.js';
import { LAB_MAX_AMOUNT_CENTS, LAB_START_DATE, type LoadPlan } from './load/branch-load.js';
import { checkpoint } from './load/checkpoint.js';
import { measureCopy } from './load/copy-run.js';
import { PROJECT_DIR } from './load/ingester-process.js';
import { ensureLocalKafka, runProducer } from './load/local-services.js';
import { runNaiveConsumer } from './load/naive-consumer.js';
import { createScratchEnvironment } from './load/scratch-environment.js';
import { readKafka } from '../config/connection-options.js';
import { INGESTER_TUNING_HELP, ingesterTuningArgs } from './load/ingester-tuning.js';
import { WORKER_TUNING_FLAGS } from '../config/ingester-config.js';
import { type BenchRun, medians, printTable } from './load/bench-report.js';
import { machine } from './load/machine.js';
import { measurePeer } from './load/debezium-peer.js';
import { reportStamp } from './load/report-stamp.js';

const HELP = `Usage: npm run bench -- [--branches 8] [--customers 10000] [--transactions 1000000] [--runs 3] [--naive-seconds 30] [--seed 1] [--keep]
                          [--prefilled-rows N] [--peer] [--peer-tasks 2]
                          [ingester settings]

A million transactions by default: with fewer, the ingester's drain is mostly warm-up (JIT,
customer creation, the first fetches) and its figure says little about its steady rate.
COPY and the ingester are each run --runs times, one after the other, each into a fresh
database; every run's ratio and their median are printed, with the CPU per row of the ingester,
the Postgres server processes and the broker (from /proc). The naive consumer runs once.

--prefilled-rows N: each run also drains the backlog into a ledger that already holds N rows of
the same customers (on another topic; filled inside Postgres first, then vacuumed; its table and
index sizes are reported), as after months of ingesting: the ratio to the empty-ledger run is
the figure.

--peer: each run also drains the same transactions with Debezium's JDBC sink connector on Kafka
Connect standalone (--peer-tasks tasks, 2 by default: its best setting on 2 cores), plain inserts
keyed by the Kafka coordinates, from a copy of the topic in Connect's JSON with a schema. Its jars
come from Maven Central on first use (.peer/libs). The ratio of the ingester's rate to the peer's,
start-up included, is the figure.

Ingester settings, the same as the load test's (the ingester's defaults when not given):
${INGESTER_TUNING_HELP}`;

runMain('bench', async () => {
  const flags = parseFlags(process.argv.slice(2), {
    branches: { type: 'string' },
    customers: { type: 'string' },
    transactions: { type: 'string' },
    'naive-seconds': { type: 'string' },
    seed: { type: 'string' },
    runs: { type: 'string' },
    'prefilled-rows': { type: 'string' },
    peer: { type: 'boolean' },
    'peer-tasks': { type: 'string' },
    keep: { type: 'boolean' },
    help: { type: 'boolean' },
    ...WORKER_TUNING_FLAGS,
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const problems: Problems = [];
  const plan: LoadPlan = {
    branches: integerOption(problems, 'branches', flags.branches, 8, { min: 1, max: 256 }),
    customers: integerOption(problems, 'customers', flags.customers, 10_000, { min: 1, max: 10_000_000 }),
    transactions: integerOption(problems, 'transactions', flags.transactions, 1_000_000, { min: 1, max: 100_000_000 }),
    seed: integerOption(problems, 'seed', flags.seed, 1, { min: 0, max: 2 ** 32 - 1 }),
    firstCustid: 1,
    startDate: LAB_START_DATE,
    maxAmountCents: LAB_MAX_AMOUNT_CENTS,
  };
  const naiveSeconds = integerOption(problems, 'naive-seconds', flags['naive-seconds'], 30, { min: 1, max: 3600 });
  const runs = integerOption(problems, 'runs', flags.runs, 3, { min: 1, max: 20 });
  const prefilledRows = integerOption(problems, 'prefilled-rows', flags['prefilled-rows'], 0, {
    min: 0,
    max: 1_000_000_000,
  });
  const peerTasks = integerOption(problems, 'peer-tasks', flags['peer-tasks'], 2, { min: 1, max: 64 });
  const ingesterArgs = ingesterTuningArgs(problems, flags);
  if (plan.customers < plan.branches) problems.push('customers must be at least branches');
  // Brokers and librdkafka settings from the environment (KAFKA_BROKERS, KAFKA_CONFIG_FILE,
  // KAFKA_CFG_*), which the producer and ingester processes inherit.
  const kafka = readKafka(problems, {});
  const brokers = kafka.brokers;
  if (problems.length > 0) throw new ConfigError(problems);

  const stamp = reportStamp();
  const runId = `bench-${stamp}`;
  const reportDir = path.join(PROJECT_DIR, 'reports');
  await mkdir(reportDir, { recursive: true });
  const undoKafka = await ensureLocalKafka();
  const scratch = await createScratchEnvironment({
    kafka,
    serverUrl: env('DATABASE_URL') ?? DEFAULTS.databaseUrl,
    partitions: plan.branches,
    runId,
    keep: Boolean(flags.keep),
  });
  try {
    say(`producing ${plan.transactions} transactions and ${plan.customers} customers over ${plan.branches} branches`);
    if (ingesterArgs.length > 0) say(`ingester settings: ${ingesterArgs.join(' ')}`);
    const produceArgs = (customersTopic: string, transactionsTopic: string) => [
      '--brokers',
      brokers,
      '--branches',
      String(plan.branches),
      '--customers',
      String(plan.customers),
      '--transactions',
      String(plan.transactions),
      '--seed',
      String(plan.seed),
      '--customers-topic',
      customersTopic,
      '--transactions-topic',
      transactionsTopic,
    ];
    const summary = await runProducer(produceArgs(scratch.customersTopic, scratch.transactionsTopic));
    // The peer reads the same transactions, written with their schema: its own pair of topics.
    const peerTopic = `${runId}-peer-events`;
    if (flags.peer) {
      const peerCustomers = `${runId}-peer-customers`;
      await scratch.addTopics([peerCustomers, peerTopic]);
      say('producing the same transactions in Kafka Connect JSON for the peer');
      await runProducer([...produceArgs(peerCustomers, peerTopic), '--value-format', 'connect-json']);
    }

    // The naive consumer once: one Postgres transaction per message, for at most --naive-seconds.
    const naiveUrl = await scratch.newDatabase('naive');
    await checkpoint(naiveUrl);
    await runNaiveConsumer({
      kafka,
      databaseUrl: naiveUrl,
      topic: scratch.customersTopic,
      kind: 'customers',
      branches: plan.branches,
      perBranch: summary.branches.map((b) => b.customers),
      timeBudgetMs: 3_600_000,
    });
    const naiveRun = await runNaiveConsumer({
      kafka,
      databaseUrl: naiveUrl,
      topic: scratch.transactionsTopic,
      kind: 'transactions',
      branches: plan.branches,
      perBranch: summary.branches.map((b) => b.transactions),
      timeBudgetMs: naiveSeconds * 1000,
    });
    const naive = {
      rows: naiveRun.records,
      seconds: naiveRun.seconds,
      rowsPerSecond: naiveRun.records / naiveRun.seconds,
    };
    say(`naive: ${naive.rows} rows in ${naive.seconds.toFixed(2)} s = ${Math.round(naive.rowsPerSecond)} rows/s`);

    // COPY then the ingester, --runs times: each ratio is measured within one run, seconds apart,
    // and the median of the runs is the figure: a single run swings a lot on two cores.
    const measured: BenchRun[] = [];
    for (let run = 1; run <= runs; run++) {
      const copy = await measureCopy(scratch, plan, run);
      say(
        `run ${run}: COPY ${plan.transactions} rows in ${copy.seconds.toFixed(2)} s = ${Math.round(copy.rowsPerSecond)} rows/s`,
      );
      const ingester = await measureIngester(scratch, plan, summary.branches, {
        run,
        ingesterArgs,
        logFile: path.join(reportDir, `${runId}-${run}-ingester.log`),
      });
      say(
        `run ${run}: ingester ${plan.transactions} rows in ${ingester.seconds.toFixed(2)} s = ${Math.round(ingester.rowsPerSecond)} rows/s (after a ${ingester.startupSeconds.toFixed(1)} s start-up, ledger verified: ${ingester.verified})`,
      );
      let prefilled: BenchRun['prefilled'];
      if (prefilledRows > 0) {
        const into = await measureIngester(scratch, plan, summary.branches, {
          run,
          ingesterArgs,
          logFile: path.join(reportDir, `${runId}-${run}-prefilled-ingester.log`),
          prefilledRows,
        });
        const toEmpty = into.rowsPerSecond / ingester.rowsPerSecond;
        const gb = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
        say(
          `run ${run}: ingester into a ledger of ${prefilledRows} rows (table ${gb(into.ledger!.tableBytes)} GB, indexes ${gb(into.ledger!.indexBytes)} GB): ${Math.round(into.rowsPerSecond)} rows/s = ${(toEmpty * 100).toFixed(0)} % of the empty ledger's (ledger verified: ${into.verified})`,
        );
        prefilled = { ingester: into, toEmpty };
      }
      let peer: BenchRun['peer'];
      if (flags.peer) {
        const url = await scratch.newDatabase(`peer${run}`);
        await checkpoint(url);
        const peerRun = await measurePeer({
          brokers,
          topic: peerTopic,
          databaseUrl: url,
          perPartition: summary.branches.map((b) => b.transactions),
          tasks: peerTasks,
          logFile: path.join(reportDir, `${runId}-${run}-peer.log`),
          say,
        });
        await scratch.dropDatabase(url);
        const ingesterToPeerWithStartup = ingester.rowsPerSecondWithStartup / peerRun.rowsPerSecondWithStartup;
        say(
          `run ${run}: peer ${plan.transactions} rows in ${peerRun.seconds.toFixed(2)} s = ${Math.round(peerRun.rowsPerSecond)} rows/s (after a ${peerRun.startupSeconds.toFixed(1)} s start-up, rows verified: ${peerRun.verified}); ingester/peer with start-up ${ingesterToPeerWithStartup.toFixed(2)}`,
        );
        peer = { run: peerRun, ingesterToPeerWithStartup };
      }
      measured.push({
        run,
        copy,
        ingester,
        ingesterToCopy: ingester.rowsPerSecond / copy.rowsPerSecond,
        prefilled,
        peer,
      });
    }

    const result = {
      runId,
      settings: { ...plan, naiveSeconds, runs, ingesterArgs, peerTasks: flags.peer ? peerTasks : null },
      machine: machine(),
      naive,
      runs: measured,
      median: medians(measured, naive.rowsPerSecond),
      verified: measured.every(
        (r) => r.ingester.verified && (r.prefilled?.ingester.verified ?? true) && (r.peer?.run.verified ?? true),
      ),
    };
    const reportPath = path.join(reportDir, `${runId}.json`);
    await writeFile(reportPath, `${JSON.stringify(result, null, 2)}\n`);
    printTable(result, reportPath);
    return result.verified ? 0 : 1;
  } finally {
    await scratch.cleanup();
    await undoKafka();
  }
});

function say(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}
