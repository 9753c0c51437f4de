// The bench's COPY run: the same ledger rows the ingester writes, coordinates included, COPYed
// into a fresh database. Its rate is the machine's Postgres write limit for the ledger, the
// figure the ingester's rate is divided by.
import { customersOfBranch, transactionsOfBranch, type LoadPlan } from './branch-load.js';
import { checkpoint } from './checkpoint.js';
import { copyRows } from './copy-writer.js';
import { CpuMeter, type CpuSplit } from './cpu-split.js';
import type { ScratchEnvironment } from './scratch-environment.js';
import type { CopyRun } from './bench-report.js';

/** The customer table's columns, in the order customerLines renders them. */
export const CUSTOMER_COLUMNS = [
  'custid',
  'fname',
  'lname',
  'created_at',
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
];

/** COPY of the same ledger rows, coordinates included, into a freshly migrated database. */
export async function measureCopy(scratch: ScratchEnvironment, plan: LoadPlan, run: number): Promise<CopyRun> {
  const url = await scratch.newDatabase(`copy${run}`);
  await checkpoint(url);
  await copyRows(url, 'customer', CUSTOMER_COLUMNS, customerLines(plan, scratch.customersTopic));
  let meter: CpuMeter | undefined;
  let cpu: CpuSplit | undefined;
  const seconds = await copyRows(
    url,
    '"transaction"',
    [
      'custid',
      'kind',
      'amount_cents',
      'occurred_at',
      'kafka_topic',
      'kafka_partition',
      'kafka_offset',
      'kafka_timestamp',
    ],
    transactionLines(plan, scratch.transactionsTopic, new Date().toISOString()),
    {
      start: async () => {
        meter = await CpuMeter.start();
      },
      end: async () => {
        cpu = await meter!.end(plan.transactions);
      },
    },
  );
  await scratch.dropDatabase(url);
  return { rows: plan.transactions, seconds, rowsPerSecond: plan.transactions / seconds, cpu: cpu! };
}

/** The customer table's rows as COPY text, as the run's customers topic carries them. */
export function* customerLines(plan: LoadPlan, topic: string): Generator<string> {
  for (let branch = 0; branch < plan.branches; branch++) {
    let offset = 0;
    for (const c of customersOfBranch(plan, branch))
      yield [c.custid, c.fname, c.lname, new Date(c.createdate * 1000).toISOString(), topic, branch, offset++].join(
        '\t',
      );
  }
}

/** The ledger's rows as COPY text; `kafkaTime` stands for the produce time, in this month like the ingester's rows. */
function* transactionLines(plan: LoadPlan, topic: string, kafkaTime: string): Generator<string> {
  for (let branch = 0; branch < plan.branches; branch++) {
    let offset = 0;
    for (const t of transactionsOfBranch(plan, branch)) {
      yield [
        t.custid,
        t.type === 'dep' ? 'deposit' : 'withdrawal',
        t.amt,
        new Date(t.date * 1000).toISOString(),
        topic,
        branch,
        offset++,
        kafkaTime,
      ].join('\t');
    }
  }
}
