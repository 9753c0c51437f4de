// npm run produce: the lab's random producer. Per branch it creates customers on the customers
// topic and then deposits and withdrawals for them on the transactions topic, on the branch's
// partition. Progress goes to stderr; the last line on stdout is a JSON summary for scripts.
import { DEFAULTS } from '../config/defaults.js';
import { env } from '../core/env.js';
import { integerOption, parseFlags, type Problems } from '../config/options.js';
import { runMain } from '../core/run-main.js';
import { ConfigError } from '../core/errors.js';
import { KAFKA_FLAGS, KAFKA_HELP, readKafka, readTopics, TOPIC_FLAGS } from '../config/connection-options.js';
import { ConfirmedProducer } from '../kafka/confirmed-producer.js';
import {
  customersOfBranch,
  encodeEvent,
  encodeEventWithSchema,
  LAB_MAX_AMOUNT_CENTS,
  LAB_START_DATE,
  tallyTransaction,
  transactionsOfBranch,
  type BranchExpectation,
  type LoadPlan,
  VALUE_FORMATS,
} from './load/branch-load.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** How far ahead of its schedule a rate-limited producer runs before it sleeps. */
const PACING_SLACK_MS = 5;

const HELP = `Usage: npm run produce -- [options]

  --branches <n>               branches, one partition each (PARTITIONS, default ${DEFAULTS.partitions})
  --customers <n>              customers in total, spread over the branches (default 100)
  --transactions <n>           transactions in total, spread over the branches (default 1000)
  --rate <n>                   transactions per second over all branches, 0 = as fast as possible (default 0)
  --seed <n>                   seed of the random choices; the same seed sends the same events (default 1)
  --first-custid <n>           first customer id (default 1)
  --linger-ms <n>              how long records gather per partition before a request goes to the broker
                               (default 5); longer: fewer, larger requests, and each record waits up to that
  --value-format <lab|connect-json>
                               record values as the lab's JSON (default), or wrapped with their schema for
                               Kafka Connect's JsonConverter (what a JDBC sink connector reads)
${KAFKA_HELP}
  --customers-topic <name>     (CUSTOMERS_TOPIC, default ${DEFAULTS.customersTopic})
  --transactions-topic <name>  (TRANSACTIONS_TOPIC, default ${DEFAULTS.transactionsTopic})
  --help                       this text
`;

