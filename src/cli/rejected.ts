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
import os from 'node:os';
import { toDatabaseError } from '../db/database-error.js';

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
  synopsis:
    "node dist/cli.js rejected redrive (--id N --value '<corrected JSON>' | --reason CODE [--branch N] [--limit 1000] [--dry-run]) [--by NAME] [--json]",
  help: `Posts a quarantined record again, with the rejected record's Kafka coordinates, deleting the
rejected row and writing who (--by, default the OS user) and when to redrive_log, all in one
transaction: the ledger's unique coordinates and that delete make sure a record is never posted
twice.

One record: --id N --value '<corrected JSON>' posts the corrected value; a value that is still
not acceptable exits 2.

In bulk, after a fix (a producer's bug worked around, a constraint lifted): --reason CODE and/or
--branch N take the records of that reason or branch, oldest first, up to --limit, and post each
one's original bytes again through today's parser. A record still not acceptable stays where it
is, and so does one Postgres refuses again; each is listed with why. --dry-run lists what would be
posted, and what would stay, without writing anything.

Parked transactions need no re-drive: their branch posts them as soon as their customer exists.`,
  flags: {
    id: { type: 'string' },
    value: { type: 'string' },
    reason: { type: 'string' },
    branch: { type: 'string' },
    limit: { type: 'string' },
    'dry-run': { type: 'boolean' },
    by: { type: 'string' },
  },
  async run({ connections, flags, json }: CommandContext): Promise<number> {
    const problems: Problems = [];
    const by = (flags.by as string | undefined) ?? os.userInfo().username;
    const bulk = flags.reason !== undefined || flags.branch !== undefined;
    if (bulk && (flags.id !== undefined || flags.value !== undefined)) {
      problems.push('give either --id with --value, or --reason / --branch for a bulk re-drive, not both');
    }
    if (!bulk) {
      const id = integerOption(problems, 'id', flags.id as string | undefined, 0, {
        min: 1,
        max: Number.MAX_SAFE_INTEGER,
      });
      if (flags.id === undefined) problems.push('--id is required (or --reason / --branch for a bulk re-drive)');
      if (flags.value === undefined) problems.push('--value is required: the corrected record, as JSON');
      if (flags['dry-run']) problems.push('--dry-run goes with a bulk re-drive (--reason / --branch)');
      if (problems.length > 0) throw new ConfigError(problems);
      const result = await withDatabase(connections.databaseUrl, async (prisma) => {
        const original = await prisma.rejectedEvent.findUnique({ where: { id: BigInt(id) } });
        if (!original) {
          throw new IngesterError(
            ERROR_CODES.DATABASE_ERROR,
            `rejected record ${id} does not exist (already re-driven?)`,
          );
        }
        const check = validate(original, Buffer.from(String(flags.value)), connections);
        if (!check.ok) {
          throw new IngesterError(
            ERROR_CODES.INVALID_RECORD,
            `the corrected value is still not acceptable: ${check.reason}: ${check.detail}`,
          );
        }
        return redriveOne(prisma, connections, original, Buffer.from(String(flags.value)), by);
      });
      if (json) printJson(result);
      else say(`re-drove #${id} (${oneLine(result.topic)}[${result.branch}]@${result.offset}): ${result.outcome}`);
      return 0;
    }
    const branch = optionalBranch(problems, flags.branch);
    const limit = integerOption(problems, 'limit', flags.limit as string | undefined, 1000, { min: 1, max: 100_000 });
    if (problems.length > 0) throw new ConfigError(problems);
    const dryRun = Boolean(flags['dry-run']);
    const reason = flags.reason as string | undefined;
    const results = await withDatabase(connections.databaseUrl, (prisma) =>
      bulkRedrive(prisma, connections, { reason, branch, limit, dryRun, by }),
    );
    if (json) {
      printJson(results);
      return 0;
    }
    if (results.length === 0) say('no rejected records match');
    for (const r of results) say(`#${r.id} ${oneLine(r.topic)}[${r.branch}]@${r.offset}: ${oneLine(r.outcome)}`);
    const done = results.filter((r) => r.redriven).length;
    say(
      dryRun
        ? `dry run: ${results.filter((r) => r.acceptable).length} of ${results.length} would be re-driven; nothing was written`
        : `${done} of ${results.length} re-driven (by ${oneLine(by)}); the others stay in rejected_event`,
    );
    return 0;
  },
};

