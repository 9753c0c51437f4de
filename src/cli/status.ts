// `cli status`: per branch, its owner, stored offsets, lag, parked and rejected records, last
// commit, and why it does not move when something says so. Exits STATUS_NEEDS_ATTENTION when any
// branch listed is stopped, stalled or on an open gap, so scripts and runbooks can act on it.
import { DEFAULTS } from '../config/defaults.js';
import { ConfigError } from '../core/errors.js';
import { parsePartitionList } from '../core/partition-list.js';
import type { PrismaClient } from '../db/prisma.js';
import { branchLeases, type LeaseRow, parkedStats, readOffsetRows, rejectedCounts } from '../db/read-queries.js';
import { listGaps, type GapRow } from '../ingest/offset-gaps.js';
import { TopicAdmin } from '../kafka/topic-admin.js';
import type { Command, CommandContext } from './command.js';
import { oneLine, printJson, say } from './output.js';
import { withDatabase } from './with-database.js';

/** Exit code of `status` when at least one branch is stopped, stalled or on an open offset gap. */
export const STATUS_NEEDS_ATTENTION = 3;

export const statusCommand: Command = {
  words: ['status'],
  synopsis: 'node dist/cli.js status [--partitions 0-7] [--json]',
  help: `Per branch: owner, stored offsets, lag, parked and rejected records, last commit, and why
it does not move when something says so. Lag needs the broker; without one within 2 s the rest
is shown and lag is unknown.

Exit codes: 0 every branch listed has a live owner and nothing stops it; ${STATUS_NEEDS_ATTENTION} at least one is
stopped (no live owner), stalled (its owner says why, e.g. a schema problem) or on an open offset
gap; 1 the command failed (the database cannot be reached); 2 a usage error.`,
  flags: { partitions: { type: 'string' } },
  async run({ connections, flags, json }: CommandContext): Promise<number> {
    const parsed = parsePartitionList(String(flags.partitions ?? `0-${DEFAULTS.partitions - 1}`));
    if (parsed.problems.length > 0) throw new ConfigError(parsed.problems);
    const rows = await withDatabase(connections.databaseUrl, (prisma) =>
      readStatus(prisma, connections, parsed.partitions),
    );
    const lag = await readLag(connections, rows);
    for (const row of rows) row.lag = lag.byBranch.get(row.branch) ?? null;
    const attention = rows.some((r) => r.state !== 'ok');
    if (json) printJson(rows);
    else printTable(rows, lag.problem, connections.customersTopic);
    return attention ? STATUS_NEEDS_ATTENTION : 0;
  },
};

interface StatusRow {
  branch: number;
  /** ok, or why the branch needs an operator's attention. */
  state: 'ok' | 'stopped' | 'stalled' | 'gap';
  customersOffset: number;
  transactionsOffset: number;
  lag: number | null;
  parked: number;
  oldestParkedSeconds: number | null;
  waitingForCustomers: number[];
  rejected: number;
  lastCommit: string | null;
  owner: string | null;
  why: string | null;
}

type Topics = CommandContext['connections'];

async function readStatus(prisma: PrismaClient, topics: Topics, partitions: number[]): Promise<StatusRow[]> {
  const bothTopics = [topics.customersTopic, topics.transactionsTopic];
  const offsets = await readOffsetRows(prisma, bothTopics, partitions);
  const rejected = await rejectedCounts(prisma);
  const openGaps = await listGaps(prisma, { openOnly: true });
  const leases = await branchLeases(prisma, topics.transactionsTopic);
  const rows: StatusRow[] = [];
  for (const branch of partitions) {
    const stored = (topic: string) => offsets.find((o) => o.topic === topic && o.partition === branch);
    const commits = bothTopics.map((t) => stored(t)?.updatedAt).filter((d): d is Date => d !== undefined);
    const parked = await parkedStats(prisma, { partition: branch, transactionsTopic: topics.transactionsTopic });
    const gaps = openGaps.filter((g) => g.partition === branch && bothTopics.includes(g.topic));
    const lease = leases.find((l) => l.partition === branch);
    const { state, why } = whyNotMoving(branch, gaps, lease);
    rows.push({
      branch,
      state,
      // As Kafka numbers them (the ledger's offsets are shifted after a recreated topic).
      customersOffset: kafkaNext(stored(topics.customersTopic)),
      transactionsOffset: kafkaNext(stored(topics.transactionsTopic)),
      lag: null,
      parked: parked.count,
      oldestParkedSeconds: parked.oldestAgeSeconds,
      waitingForCustomers: parked.waitingFor,
      rejected: rejected.get(branch) ?? 0,
      lastCommit: commits.length ? new Date(Math.max(...commits.map((d) => d.getTime()))).toISOString() : null,
      owner: lease && !lease.expired ? lease.owner : null,
      why,
    });
  }
  return rows;
}

