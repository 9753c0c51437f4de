// The operator's command line against a live system:
//   node dist/cli.js status                      per branch: offsets, lag, parked, rejected, last commit
//   node dist/cli.js rejected list               quarantined records (filter by --branch, --reason)
//   node dist/cli.js rejected redrive --id N --value '<fixed JSON>'
//                                                posts a corrected record in place of a rejected one
//   node dist/cli.js parked list                 transactions waiting for their customer
//   node dist/cli.js gaps list                   offset gaps: records deleted before a branch read them
//   node dist/cli.js gaps accept --branch N      accepts a branch's open gaps so it goes on
// Text output escapes control characters: record contents must not drive an operator's terminal.
import { DEFAULTS } from './config/defaults.js';
import { integerOption, parseFlags, type Problems } from './config/options.js';
import { runMain } from './core/run-main.js';
import { ConfigError, ERROR_CODES, IngesterError } from './core/errors.js';
import { createPrisma, type PrismaClient } from './db/prisma.js';
import { TopicAdmin } from './kafka/topic-admin.js';
import { parsePartitionList } from './core/partition-list.js';
import { assembleBatch } from './ingest/batch.js';
import { parseCustomer, parseTransaction } from './ingest/event-parser.js';
import { writeBatch } from './ingest/batch-writer.js';
import { acceptGaps, listGaps, type GapRow } from './ingest/offset-gaps.js';
import { oneLine } from './core/printable.js';
import { toDatabaseError } from './db/database-error.js';
import {
  CONNECTION_FLAGS,
  CONNECTION_HELP,
  readConnections,
  readTopics,
  TOPIC_FLAGS,
} from './config/connection-options.js';
import type { KafkaConnection } from './kafka/kafka-settings.js';
import os from 'node:os';

const HELP = `Usage:
  node dist/cli.js status [--partitions 0-7] [--json]
  node dist/cli.js rejected list [--branch N] [--reason CODE] [--limit 50] [--json]
  node dist/cli.js rejected redrive --id N --value '<corrected JSON>'
  node dist/cli.js parked list [--branch N] [--older-than S] [--limit 50] [--json]
  node dist/cli.js gaps list [--branch N] [--open] [--json]
  node dist/cli.js gaps accept --branch N [--by NAME]

Common options:
${CONNECTION_HELP}
  --customers-topic (CUSTOMERS_TOPIC), --transactions-topic (TRANSACTIONS_TOPIC)

A re-drive posts the corrected record with the rejected record's Kafka coordinates and deletes the
rejected row in the same transaction: the ledger's unique coordinates and that delete make sure a
record is never posted twice. Parked transactions need no re-drive: their branch posts them as
soon as their customer exists.

An offset gap (records deleted by retention before the branch read them, or a topic recreated
under it) stops the branch until it is accepted. Accepting records who (--by, default the OS
user) and when; the branch then goes on from the first record still on the broker.
`;