runMain('produce', async () => {
  const flags = parseFlags(process.argv.slice(2), {
    branches: { type: 'string' },
    customers: { type: 'string' },
    transactions: { type: 'string' },
    rate: { type: 'string' },
    seed: { type: 'string' },
    'first-custid': { type: 'string' },
    'linger-ms': { type: 'string' },
    'value-format': { type: 'string' },
    ...KAFKA_FLAGS,
    ...TOPIC_FLAGS,
    help: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const problems: Problems = [];
  const plan: LoadPlan = {
    branches: integerOption(problems, 'branches', flags.branches ?? env('PARTITIONS'), DEFAULTS.partitions, {
      min: 1,
      max: 10_000,
    }),
    customers: integerOption(problems, 'customers', flags.customers, 100, { min: 0, max: 100_000_000 }),
    transactions: integerOption(problems, 'transactions', flags.transactions, 1000, { min: 0, max: 1_000_000_000 }),
    seed: integerOption(problems, 'seed', flags.seed, 1, { min: 0, max: 2 ** 32 - 1 }),
    firstCustid: integerOption(problems, 'first-custid', flags['first-custid'], 1, { min: 1, max: 2 ** 53 - 2 ** 32 }),
    startDate: LAB_START_DATE,
    maxAmountCents: LAB_MAX_AMOUNT_CENTS,
  };
  const rate = integerOption(problems, 'rate', flags.rate, 0, { min: 0, max: 10_000_000 });
  const lingerMs = integerOption(problems, 'linger-ms', flags['linger-ms'], 5, { min: 0, max: 1_000 });
  const valueFormat = flags['value-format'] ?? 'lab';
  if (!(VALUE_FORMATS as readonly string[]).includes(valueFormat))
    problems.push(`value-format must be one of ${VALUE_FORMATS.join(', ')}, not ${valueFormat}`);
  const encode = valueFormat === 'connect-json' ? encodeEventWithSchema : encodeEvent;
  const kafka = readKafka(problems, flags);
  const { customersTopic, transactionsTopic } = readTopics(problems, flags);
  if (plan.transactions > 0 && plan.customers < plan.branches) {
    problems.push(
      `customers (${plan.customers}) must be at least branches (${plan.branches}) when transactions are sent: each branch needs a customer`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const started = Date.now();
  const producer = await ConfirmedProducer.connect(kafka, 'zipbank-produce', { lingerMs });
  const sent: BranchExpectation[] = [];
  try {
    for (let branch = 0; branch < plan.branches; branch++) {
      sent.push({ branch, customers: 0, transactions: 0, deposits: 0, withdrawals: 0, netCents: 0, bytes: 0 });
      for (const customer of customersOfBranch(plan, branch)) {
        await producer.send(customersTopic, branch, String(customer.custid), encode(customer));
        sent[branch]!.customers++;
      }
    }
    // Customers are confirmed before the first transaction is sent, as a branch application would.
    await producer.confirmAll();

    // Branches take turns so that all of them progress together, as real branches would.
    const streams = sent.map((s) => ({ tally: s, events: transactionsOfBranch(plan, s.branch) }));
    let produced = 0;
    let active = streams;
    let lastReport = Date.now();
    while (active.length > 0) {
      const next: typeof streams = [];
      for (const stream of active) {
        const step = stream.events.next();
        if (step.done) continue;
        next.push(stream);
        const value = encode(step.value);
        await producer.send(transactionsTopic, stream.tally.branch, String(step.value.custid), value);
        tallyTransaction(stream.tally, step.value, value.length);
        produced++;
        if (rate > 0) {
          // Timers are coarse: a sleep per record cost more CPU than producing it. Sleeping once a
          // few milliseconds ahead keeps the rate; each record still carries its own send time.
          const aheadMs = started + (produced * 1000) / rate - Date.now();
          if (aheadMs >= PACING_SLACK_MS) await sleep(aheadMs);
        }
      }
      active = next;
      if (Date.now() - lastReport > 2000) {
        process.stderr.write(`produce: ${produced} transactions queued, ${producer.delivered} records confirmed\n`);
        lastReport = Date.now();
      }
    }
    await producer.confirmAll();
  } finally {
    await producer.close();
  }

  const totals = sent.reduce(
    (t, b) => ({
      customers: t.customers + b.customers,
      transactions: t.transactions + b.transactions,
      deposits: t.deposits + b.deposits,
      withdrawals: t.withdrawals + b.withdrawals,
      netCents: t.netCents + b.netCents,
      bytes: t.bytes + b.bytes,
    }),
    { customers: 0, transactions: 0, deposits: 0, withdrawals: 0, netCents: 0, bytes: 0 },
  );
  const elapsedMs = Date.now() - started;
  printTable(sent, totals);
  // Say what was sent, not what will be created: ids an earlier run used are repeats, which the
  // ingester ignores when identical (so the demo and a second produce do not double-count).
  if (totals.customers > 0) {
    process.stderr.write(
      `produce: sent ${totals.customers} customer creations with ids ${plan.firstCustid} to ${plan.firstCustid + totals.customers - 1}; ids that already exist are repeats and create nothing (use --first-custid for new ones)\n`,
    );
  }
  process.stdout.write(
    `${JSON.stringify({ customersTopic, transactionsTopic, seed: plan.seed, firstCustid: plan.firstCustid, elapsedMs, branches: sent, totals })}\n`,
  );
  return 0;
});

function printTable(branches: BranchExpectation[], totals: Omit<BranchExpectation, 'branch'>): void {
  const row = (label: string, b: Omit<BranchExpectation, 'branch'>) =>
    `${label.padStart(6)} ${String(b.customers).padStart(10)} ${String(b.transactions).padStart(12)} ${(b.netCents / 100).toFixed(2).padStart(16)}\n`;
  process.stderr.write(
    `${'branch'.padStart(6)} ${'customers'.padStart(10)} ${'transactions'.padStart(12)} ${'net balance $'.padStart(16)}\n`,
  );
  for (const b of branches) process.stderr.write(row(String(b.branch), b));
  process.stderr.write(row('total', totals));
}
