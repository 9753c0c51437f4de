// `cli rejected list` shows quarantined records; `cli rejected redrive` posts a corrected record
// in place of one, with its Kafka coordinates, deleting the rejected row in the same transaction.
import { ConfigError, ERROR_CODES, IngesterError } from '../core/errors.js';
import { integerOption, type Problems } from '../config/options.js';
import type { PrismaClient } from '../db/prisma.js';
import { assembleBatch } from '../ingest/batch.js';
import { writeBatch } from '../ingest/batch-writer.js';
import { parseCustomer, parseTransaction } from '../ingest/event-parser.js';
import { optionalBranch } from './branch-option.js';
import type { Command, CommandContext } from './command.js';
import { oneLine, printJson, say } from './output.js';
import { withDatabase } from './with-database.js';

export const rejectedListCommand: Command = {
  words: ['rejected', 'list'],
  synopsis: 'node dist/cli.js rejected list [--branch N] [--reason CODE] [--limit 50] [--json]',
  help: `Quarantined records, oldest first: id, coordinates, reason code, detail, and the start of
the raw value. The reason codes are listed in docs/operations.md.`,
  flags: { branch: { type: 'string' }, reason: { type: 'string' }, limit: { type: 'string' } },
  async run({ connections, flags, json }: CommandContext): Promise<number> {
    const problems: Problems = [];
    const branch = optionalBranch(problems, flags.branch);
    const limit = integerOption(problems, 'limit', flags.limit as string | undefined, 50, { min: 1, max: 10_000 });
    if (problems.length > 0) throw new ConfigError(problems);
    const reason = flags.reason as string | undefined;
    const rows = await withDatabase(connections.databaseUrl, (prisma) =>
      prisma.rejectedEvent.findMany({
        where: {
          ...(branch === undefined ? {} : { kafkaPartition: branch }),
          ...(reason ? { reasonCode: reason } : {}),
        },
        orderBy: { id: 'asc' },
        take: limit,
      }),
    );
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
    if (json) {
      printJson(view);
      return 0;
    }
    if (view.length === 0) say('no rejected records');
    for (const v of view) {
      say(`#${v.id} ${oneLine(v.topic)}[${v.branch}]@${v.offset} ${oneLine(v.reason)}: ${oneLine(v.detail)}`);
      say(`    value: ${oneLine(JSON.stringify(v.value))}`);
    }
    return 0;
  },
};

export const rejectedRedriveCommand: Command = {
  words: ['rejected', 'redrive'],
  synopsis: "node dist/cli.js rejected redrive --id N --value '<corrected JSON>' [--json]",
  help: `Posts the corrected record with the rejected record's Kafka coordinates and deletes the
rejected row in the same transaction: the ledger's unique coordinates and that delete make sure a
record is never posted twice. Parked transactions need no re-drive: their branch posts them as
soon as their customer exists. A corrected value that is still not acceptable exits 2.`,
  flags: { id: { type: 'string' }, value: { type: 'string' } },
  async run({ connections, flags, json }: CommandContext): Promise<number> {
    const problems: Problems = [];
    const id = integerOption(problems, 'id', flags.id as string | undefined, 0, {
      min: 1,
      max: Number.MAX_SAFE_INTEGER,
    });
    if (flags.id === undefined) problems.push('--id is required');
    if (flags.value === undefined) problems.push('--value is required: the corrected record, as JSON');
    if (problems.length > 0) throw new ConfigError(problems);
    const result = await withDatabase(connections.databaseUrl, (prisma) =>
      redrive(prisma, connections, BigInt(id), String(flags.value)),
    );
    if (json) printJson(result);
    else say(`re-drove #${id} (${oneLine(result.topic)}[${result.branch}]@${result.offset}): ${result.outcome}`);
    return 0;
  },
};

interface RedriveResult {
  id: number;
  topic: string;
  branch: number;
  offset: number;
  outcome: string;
  customersCreated: number;
  posted: number;
  parked: number;
  rejected: number;
}

async function redrive(
  prisma: PrismaClient,
  topics: CommandContext['connections'],
  id: bigint,
  correctedValue: string,
): Promise<RedriveResult> {
  const original = await prisma.rejectedEvent.findUnique({ where: { id } });
  if (!original) {
    throw new IngesterError(ERROR_CODES.DATABASE_ERROR, `rejected record ${id} does not exist (already re-driven?)`);
  }
  const value = Buffer.from(correctedValue);
  const check =
    original.kafkaTopic === topics.customersTopic
      ? parseCustomer(value, Infinity)
      : original.kafkaTopic === topics.transactionsTopic
        ? parseTransaction(value, Infinity)
        : undefined;
  if (!check) {
    throw new ConfigError([
      `record ${id} came from topic ${original.kafkaTopic}, which is neither --customers-topic nor --transactions-topic`,
    ]);
  }
  if (!check.ok) {
    throw new IngesterError(
      ERROR_CODES.INVALID_RECORD,
      `the corrected value is still not acceptable: ${check.reason}: ${check.detail}`,
    );
  }
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
  return {
    id: Number(id),
    topic: original.kafkaTopic,
    branch: original.kafkaPartition,
    offset: Number(original.kafkaOffset),
    outcome: what,
    customersCreated: outcome.customersCreated,
    posted: outcome.posted,
    parked: outcome.parked,
    rejected: outcome.rejected,
  };
}