runMain('cli', async () => {
  const [command, sub, ...rest] = process.argv.slice(2);
  const argv = command === 'rejected' || command === 'parked' || command === 'gaps' ? rest : process.argv.slice(3);
  if (!command || command === '--help' || command === 'help') {
    process.stdout.write(HELP);
    return command ? 0 : 2;
  }
  const flags = parseFlags(argv, {
    ...CONNECTION_FLAGS,
    ...TOPIC_FLAGS,
    partitions: { type: 'string' },
    branch: { type: 'string' },
    'older-than': { type: 'string' },
    reason: { type: 'string' },
    limit: { type: 'string' },
    id: { type: 'string' },
    value: { type: 'string' },
    json: { type: 'boolean' },
    open: { type: 'boolean' },
    by: { type: 'string' },
  });
  const problems: Problems = [];
  const common = {
    ...readConnections(problems, flags),
    ...readTopics(problems, flags),
  };
  if (command === 'status') {
    const parsed = parsePartitionList(flags.partitions ?? `0-${DEFAULTS.partitions - 1}`);
    problems.push(...parsed.problems);
    if (problems.length > 0) throw new ConfigError(problems);
    return withPrisma(common.databaseUrl, (prisma) => status(prisma, common, parsed.partitions, Boolean(flags.json)));
  }
  if (command === 'rejected' && sub === 'list') {
    const branch =
      flags.branch === undefined
        ? undefined
        : integerOption(problems, 'branch', flags.branch, 0, { min: 0, max: 9999 });
    const limit = integerOption(problems, 'limit', flags.limit, 50, { min: 1, max: 10_000 });
    if (problems.length > 0) throw new ConfigError(problems);
    return withPrisma(common.databaseUrl, (prisma) =>
      listRejected(prisma, { branch, reason: flags.reason, limit, json: Boolean(flags.json) }),
    );
  }
  if (command === 'parked' && sub === 'list') {
    const branch =
      flags.branch === undefined
        ? undefined
        : integerOption(problems, 'branch', flags.branch, 0, { min: 0, max: 9999 });
    const olderThan = integerOption(problems, 'older-than', flags['older-than'], 0, { min: 0, max: 10 ** 9 });
    const limit = integerOption(problems, 'limit', flags.limit, 50, { min: 1, max: 10_000 });
    if (problems.length > 0) throw new ConfigError(problems);
    return withPrisma(common.databaseUrl, (prisma) =>
      listParked(prisma, { branch, olderThan, limit, json: Boolean(flags.json) }),
    );
  }
  if (command === 'gaps' && sub === 'list') {
    const branch =
      flags.branch === undefined
        ? undefined
        : integerOption(problems, 'branch', flags.branch, 0, { min: 0, max: 9999 });
    if (problems.length > 0) throw new ConfigError(problems);
    return withPrisma(common.databaseUrl, (prisma) =>
      printGaps(prisma, branch, Boolean(flags.open), Boolean(flags.json)),
    );
  }
  if (command === 'gaps' && sub === 'accept') {
    const branch = integerOption(problems, 'branch', flags.branch, 0, { min: 0, max: 9999 });
    if (flags.branch === undefined) problems.push('--branch is required');
    if (problems.length > 0) throw new ConfigError(problems);
    const by = flags.by ?? os.userInfo().username;
    return withPrisma(common.databaseUrl, async (prisma) => {
      const accepted = await acceptGaps(prisma, [common.customersTopic, common.transactionsTopic], branch, by);
      if (accepted.length === 0) process.stdout.write(`branch ${branch} has no open offset gap\n`);
      for (const gap of accepted) process.stdout.write(`accepted ${describeGapRow(gap)} (by ${oneLine(by)})\n`);
      return 0;
    });
  }
  if (command === 'rejected' && sub === 'redrive') {
    const id = integerOption(problems, 'id', flags.id, 0, { min: 1, max: Number.MAX_SAFE_INTEGER });
    if (flags.id === undefined) problems.push('--id is required');
    if (flags.value === undefined) problems.push('--value is required: the corrected record, as JSON');
    if (problems.length > 0) throw new ConfigError(problems);
    return withPrisma(common.databaseUrl, (prisma) => redrive(prisma, common, BigInt(id), flags.value!));
  }
  throw new ConfigError([`unknown command "${[command, sub].filter(Boolean).join(' ')}"; see --help`]);
});

async function withPrisma(databaseUrl: string, action: (prisma: PrismaClient) => Promise<number>): Promise<number> {
  const prisma = createPrisma(databaseUrl, 1);
  try {
    return await action(prisma);
  } catch (err) {
    // A database failure is one line saying what failed (and where), not a Prisma stack.
    throw toDatabaseError(err);
  } finally {
    await prisma.$disconnect();
  }
}

interface Topics {
  kafka: KafkaConnection;
  customersTopic: string;
  transactionsTopic: string;
}