function kafkaNext(row: { nextOffset: number; offsetBase: number } | undefined): number {
  return row === undefined ? 0 : row.nextOffset - row.offsetBase;
}

/** Log end minus stored offset over both topics, per branch; a problem when the broker is away. */
async function readLag(
  topics: Topics,
  rows: StatusRow[],
): Promise<{ byBranch: Map<number, number>; problem: string | undefined }> {
  const byBranch = new Map<number, number>();
  let admin: TopicAdmin;
  try {
    admin = await TopicAdmin.connect(topics.kafka, 2_000);
  } catch (err) {
    return { byBranch, problem: (err as Error).message };
  }
  try {
    for (const row of rows) {
      const customers = (await admin.highWatermark(topics.customersTopic, row.branch)) - row.customersOffset;
      const transactions = (await admin.highWatermark(topics.transactionsTopic, row.branch)) - row.transactionsOffset;
      byBranch.set(row.branch, Math.max(0, customers) + Math.max(0, transactions));
    }
  } finally {
    await admin.close();
  }
  return { byBranch, problem: undefined };
}

/** Why a branch is not moving, as far as Postgres knows; ok when nothing says it is stuck. */
function whyNotMoving(
  branch: number,
  gaps: GapRow[],
  lease: LeaseRow | undefined,
): { state: StatusRow['state']; why: string | null } {
  if (gaps.length > 0) {
    const ids = gaps.map((g) => `gap #${g.id}`).join(', ');
    return {
      state: 'gap',
      why: `stopped on ${ids}: see cli gaps list, accept with cli gaps accept --branch ${branch}`,
    };
  }
  if (lease && !lease.expired && lease.stalledReason) {
    return {
      state: 'stalled',
      why: `${lease.stalledReason} (since ${lease.stalledSince?.toISOString() ?? '?'})`,
    };
  }
  if (!lease) return { state: 'stopped', why: 'no supervisor has owned this branch yet' };
  if (lease.expired) {
    return {
      state: 'stopped',
      why: `no live owner: the lease of ${lease.owner} expired (stopped, or it cannot reach the database)`,
    };
  }
  return { state: 'ok', why: null };
}

function printTable(rows: StatusRow[], kafkaProblem: string | undefined, customersTopic: string): void {
  if (kafkaProblem) say(`lag unknown (-): ${oneLine(kafkaProblem)}`);
  const cols = ['branch', 'cust offset', 'tx offset', 'lag', 'parked', 'oldest s', 'rejected', 'last commit'];
  const widths = [6, 11, 10, 8, 7, 9, 9, 24];
  const line = (cells: (string | number | null)[]) =>
    cells.map((c, i) => String(c ?? '-').padStart(widths[i]!)).join(' ');
  say(line(cols));
  for (const r of rows) {
    say(
      line([
        r.branch,
        r.customersOffset,
        r.transactionsOffset,
        r.lag,
        r.parked,
        r.oldestParkedSeconds,
        r.rejected,
        r.lastCommit,
      ]),
    );
  }
  // The reasons are long: one line each under the table, only for branches that have one.
  for (const r of rows) if (r.why) say(`branch ${r.branch}: ${oneLine(r.why)}`);
  for (const r of rows) {
    if (r.parked === 0) continue;
    const more = r.waitingForCustomers.length === 10 ? ', ...' : '';
    say(
      `branch ${r.branch}: ${r.parked} transactions wait for customers ${r.waitingForCustomers.join(', ')}${more}, not created yet on ${oneLine(customersTopic)} (see parked list)`,
    );
  }
}