type Original = NonNullable<Awaited<ReturnType<PrismaClient['rejectedEvent']['findUnique']>>>;

interface RedriveResult {
  id: number;
  topic: string;
  branch: number;
  offset: number;
  /** Today's parser takes the value. */
  acceptable: boolean;
  /** Posted (or parked, or a customer created): the rejected row is gone. */
  redriven: boolean;
  outcome: string;
  customersCreated: number;
  posted: number;
  parked: number;
  rejected: number;
}

/** The record's value through today's parser for its topic. */
function validate(original: Original, value: Buffer, topics: CommandContext['connections']) {
  if (original.kafkaTopic === topics.customersTopic) return parseCustomer(value, Infinity);
  if (original.kafkaTopic === topics.transactionsTopic) return parseTransaction(value, Infinity);
  throw new ConfigError([
    `record ${original.id} came from topic ${original.kafkaTopic}, which is neither --customers-topic nor --transactions-topic`,
  ]);
}

function resultOf(original: Original, fields: Partial<RedriveResult> & { outcome: string }): RedriveResult {
  return {
    id: Number(original.id),
    topic: original.kafkaTopic,
    branch: original.kafkaPartition,
    offset: Number(original.kafkaOffset),
    acceptable: false,
    redriven: false,
    customersCreated: 0,
    posted: 0,
    parked: 0,
    rejected: 0,
    ...fields,
  };
}

/** Posts `value` in place of the rejected record, recording who did; one transaction. */
async function redriveOne(
  prisma: PrismaClient,
  topics: CommandContext['connections'],
  original: Original,
  value: Buffer,
  by: string,
): Promise<RedriveResult> {
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
  batch.fingerprints.clear();
  const outcome = await writeBatch(prisma, batch, {
    partition: original.kafkaPartition,
    transactionsTopic: topics.transactionsTopic,
    checkParked: false,
    replacesRejectedId: original.id,
    redrivenBy: by,
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
  return resultOf(original, {
    acceptable: true,
    redriven: true,
    outcome: what,
    customersCreated: outcome.customersCreated,
    posted: outcome.posted,
    parked: outcome.parked,
    rejected: outcome.rejected,
  });
}

/** The records of a reason or branch, oldest first, through today's parser and posted again. */
async function bulkRedrive(
  prisma: PrismaClient,
  topics: CommandContext['connections'],
  select: { reason: string | undefined; branch: number | undefined; limit: number; dryRun: boolean; by: string },
): Promise<RedriveResult[]> {
  const rows = await prisma.rejectedEvent.findMany({
    where: {
      ...(select.branch === undefined ? {} : { kafkaPartition: select.branch }),
      ...(select.reason ? { reasonCode: select.reason } : {}),
    },
    orderBy: { id: 'asc' },
    take: select.limit,
  });
  const results: RedriveResult[] = [];
  for (const original of rows) {
    const value = Buffer.from(original.rawValue ?? Buffer.alloc(0));
    const check = validate(original, value, topics);
    if (!check.ok) {
      results.push(resultOf(original, { outcome: `still not acceptable: ${check.reason}: ${check.detail}` }));
    } else if (select.dryRun) {
      results.push(resultOf(original, { acceptable: true, outcome: 'would be re-driven' }));
    } else {
      try {
        results.push(await redriveOne(prisma, topics, original, value, select.by));
      } catch (err) {
        // Postgres refuses it again: it stays quarantined, and the next record is tried.
        const refused = toDatabaseError(err);
        if (refused.errorClass !== 'isolate') throw refused;
        results.push(
          resultOf(original, { acceptable: true, outcome: `refused by Postgres again: ${refused.message}` }),
        );
      }
    }
  }
  return results;
}