async function status(prisma: PrismaClient, topics: Topics, partitions: number[], json: boolean): Promise<number> {
  const offsets = await prisma.consumerOffset.findMany({
    where: { partition: { in: partitions }, topic: { in: [topics.customersTopic, topics.transactionsTopic] } },
  });
  const parked = await prisma.$queryRaw<{ branch: number; n: bigint; oldest: number | null; waiting: bigint[] }[]>`
    SELECT kafka_partition AS branch, count(*) AS n, extract(epoch FROM now() - min(parked_at))::float8 AS oldest,
           (array_agg(DISTINCT custid ORDER BY custid))[1:10] AS waiting
      FROM parked_transaction WHERE kafka_topic = ${topics.transactionsTopic} GROUP BY 1`;
  const rejected = await prisma.$queryRaw<
    { branch: number; n: bigint }[]
  >`SELECT kafka_partition AS branch, count(*) AS n FROM rejected_event GROUP BY 1`;
  const openGaps = await listGaps(prisma, { openOnly: true });
  const leases = await prisma.$queryRaw<
    { branch: number; owner: string; expired: boolean; stalled_reason: string | null; stalled_since: Date | null }[]
  >`
    SELECT "partition" AS branch, owner, expires_at < now() AS expired, stalled_reason, stalled_since
      FROM branch_lease WHERE transactions_topic = ${topics.transactionsTopic}`;
  // Lag needs the broker; everything else comes from Postgres. Without a broker within a couple
  // of seconds, status still shows what it can and marks the lag as unknown.
  let kafkaProblem: string | undefined;
  const admin = await TopicAdmin.connect(topics.kafka, 2_000).catch((err: unknown) => {
    kafkaProblem = (err as Error).message;
    return undefined;
  });
  const rows = [];
  try {
    for (const branch of partitions) {
      const stored = (topic: string) => offsets.find((o) => o.topic === topic && o.partition === branch);
      const lagOf = async (topic: string) =>
        admin ? Math.max(0, (await admin.highWatermark(topic, branch)) - Number(stored(topic)?.nextOffset ?? 0)) : null;
      const lags = [await lagOf(topics.customersTopic), await lagOf(topics.transactionsTopic)];
      const commits = [stored(topics.customersTopic)?.updatedAt, stored(topics.transactionsTopic)?.updatedAt].filter(
        (d): d is Date => d !== undefined,
      );
      const p = parked.find((r) => r.branch === branch);
      rows.push({
        branch,
        customersOffset: Number(stored(topics.customersTopic)?.nextOffset ?? 0),
        transactionsOffset: Number(stored(topics.transactionsTopic)?.nextOffset ?? 0),
        lag: lags.some((l) => l === null) ? null : lags.reduce((a, b) => (a ?? 0) + (b ?? 0), 0),
        parked: Number(p?.n ?? 0),
        oldestParkedSeconds: p?.oldest == null ? null : Math.round(p.oldest),
        waitingForCustomers: (p?.waiting ?? []).map(Number),
        rejected: Number(rejected.find((r) => r.branch === branch)?.n ?? 0),
        lastCommit: commits.length ? new Date(Math.max(...commits.map((d) => d.getTime()))).toISOString() : null,
        owner: leases.find((l) => l.branch === branch && !l.expired)?.owner ?? null,
        why: whyNotMoving(
          branch,
          openGaps.filter(
            (g) =>
              g.partition === branch && (g.topic === topics.customersTopic || g.topic === topics.transactionsTopic),
          ),
          leases.find((l) => l.branch === branch),
        ),
      });
    }
  } finally {
    await admin?.close();
  }
  if (json) {
    process.stdout.write(`${JSON.stringify(rows)}\n`);
    return 0;
  }
  if (kafkaProblem) process.stdout.write(`lag unknown (-): ${oneLine(kafkaProblem)}\n`);
  const cols = ['branch', 'cust offset', 'tx offset', 'lag', 'parked', 'oldest s', 'rejected', 'last commit'];
  const w = [6, 11, 10, 8, 7, 9, 9, 24];
  const line = (cells: (string | number | null)[]) => cells.map((c, i) => String(c ?? '-').padStart(w[i]!)).join(' ');
  process.stdout.write(`${line(cols)}\n`);
  for (const r of rows)
    process.stdout.write(
      `${line([r.branch, r.customersOffset, r.transactionsOffset, r.lag, r.parked, r.oldestParkedSeconds, r.rejected, r.lastCommit])}\n`,
    );
  // The reasons are long: one line each under the table, only for branches that have one.
  for (const r of rows) if (r.why) process.stdout.write(`branch ${r.branch}: ${oneLine(r.why)}\n`);
  for (const r of rows) {
    if (r.parked === 0) continue;
    const more = r.waitingForCustomers.length === 10 ? ', ...' : '';
    process.stdout.write(
      `branch ${r.branch}: ${r.parked} transactions wait for customers ${r.waitingForCustomers.join(', ')}${more}, not created yet on ${oneLine(topics.customersTopic)} (see parked list)\n`,
    );
  }
  return 0;
}

