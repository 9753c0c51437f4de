// npm run bench: in one run on this machine, the same rows into the same table definitions three
// ways: COPY (the Postgres write limit), a naive one-row-per-message consumer (the lab's way,
// made durable), and this ingester draining the same backlog. Prints each figure and the ratios.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { DEFAULTS, env } from '../defaults.js';
import { integerOption, parseFlags, type Problems } from '../cli/options.js';
import { runMain } from '../cli/run-main.js';
import { ConfigError } from '../errors.js';
import { customersOfBranch, LAB_MAX_AMOUNT_CENTS, LAB_START_DATE, transactionsOfBranch, type LoadPlan } from '../load/branch-load.js';
import { checkpoint } from '../load/checkpoint.js';
import { copyRows } from '../load/copy-writer.js';
import { IngesterProcess, PROJECT_DIR } from '../load/ingester-process.js';
import { committedPerBranch, verifyLedger } from '../load/ledger-check.js';
import { ensureLocalKafka, runProducer } from '../load/local-services.js';
import { runNaiveConsumer } from '../load/naive-consumer.js';
import { createScratchEnvironment } from '../load/scratch-environment.js';
import { readKafka } from '../cli/connection-options.js';

const HELP = `Usage: npm run bench -- [--branches 8] [--customers 10000] [--transactions 1000000] [--naive-seconds 30] [--seed 1] [--keep]

A million transactions by default: with fewer, the ingester's drain is mostly warm-up (JIT,
customer creation, the first fetches) and its figure says little about its steady rate.
`;

