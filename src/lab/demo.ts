// npm run demo: the main job end to end on the local defaults. Starts Kafka if needed, creates
// the topics, migrates, starts the supervisor for branches 0-7, produces a demo load, waits until
// all of it is in Postgres, prints a table per branch and stops everything it started.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { DEFAULTS } from '../config/defaults.js';
import { env } from '../core/env.js';
import { ensureTopics } from '../kafka/ensure-topics.js';
import { TopicAdmin } from '../kafka/topic-admin.js';
import { integerOption, parseFlags, type Problems } from '../config/options.js';
import { runMain } from '../core/run-main.js';
import { ConfigError } from '../core/errors.js';
import { ensureLocalKafka, migrate, runProducer } from './load/local-services.js';
import { IngesterProcess, PROJECT_DIR } from './load/ingester-process.js';
import { readKafka } from '../config/connection-options.js';
import type { KafkaConnection } from '../kafka/kafka-settings.js';
import { redact } from '../db/database-url.js';

const BRANCHES = 8;

runMain('demo', async () => {
  const flags = parseFlags(process.argv.slice(2), {
    customers: { type: 'string' },
    transactions: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write('Usage: npm run demo -- [--customers 800] [--transactions 40000]\n');
    return 0;
  }
  const problems: Problems = [];
  const customers = integerOption(problems, 'customers', flags.customers, 800, { min: BRANCHES, max: 10_000_000 });
  const transactions = integerOption(problems, 'transactions', flags.transactions, 40_000, {
    min: 1,
    max: 100_000_000,
  });
  const kafka = readKafka(problems, {});
  if (problems.length > 0) throw new ConfigError(problems);
  const brokers = kafka.brokers;
  const databaseUrl = env('DATABASE_URL') ?? DEFAULTS.databaseUrl;
  const customersTopic = env('CUSTOMERS_TOPIC') ?? DEFAULTS.customersTopic;
  const transactionsTopic = env('TRANSACTIONS_TOPIC') ?? DEFAULTS.transactionsTopic;

  // The broker is left running at the end (unlike the load tools): the operator commands the
  // demo suggests need it. `npm run kafka:stop` stops it.
  await ensureLocalKafka();
  await ensureTopics(kafka, [customersTopic, transactionsTopic], BRANCHES);
  await migrate();

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  let supervisor: IngesterProcess | undefined;
  try {
    await mkdir(path.join(PROJECT_DIR, 'reports'), { recursive: true });
    const logFile = path.join(PROJECT_DIR, 'reports', 'demo-supervisor.log');
    say(`starting the supervisor for branches 0-${BRANCHES - 1}; its JSON log goes to ${logFile}`);
    supervisor = new IngesterProcess({
      partitions: `0-${BRANCHES - 1}`,
      brokers,
      databaseUrl,
      customersTopic,
      transactionsTopic,
      logFile,
    });

    // Whatever earlier runs left on the topics is ingested first; this run's records are then
    // exactly those from these offsets on, with customer ids no earlier run used.
    const topics = [customersTopic, transactionsTopic];
    const startOffsets = await waitUntilCaughtUp(db, kafka, topics, supervisor);
    const { rows } = await db.query<{ next: string }>('SELECT coalesce(max(custid), 0) + 1 AS next FROM customer');
    const firstCustid = Number(rows[0]!.next);

    say(
      `producing ${customers} customers and ${transactions} transactions over ${BRANCHES} branches (custid ${firstCustid} on)`,
    );
    const started = Date.now();
    const expected = await runProducer([
      '--branches',
      String(BRANCHES),
      '--customers',
      String(customers),
      '--transactions',
      String(transactions),
      '--first-custid',
      String(firstCustid),
      '--seed',
      String(firstCustid),
    ]);

    say('waiting until every transaction is in Postgres');
    const deadline = Date.now() + 300_000;
    let table = await branchTable(db, startOffsets);
    while (table.reduce((n, r) => n + r.transactions, 0) < transactions && Date.now() < deadline) {
      if (!supervisor.running) throw new Error(`the supervisor exited; see ${logFile}`);
      await new Promise((r) => setTimeout(r, 500));
      table = await branchTable(db, startOffsets);
    }
    const seconds = (Date.now() - started) / 1000;
    printTable(table, expected.branches, seconds);
    const mismatches = expected.branches.filter((e) => {
      const got = table.find((r) => r.branch === e.branch);
      return (
        !got || got.transactions !== e.transactions || got.customers !== e.customers || got.netCents !== e.netCents
      );
    });
    if (mismatches.length > 0) {
      say(
        `MISMATCH on branches ${mismatches.map((m) => m.branch).join(', ')}: Postgres does not hold exactly what was produced`,
      );
      return 1;
    }
    say(`every produced record is in Postgres exactly once (${transactions} transactions, ${customers} customers)`);
    say('explore what it wrote (the Kafka broker is still running; npm run kafka:stop stops it):');
    say('  node dist/cli.js status                  per branch: offsets, lag, parked, rejected, last commit');
    say('  node dist/cli.js rejected list           quarantined records, if any');
    say(`  psql '${redact(databaseUrl)}' -c 'SELECT * FROM balance ORDER BY custid LIMIT 10'`);
    say('the data stays in the database and on the topics; the next demo adds to it');
    return 0;
  } finally {
    if (supervisor?.running) {
      say('stopping the supervisor (SIGTERM)');
      say(`supervisor exited with status ${await supervisor.stop()}`);
    }
    await db.end();
  }
});

interface BranchRow {
  branch: number;
  customers: number;
  transactions: number;
  parked: number;
  rejected: number;
  netCents: number;
}

/** Waits until the stored offsets reach the topics' ends; returns those ends, per topic and branch. */
async function waitUntilCaughtUp(
  db: pg.Client,
  kafka: KafkaConnection,
  topics: string[],
  supervisor: IngesterProcess,
): Promise<Record<string, number[]>> {
  const admin = await TopicAdmin.connect(kafka);
  try {
    const ends: Record<string, number[]> = {};
    for (const topic of topics) {
      ends[topic] = [];
      for (let p = 0; p < BRANCHES; p++) ends[topic]!.push(await admin.highWatermark(topic, p));
    }
    const behind = async () => {
      const { rows } = await db.query<{ topic: string; partition: number; next_offset: string }>(
        'SELECT topic, "partition", next_offset FROM consumer_offset WHERE topic = ANY($1)',
        [topics],
      );
      const stored = (topic: string, p: number) =>
        Number(rows.find((r) => r.topic === topic && r.partition === p)?.next_offset ?? 0);
      return topics.reduce(
        (n, topic) => n + ends[topic]!.reduce((m, end, p) => m + Math.max(0, end - stored(topic, p)), 0),
        0,
      );
    };
    let left = await behind();
    if (left > 0) say(`ingesting ${left} records left on the topics by earlier runs first`);
    while (left > 0) {
      if (!supervisor.running) throw new Error('the supervisor exited');
      await new Promise((r) => setTimeout(r, 500));
      left = await behind();
    }
    return ends;
  } finally {
    await admin.close();
  }
}

async function branchTable(db: pg.Client, startOffsets: Record<string, number[]>): Promise<BranchRow[]> {
  const [customersTopic, transactionsTopic] = Object.keys(startOffsets) as [string, string];
  const { rows } = await db.query<{
    branch: number;
    customers: string;
    transactions: string;
    parked: string;
    rejected: string;
    net: string;
  }>(
    `SELECT b.branch,
            (SELECT count(*) FROM customer c WHERE c.kafka_topic = $1 AND c.kafka_partition = b.branch AND c.kafka_offset >= ($3::bigint[])[b.branch + 1]) AS customers,
            (SELECT count(*) FROM "transaction" t WHERE t.kafka_topic = $2 AND t.kafka_partition = b.branch AND t.kafka_offset >= ($4::bigint[])[b.branch + 1]) AS transactions,
            (SELECT count(*) FROM parked_transaction p WHERE p.kafka_topic = $2 AND p.kafka_partition = b.branch AND p.kafka_offset >= ($4::bigint[])[b.branch + 1]) AS parked,
            (SELECT count(*) FROM rejected_event r WHERE r.kafka_partition = b.branch
                AND ((r.kafka_topic = $1 AND r.kafka_offset >= ($3::bigint[])[b.branch + 1]) OR (r.kafka_topic = $2 AND r.kafka_offset >= ($4::bigint[])[b.branch + 1]))) AS rejected,
            (SELECT coalesce(sum(CASE WHEN kind = 'deposit' THEN amount_cents ELSE -amount_cents END), 0)
               FROM "transaction" t WHERE t.kafka_topic = $2 AND t.kafka_partition = b.branch AND t.kafka_offset >= ($4::bigint[])[b.branch + 1]) AS net
       FROM generate_series(0, $5::int - 1) AS b(branch) ORDER BY 1`,
    [customersTopic, transactionsTopic, startOffsets[customersTopic], startOffsets[transactionsTopic], BRANCHES],
  );
  return rows.map((r) => ({
    branch: r.branch,
    customers: Number(r.customers),
    transactions: Number(r.transactions),
    parked: Number(r.parked),
    rejected: Number(r.rejected),
    netCents: Number(r.net),
  }));
}

function printTable(rows: BranchRow[], expected: { branch: number; netCents: number }[], seconds: number): void {
  const cols = ['branch', 'customers', 'transactions', 'parked', 'rejected', 'net balance $', 'expected $', 'tx/s'];
  const widths = [6, 10, 12, 7, 9, 15, 15, 8];
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join(' ');
  process.stdout.write(`${line(cols)}\n`);
  const total = { customers: 0, transactions: 0, parked: 0, rejected: 0, net: 0, expected: 0 };
  for (const r of rows) {
    const exp = expected.find((e) => e.branch === r.branch)?.netCents ?? 0;
    process.stdout.write(
      `${line([String(r.branch), String(r.customers), String(r.transactions), String(r.parked), String(r.rejected), (r.netCents / 100).toFixed(2), (exp / 100).toFixed(2), String(Math.round(r.transactions / seconds))])}\n`,
    );
    total.customers += r.customers;
    total.transactions += r.transactions;
    total.parked += r.parked;
    total.rejected += r.rejected;
    total.net += r.netCents;
    total.expected += exp;
  }
  process.stdout.write(
    `${line(['total', String(total.customers), String(total.transactions), String(total.parked), String(total.rejected), (total.net / 100).toFixed(2), (total.expected / 100).toFixed(2), String(Math.round(total.transactions / seconds))])}\n`,
  );
  process.stdout.write(
    `(tx/s: transactions over the ${seconds.toFixed(1)} s from the first produced record to the last one in Postgres)\n`,
  );
}

function say(text: string): void {
  process.stdout.write(`demo: ${text}\n`);
}