async function listRejected(
  prisma: PrismaClient,
  filter: { branch: number | undefined; reason: string | undefined; limit: number; json: boolean },
): Promise<number> {
  const rows = await prisma.rejectedEvent.findMany({
    where: {
      ...(filter.branch === undefined ? {} : { kafkaPartition: filter.branch }),
      ...(filter.reason ? { reasonCode: filter.reason } : {}),
    },
    orderBy: { id: 'asc' },
    take: filter.limit,
  });
  const view = rows.map((r) => ({
    id: Number(r.id),
    topic: r.kafkaTopic,
    branch: r.kafkaPartition,
    offset: Number(r.kafkaOffset),
    reason: r.reasonCode,
    detail: r.detail,
    rejectedAt: r.rejectedAt.toISOString(),
    value: r.rawValue ? Buffer.from(r.rawValue).toString('utf8').slice(0, 200) : null,
  }));
  if (filter.json) process.stdout.write(`${JSON.stringify(view)}\n`);
  else {
    if (view.length === 0) process.stdout.write('no rejected records\n');
    for (const v of view)
      process.stdout.write(
        `#${v.id} ${oneLine(v.topic)}[${v.branch}]@${v.offset} ${oneLine(v.reason)}: ${oneLine(v.detail)}\n    value: ${oneLine(JSON.stringify(v.value))}\n`,
      );
  }
  return 0;
}

async function listParked(
  prisma: PrismaClient,
  filter: { branch: number | undefined; olderThan: number; limit: number; json: boolean },
): Promise<number> {
  const rows = await prisma.parkedTransaction.findMany({
    where: {
      ...(filter.branch === undefined ? {} : { kafkaPartition: filter.branch }),
      parkedAt: { lte: new Date(Date.now() - filter.olderThan * 1000) },
    },
    orderBy: [{ kafkaPartition: 'asc' }, { kafkaOffset: 'asc' }],
    take: filter.limit,
  });
  const view = rows.map((r) => ({
    id: Number(r.id),
    branch: r.kafkaPartition,
    offset: Number(r.kafkaOffset),
    custid: Number(r.custid),
    kind: r.kind,
    amountCents: Number(r.amountCents),
    parkedAt: r.parkedAt.toISOString(),
    waitingSeconds: Math.round((Date.now() - r.parkedAt.getTime()) / 1000),
  }));
  if (filter.json) process.stdout.write(`${JSON.stringify(view)}\n`);
  else {
    if (view.length === 0) process.stdout.write('no parked transactions\n');
    for (const v of view)
      process.stdout.write(
        `#${v.id} branch ${v.branch}@${v.offset} customer ${v.custid} ${v.kind} ${v.amountCents} cents, waiting ${v.waitingSeconds} s\n`,
      );
  }
  return 0;
}

/** Why a branch is not moving, as far as Postgres knows; null when nothing says it is stuck. */
function whyNotMoving(
  branch: number,
  gaps: GapRow[],
  lease: { owner: string; expired: boolean; stalled_reason: string | null; stalled_since: Date | null } | undefined,
): string | null {
  if (gaps.length > 0)
    return `stopped on ${gaps.map((g) => `gap #${g.id}`).join(', ')}: see cli gaps list, accept with cli gaps accept --branch ${branch}`;
  if (lease && !lease.expired && lease.stalled_reason)
    return `${lease.stalled_reason} (since ${lease.stalled_since?.toISOString() ?? '?'})`;
  if (!lease) return 'no supervisor has owned this branch yet';
  if (lease.expired)
    return `no live owner: the lease of ${lease.owner} expired (stopped, or it cannot reach the database)`;
  return null;
}

