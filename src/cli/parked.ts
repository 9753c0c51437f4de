// `cli parked list`: transactions waiting for their customer, oldest offset first per branch.
import { ConfigError } from '../core/errors.js';
import { integerOption, type Problems } from '../config/options.js';
import { optionalBranch } from './branch-option.js';
import type { Command, CommandContext } from './command.js';
import { printJson, say } from './output.js';
import { withDatabase } from './with-database.js';

export const parkedListCommand: Command = {
  words: ['parked', 'list'],
  synopsis: 'node dist/cli.js parked list [--branch N] [--by-customer] [--older-than S] [--limit 50] [--json]',
  help: `Transactions waiting for their customer, with how long each has waited. They need no
re-drive: their branch posts them as soon as the customer exists. --by-customer: one line per
branch and customer waited for, with how many wait and how long the oldest has, oldest first.`,
  flags: {
    branch: { type: 'string' },
    'by-customer': { type: 'boolean' },
    'older-than': { type: 'string' },
    limit: { type: 'string' },
  },
  async run({ connections, flags, json }: CommandContext): Promise<number> {
    const problems: Problems = [];
    const branch = optionalBranch(problems, flags.branch);
    const olderThan = integerOption(problems, 'older-than', flags['older-than'] as string | undefined, 0, {
      min: 0,
      max: 10 ** 9,
    });
    const limit = integerOption(problems, 'limit', flags.limit as string | undefined, 50, { min: 1, max: 10_000 });
    if (problems.length > 0) throw new ConfigError(problems);
    if (flags['by-customer']) return listByCustomer(connections.databaseUrl, { branch, olderThan, limit }, json);
    const rows = await withDatabase(connections.databaseUrl, (prisma) =>
      prisma.parkedTransaction.findMany({
        where: {
          ...(branch === undefined ? {} : { kafkaPartition: branch }),
          parkedAt: { lte: new Date(Date.now() - olderThan * 1000) },
        },
        orderBy: [{ kafkaPartition: 'asc' }, { kafkaOffset: 'asc' }],
        take: limit,
      }),
    );
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
    if (json) {
      printJson(view);
      return 0;
    }
    if (view.length === 0) say('no parked transactions');
    for (const v of view) {
      say(
        `#${v.id} branch ${v.branch}@${v.offset} customer ${v.custid} ${v.kind} ${v.amountCents} cents, waiting ${v.waitingSeconds} s`,
      );
    }
    return 0;
  },
};

/** One line per branch and customer waited for: how many transactions wait, and since when. */
async function listByCustomer(
  databaseUrl: string,
  options: { branch: number | undefined; olderThan: number; limit: number },
  json: boolean,
): Promise<number> {
  const rows = await withDatabase(
    databaseUrl,
    (prisma) => prisma.$queryRaw<
      { branch: number; custid: bigint; waiting: bigint; oldest: number; exists: boolean }[]
    >`
      SELECT kafka_partition AS branch, custid, count(*) AS waiting,
             extract(epoch FROM now() - min(parked_at))::float8 AS oldest,
             EXISTS (SELECT 1 FROM customer c WHERE c.custid = p.custid) AS exists
        FROM parked_transaction p
       WHERE (${options.branch ?? null}::int IS NULL OR kafka_partition = ${options.branch ?? null}::int)
       GROUP BY kafka_partition, custid
      HAVING extract(epoch FROM now() - min(parked_at)) >= ${options.olderThan}
       ORDER BY min(parked_at), kafka_partition, custid
       LIMIT ${options.limit}`,
  );
  const view = rows.map((r) => ({
    branch: r.branch,
    custid: Number(r.custid),
    waiting: Number(r.waiting),
    oldestWaitingSeconds: Math.round(r.oldest),
    customerExists: r.exists,
  }));
  if (json) {
    printJson(view);
    return 0;
  }
  if (view.length === 0) say('no parked transactions');
  for (const v of view)
    say(
      `branch ${v.branch} customer ${v.custid}: ${v.waiting} waiting, the oldest for ${v.oldestWaitingSeconds} s${v.customerExists ? ' (the customer exists: being posted)' : ''}`,
    );
  return 0;
}
