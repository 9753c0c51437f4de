// The bench's run of this ingester (src/lab/bench.ts): a fresh database, optionally a ledger
// prefilled to a size, the supervisor started on every branch, and the backlog drained and timed
// from when every worker is connected; then the ledger is verified against what was produced.
import pg from 'pg';
import type { LoadPlan } from './branch-load.js';
import { checkpoint } from './checkpoint.js';
import { CUSTOMER_COLUMNS, customerLines } from './copy-run.js';
import { prefillLedger } from './ledger-prefill.js';
import { IngesterProcess } from './ingester-process.js';
import { committedPerBranch, verifyLedger } from './ledger-check.js';
import type { ScratchEnvironment } from './scratch-environment.js';
import { CpuMeter } from './cpu-split.js';
import type { ProduceSummary } from './local-services.js';
import type { IngesterRun } from './bench-report.js';

/** The ingester draining the whole backlog into a fresh database, timed from when every worker is connected. */
export async function measureIngester(
  scratch: ScratchEnvironment,
  plan: LoadPlan,
  produced: ProduceSummary['branches'],
  {
    run,
    ingesterArgs,
    logFile,
    prefilledRows = 0,
  }: { run: number; ingesterArgs: string[]; logFile: string; prefilledRows?: number },
): Promise<IngesterRun> {
  const url = await scratch.newDatabase(prefilledRows > 0 ? `prefilled${run}` : `ingester${run}`);
  const customers = {
    firstCustid: plan.firstCustid,
    count: plan.customers,
    lines: customerLines(plan, scratch.customersTopic),
    columns: CUSTOMER_COLUMNS,
  };
  const ledger = prefilledRows > 0 ? await prefillLedger(url, prefilledRows, customers, say) : undefined;
  await checkpoint(url);
  const ingester = new IngesterProcess({
    partitions: `0-${plan.branches - 1}`,
    brokers: scratch.kafka.brokers,
    databaseUrl: url,
    customersTopic: scratch.customersTopic,
    transactionsTopic: scratch.transactionsTopic,
    extraArgs: ingesterArgs,
    logFile,
  });
  const spawned = Date.now();
  const db = new pg.Client({ connectionString: url });
  try {
    await ingester.waitUntilWorkersStarted(plan.branches);
    const startupSeconds = (Date.now() - spawned) / 1000;
    const meter = await CpuMeter.start(() => ingester.pids);
    const started = Date.now();
    await db.connect();
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      if (!ingester.running) throw new Error('the ingester exited');
      const done = (await committedPerBranch(db, scratch.transactionsTopic, plan.branches)).reduce((a, b) => a + b, 0);
      if (done >= plan.transactions) break;
      if (Date.now() - started > 1_800_000) throw new Error('the ingester did not drain the backlog within 30 minutes');
    }
    const seconds = (Date.now() - started) / 1000;
    const cpu = await meter.end(plan.transactions);
    const peakRssMB = (await ingester.memory()).peakRssBytes / 2 ** 20;
    await ingester.stop();
    const verified = await verifyLedger(db, produced, scratch.transactionsTopic);
    return {
      rows: plan.transactions,
      seconds,
      startupSeconds,
      rowsPerSecond: plan.transactions / seconds,
      rowsPerSecondWithStartup: plan.transactions / (seconds + startupSeconds),
      peakRssMB,
      cpu,
      ledger,
      verified: verified.ok,
      problems: verified.problems,
    };
  } finally {
    if (ingester.running) await ingester.stop();
    await db.end().catch(() => undefined);
    await scratch.dropDatabase(url);
  }
}

function say(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}