function describeGapRow(g: GapRow): string {
  const where = `${oneLine(g.topic)}[${g.partition}]`;
  return g.kind === 'deleted'
    ? `gap #${g.id} ${where}: offsets ${g.expected_offset} to ${Number(g.first_available_offset) - 1} deleted before the branch read them`
    : `gap #${g.id} ${where}: stored offset ${g.expected_offset} beyond the log end ${g.log_end_offset} (topic recreated?)`;
}

async function printGaps(
  prisma: PrismaClient,
  branch: number | undefined,
  openOnly: boolean,
  json: boolean,
): Promise<number> {
  const rows = await listGaps(prisma, { partition: branch, openOnly });
  if (json) {
    const view = rows.map((g) => ({
      id: Number(g.id),
      topic: g.topic,
      branch: g.partition,
      kind: g.kind,
      expectedOffset: Number(g.expected_offset),
      firstAvailableOffset: Number(g.first_available_offset),
      logEndOffset: Number(g.log_end_offset),
      detectedAt: g.detected_at.toISOString(),
      acceptedAt: g.accepted_at?.toISOString() ?? null,
      acceptedBy: g.accepted_by,
    }));
    process.stdout.write(`${JSON.stringify(view)}\n`);
    return 0;
  }
  if (rows.length === 0) process.stdout.write(openOnly ? 'no open offset gaps\n' : 'no offset gaps\n');
  for (const g of rows) {
    const state = g.accepted_at
      ? `accepted ${g.accepted_at.toISOString()} by ${oneLine(g.accepted_by ?? '?')}`
      : `OPEN since ${g.detected_at.toISOString()}: the branch is stopped`;
    process.stdout.write(`${describeGapRow(g)}; ${state}\n`);
  }
  return 0;
}

async function redrive(prisma: PrismaClient, topics: Topics, id: bigint, correctedValue: string): Promise<number> {
  const original = await prisma.rejectedEvent.findUnique({ where: { id } });
  if (!original)
    throw new IngesterError(ERROR_CODES.DATABASE_ERROR, `rejected record ${id} does not exist (already re-driven?)`);
  const value = Buffer.from(correctedValue);
  const check =
    original.kafkaTopic === topics.customersTopic
      ? parseCustomer(value, Infinity)
      : original.kafkaTopic === topics.transactionsTopic
        ? parseTransaction(value, Infinity)
        : undefined;
  if (!check)
    throw new ConfigError([
      `record ${id} came from topic ${original.kafkaTopic}, which is neither --customers-topic nor --transactions-topic`,
    ]);
  if (!check.ok)
    throw new IngesterError(
      ERROR_CODES.INVALID_RECORD,
      `the corrected value is still not acceptable: ${check.reason}: ${check.detail}`,
    );
  const source = {
    topic: original.kafkaTopic,
    partition: original.kafkaPartition,
    offset: Number(original.kafkaOffset),
    key: original.rawKey ? Buffer.from(original.rawKey) : null,
    value,
    timestamp: undefined,
  };
  const batch = assembleBatch(
    [source],
    { customers: topics.customersTopic, transactions: topics.transactionsTopic },
    Infinity,
  );
  // The branch's consumed offsets are already past this record: a re-drive must not move them.
  batch.nextOffsets.clear();
  const outcome = await writeBatch(prisma, batch, {
    partition: original.kafkaPartition,
    transactionsTopic: topics.transactionsTopic,
    checkParked: false,
    replacesRejectedId: id,
  });
  const what = outcome.customersCreated
    ? 'customer created'
    : outcome.posted
      ? 'transaction posted'
      : outcome.parked
        ? 'transaction parked until its customer exists'
        : outcome.rejected
          ? `rejected again (${Object.keys(outcome.rejectedByReason).join(', ')})`
          : 'no change (the customer already exists with this data)';
  process.stdout.write(
    `re-drove #${id} (${original.kafkaTopic}[${original.kafkaPartition}]@${original.kafkaOffset}): ${what}\n`,
  );
  return 0;
}