runMain('bench', async () => {
  const flags = parseFlags(process.argv.slice(2), {
    branches: { type: 'string' }, customers: { type: 'string' }, transactions: { type: 'string' }, 'naive-seconds': { type: 'string' },
    seed: { type: 'string' }, keep: { type: 'boolean' }, help: { type: 'boolean' },
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
  if (plan.customers < plan.branches) problems.push('customers must be at least branches');
  // Brokers and librdkafka settings from the environment (KAFKA_BROKERS, KAFKA_CONFIG_FILE,
  // KAFKA_CFG_*), which the producer and ingester processes inherit.
  const kafka = readKafka(problems, {});
  const brokers = kafka.brokers;
  if (problems.length > 0) throw new ConfigError(problems);

  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').toLowerCase();
  const runId = `bench-${stamp}`;
  const reportDir = path.join(PROJECT_DIR, 'reports');
  await mkdir(reportDir, { recursive: true });
  const undoKafka = await ensureLocalKafka();
  const scratch = await createScratchEnvironment({ kafka, serverUrl: env('DATABASE_URL') ?? DEFAULTS.databaseUrl, partitions: plan.branches, runId, keep: Boolean(flags.keep) });
  try {
    say(`producing ${plan.transactions} transactions and ${plan.customers} customers over ${plan.branches} branches`);
    const summary = await runProducer(['--brokers', brokers, '--branches', String(plan.branches), '--customers', String(plan.customers), '--transactions', String(plan.transactions), '--seed', String(plan.seed), '--customers-topic', scratch.customersTopic, '--transactions-topic', scratch.transactionsTopic]);

    // 1. COPY: the same ledger rows, coordinates included, into a freshly migrated database.
    const copyUrl = await scratch.newDatabase('copy');
    await checkpoint(copyUrl);
    await copyRows(copyUrl, 'customer', ['custid', 'fname', 'lname', 'created_at', 'kafka_topic', 'kafka_partition', 'kafka_offset'], customerLines(plan, scratch.customersTopic));
    const copySeconds = await copyRows(copyUrl, '"transaction"', ['custid', 'kind', 'amount_cents', 'occurred_at', 'kafka_topic', 'kafka_partition', 'kafka_offset'], transactionLines(plan, scratch.transactionsTopic));
    const copyRate = plan.transactions / copySeconds;
    say(`COPY: ${plan.transactions} rows in ${copySeconds.toFixed(2)} s = ${Math.round(copyRate)} rows/s`);

    // 2. Naive: one Postgres transaction per message, for at most --naive-seconds.
    const naiveUrl = await scratch.newDatabase('naive');
    await checkpoint(naiveUrl);
    await runNaiveConsumer({ kafka, databaseUrl: naiveUrl, topic: scratch.customersTopic, kind: 'customers', branches: plan.branches, perBranch: summary.branches.map((b) => b.customers), timeBudgetMs: 3_600_000 });
    const naive = await runNaiveConsumer({ kafka, databaseUrl: naiveUrl, topic: scratch.transactionsTopic, kind: 'transactions', branches: plan.branches, perBranch: summary.branches.map((b) => b.transactions), timeBudgetMs: naiveSeconds * 1000 });
    const naiveRate = naive.records / naive.seconds;
    say(`naive: ${naive.records} rows in ${naive.seconds.toFixed(2)} s = ${Math.round(naiveRate)} rows/s`);

    // 3. The ingester draining the whole backlog.
    const ingestUrl = await scratch.newDatabase('ingester');
    await checkpoint(ingestUrl);
    const ingester = new IngesterProcess({ partitions: `0-${plan.branches - 1}`, brokers, databaseUrl: ingestUrl, customersTopic: scratch.customersTopic, transactionsTopic: scratch.transactionsTopic, logFile: path.join(reportDir, `${runId}-ingester.log`) });
    // Timed from the moment every branch worker is connected: start-up is reported apart.
    const spawned = Date.now();
    await ingester.waitUntilWorkersStarted(plan.branches);
    const startupSeconds = (Date.now() - spawned) / 1000;
    const started = Date.now();
    const db = new pg.Client({ connectionString: ingestUrl });
    await db.connect();
    let ingestSeconds: number;
    let verified: Awaited<ReturnType<typeof verifyLedger>>;
    try {
      for (;;) {
        await new Promise((r) => setTimeout(r, 200));
        if (!ingester.running) throw new Error('the ingester exited');
        const done = (await committedPerBranch(db, scratch.transactionsTopic, plan.branches)).reduce((a, b) => a + b, 0);
        if (done >= plan.transactions) break;
        if (Date.now() - started > 1_800_000) throw new Error('the ingester did not drain the backlog within 30 minutes');
      }
      ingestSeconds = (Date.now() - started) / 1000;
      await ingester.stop();
      verified = await verifyLedger(db, summary.branches, scratch.transactionsTopic);
    } finally {
      if (ingester.running) await ingester.stop();
      await db.end();
    }
    const ingestRate = plan.transactions / ingestSeconds;
    say(`ingester: ${plan.transactions} rows in ${ingestSeconds.toFixed(2)} s = ${Math.round(ingestRate)} rows/s (after a ${startupSeconds.toFixed(1)} s start-up, ledger verified: ${verified.ok})`);

    const result = {
      runId,
      settings: { ...plan, naiveSeconds },
      copy: { rows: plan.transactions, seconds: copySeconds, rowsPerSecond: copyRate },
      naive: { rows: naive.records, seconds: naive.seconds, rowsPerSecond: naiveRate },
      ingester: { rows: plan.transactions, seconds: ingestSeconds, startupSeconds, rowsPerSecond: ingestRate, verified: verified.ok, problems: verified.problems },
      ratios: { ingesterToCopy: ingestRate / copyRate, ingesterToNaive: ingestRate / naiveRate },
    };
    const reportPath = path.join(reportDir, `${runId}.json`);
    await writeFile(reportPath, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(
      [
        `${'method'.padEnd(10)} ${'rows'.padStart(9)} ${'seconds'.padStart(9)} ${'rows/s'.padStart(9)}`,
        `${'COPY'.padEnd(10)} ${String(plan.transactions).padStart(9)} ${copySeconds.toFixed(2).padStart(9)} ${String(Math.round(copyRate)).padStart(9)}`,
        `${'naive'.padEnd(10)} ${String(naive.records).padStart(9)} ${naive.seconds.toFixed(2).padStart(9)} ${String(Math.round(naiveRate)).padStart(9)}`,
        `${'ingester'.padEnd(10)} ${String(plan.transactions).padStart(9)} ${ingestSeconds.toFixed(2).padStart(9)} ${String(Math.round(ingestRate)).padStart(9)}`,
        `ingester/COPY = ${result.ratios.ingesterToCopy.toFixed(2)}   ingester/naive = ${result.ratios.ingesterToNaive.toFixed(1)}`,
        `report: ${reportPath}`,
        '',
      ].join('\n'),
    );
    return verified.ok ? 0 : 1;
  } finally {
    await scratch.cleanup();
    await undoKafka();
  }
});

function* customerLines(plan: LoadPlan, topic: string): Generator<string> {
  for (let branch = 0; branch < plan.branches; branch++) {
    let offset = 0;
    for (const c of customersOfBranch(plan, branch)) yield [c.custid, c.fname, c.lname, new Date(c.createdate * 1000).toISOString(), topic, branch, offset++].join('\t');
  }
}

function* transactionLines(plan: LoadPlan, topic: string): Generator<string> {
  for (let branch = 0; branch < plan.branches; branch++) {
    let offset = 0;
    for (const t of transactionsOfBranch(plan, branch)) {
      yield [t.custid, t.type === 'dep' ? 'deposit' : 'withdrawal', t.amt, new Date(t.date * 1000).toISOString(), topic, branch, offset++].join('\t');
    }
  }
}

function say(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}
