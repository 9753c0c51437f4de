// `cli audit --branch N`: proof, not metrics, that a branch holds every record exactly once. It
// re-reads the branch's partition of both topics from Kafka and shows each offset accounted for
// once (a ledger, customer, parked or rejected row, a repeated customer creation, an accepted
// gap, a transaction marker, or a record not read yet), then that every customer created on the
// branch has a balance equal to its ledger sum. Kafka and Postgres are read a chunk of offsets at
// a time, so memory stays bounded on a branch of millions of records.
import { ConfigError } from '../core/errors.js';
import type { Problems } from '../config/options.js';
import {
  balanceMismatches,
  existingCustomers,
  rowsAtOffsets,
  rowsFrom,
  type BalanceMismatch,
} from '../db/audit-queries.js';
import { readCursors } from '../db/read-queries.js';
import type { PrismaClient } from '../db/prisma.js';
import { BranchConsumer } from '../kafka/branch-consumer.js';
import type { RawRecord } from '../kafka/raw-record.js';
import { INTEGER_SETTINGS } from '../config/settings.js';
import { parseCustomer } from '../ingest/event-parser.js';
import { listGaps } from '../ingest/offset-gaps.js';
import { requiredBranch } from './branch-option.js';
import type { Command, CommandContext } from './command.js';
import { accountFor, type Account, type OffsetFacts } from './offset-accounting.js';
import { printJson, say } from './output.js';
import { withDatabase } from './with-database.js';

/** Exit code when any offset is not accounted for exactly once, or any balance is off. */
export const AUDIT_FOUND_DISCREPANCIES = 3;

/** Offsets per chunk: one Kafka read and one query per table for each. */
const CHUNK = 5_000;
/** Discrepancies listed one by one; past this only counted. */
const LISTED = 100;
/** How long the partition may give nothing before its log end is reached. */
const READ_STALL_MS = 15_000;

export const auditCommand: Command = {
  words: ['audit'],
  synopsis: 'node dist/cli.js audit --branch N [--from OFFSET] [--json]',
  help: `Re-reads the branch's partition of both topics from Kafka (from --from, default the start of
the current topic) up to the log end as it is now, and shows that every offset is accounted for
exactly once: a ledger, customer, parked or rejected row, a repeated customer creation, an accepted
offset gap, a transaction marker, or a record not read yet. Then checks that every customer
created on the branch has a balance equal to its ledger sum. Prints a summary per topic and each
discrepancy (the first ${LISTED}). Offsets are the ledger's (as Kafka numbers them unless the topic was
recreated, see cli gaps list).

Exit codes: 0 everything accounted for; ${AUDIT_FOUND_DISCREPANCIES} at least one discrepancy; 1 the command failed
(Kafka or the database cannot be read); 2 a usage error.`,
  flags: { branch: { type: 'string' }, from: { type: 'string' } },
  async run({ connections, flags, json }: CommandContext): Promise<number> {
    const problems: Problems = [];
    const branch = requiredBranch(problems, flags.branch);
    const from = flags.from === undefined ? undefined : Number(flags.from);
    if (from !== undefined && !(Number.isSafeInteger(from) && from >= 0))
      problems.push(`from must be a whole number of 0 or more, got "${String(flags.from)}"`);
    if (problems.length > 0) throw new ConfigError(problems);
    const report = await withDatabase(connections.databaseUrl, async (prisma) => {
      const topics = [];
      for (const topic of [connections.customersTopic, connections.transactionsTopic])
        topics.push(await auditTopic(prisma, connections, topic, branch, from));
      const balances = await balanceMismatches(prisma, connections.customersTopic, branch, LISTED);
      return { branch, topics, balances };
    });
    const found = report.topics.reduce((n, t) => n + t.discrepancies, 0) + report.balances.count;
    if (json) printJson(report);
    else printReport(report);
    return found > 0 ? AUDIT_FOUND_DISCREPANCIES : 0;
  },
};

interface TopicAudit {
  topic: string;
  partition: number;
  /** The ledger offsets audited: from..to, to exclusive (the log end when the audit began). */
  from: number;
  to: number;
  storedNextOffset: number;
  counts: Record<Account, number>;
  discrepancies: number;
  listed: { offset: number; problem: string }[];
}

async function auditTopic(
  prisma: PrismaClient,
  connections: CommandContext['connections'],
  topic: string,
  partition: number,
  fromFlag: number | undefined,
): Promise<TopicAudit> {
  const cursor = (await readCursors(prisma, [topic], partition)).get(topic);
  const base = cursor?.offsetBase ?? 0;
  const gaps = (await listGaps(prisma, { partition, openOnly: false })).filter(
    // A gap a recreated topic superseded lies in the old topic's offsets, not the new one's.
    (g) => g.topic === topic && g.kind === 'deleted' && g.accepted_at !== null && g.superseded_by === null,
  );
  const consumer = await BranchConsumer.connect({
    kafka: connections.kafka,
    partition,
    topics: [topic],
    lingerMs: 10,
    maxBatchBytes: 64 * 1024 * 1024,
    pacing: { fetchWaitMs: 100, idleWaitMs: 500 },
  });
  try {
    consumer.useOffsetBases(new Map([[topic, base]]));
    const marks = await consumer.watermarks(topic);
    const audit: TopicAudit = {
      topic,
      partition,
      from: Math.max(fromFlag ?? base, base),
      to: marks.high,
      // A branch that never committed on the topic starts at its beginning: nothing read yet.
      storedNextOffset: cursor?.nextOffset ?? base,
      counts: { ledger: 0, customer: 0, parked: 0, rejected: 0, repeat: 0, gap: 0, marker: 0, unread: 0 },
      discrepancies: 0,
      listed: [],
    };
    const tally = (offset: number, facts: Omit<OffsetFacts, 'unread'>) => {
      const verdict = accountFor({ ...facts, unread: offset >= audit.storedNextOffset });
      if ('account' in verdict) audit.counts[verdict.account]++;
      else discrepancy(audit, offset, verdict.problem);
    };
    const gapCovers = (offset: number) =>
      gaps.some((g) => offset >= Number(g.expected_offset) && offset < Number(g.first_available_offset));

    // Deleted from Kafka (below the log start): rows or accepted gaps must account for them.
    const deletedEnd = Math.min(marks.low, audit.to);
    for (let start = audit.from; start < deletedEnd; start += CHUNK) {
      const end = Math.min(start + CHUNK, deletedEnd);
      const rows = await rowsAtOffsets(prisma, topic, partition, start, end - 1);
      for (let offset = start; offset < end; offset++)
        tally(offset, {
          rows: rows.get(offset) ?? [],
          inKafka: false,
          deleted: true,
          gapAccepted: gapCovers(offset),
          repeatOfKnownCustomer: false,
        });
    }

    // Still on Kafka: read them back, a chunk at a time.
    let expected = Math.max(audit.from, marks.low);
    if (expected < audit.to) consumer.assign(new Map([[topic, expected]]));
    let idleSince = Date.now();
    while (expected < audit.to) {
      const records = (await consumer.consume(CHUNK)).filter((r) => r.offset < audit.to);
      if (records.length === 0) {
        // Markers at the end of the log deliver nothing: the consumer's position says it is there.
        if ((consumer.position(topic) ?? 0) >= audit.to) break;
        if (Date.now() - idleSince > READ_STALL_MS) {
          for (let offset = expected; offset < audit.to; offset++)
            discrepancy(audit, offset, 'could not be read back from Kafka');
          expected = audit.to;
        }
        continue;
      }
      idleSince = Date.now();
      const last = records[records.length - 1]!.offset;
      const rows = await rowsAtOffsets(prisma, topic, partition, expected, last);
      const known = await repeatedCustomers(prisma, records, rows, topic === connections.customersTopic);
      for (const record of records) {
        for (; expected < record.offset; expected++) tally(expected, markerFacts(rows.get(expected)));
        tally(record.offset, {
          rows: rows.get(record.offset) ?? [],
          inKafka: true,
          deleted: false,
          gapAccepted: false,
          repeatOfKnownCustomer: known.has(record.offset),
        });
        expected = record.offset + 1;
      }
    }
    // Whatever the log end holds past the last record delivered: markers.
    if (expected < audit.to) {
      const rows = await rowsAtOffsets(prisma, topic, partition, expected, audit.to - 1);
      for (; expected < audit.to; expected++) tally(expected, markerFacts(rows.get(expected)));
    }
    const beyond = await rowsFrom(prisma, topic, partition, audit.to);
    if (beyond > 0) discrepancy(audit, audit.to, `${beyond} row(s) at or past the log end`);
    return audit;
  } finally {
    await consumer.disconnect();
  }
}

function markerFacts(rows: OffsetFacts['rows'] | undefined): Omit<OffsetFacts, 'unread'> {
  return { rows: rows ?? [], inKafka: false, deleted: false, gapAccepted: false, repeatOfKnownCustomer: false };
}

/**
 * Offsets of customer creations without a row of their own whose customer exists: a repeat the
 * writer skipped because it carried the same data (a repeat with other data is a rejected row).
 */
async function repeatedCustomers(
  prisma: PrismaClient,
  records: readonly RawRecord[],
  rows: ReadonlyMap<number, unknown[]>,
  customersTopic: boolean,
): Promise<Set<number>> {
  if (!customersTopic) return new Set();
  const custids = new Map<number, number>();
  for (const record of records) {
    if (rows.has(record.offset)) continue;
    const parsed = parseCustomer(record.value, INTEGER_SETTINGS.maxPayloadBytes.max);
    if (parsed.ok) custids.set(record.offset, parsed.customer.custid);
  }
  const existing = await existingCustomers(prisma, [...new Set(custids.values())]);
  return new Set([...custids].filter(([, custid]) => existing.has(custid)).map(([offset]) => offset));
}

function discrepancy(audit: TopicAudit, offset: number, problem: string): void {
  audit.discrepancies++;
  if (audit.listed.length < LISTED) audit.listed.push({ offset, problem });
}

function printReport(report: {
  branch: number;
  topics: TopicAudit[];
  balances: { count: number; checked: number; first: BalanceMismatch[] };
}): void {
  for (const t of report.topics) {
    const c = t.counts;
    say(
      `${t.topic}[${t.partition}] offsets ${t.from} to ${t.to - 1} (stored next offset ${t.storedNextOffset}): ` +
        `${c.ledger} ledger, ${c.customer} customer, ${c.parked} parked, ${c.rejected} rejected, ${c.repeat} repeated customers, ` +
        `${c.gap} in accepted gaps, ${c.marker} markers, ${c.unread} not read yet; ${t.discrepancies} discrepanc${t.discrepancies === 1 ? 'y' : 'ies'}`,
    );
    for (const d of t.listed) say(`  offset ${d.offset}: ${d.problem}`);
    if (t.discrepancies > t.listed.length) say(`  ... and ${t.discrepancies - t.listed.length} more`);
  }
  const b = report.balances;
  say(
    `balances of the ${b.checked} customers created on branch ${report.branch}: ${b.count === 0 ? 'every one equals its ledger sum' : `${b.count} differ from their ledger`}`,
  );
  for (const m of b.first)
    say(
      `  customer ${m.custid}: balance ${m.balanceCents} (${m.balanceCount} transactions), ledger ${m.ledgerCents} (${m.ledgerCount})`,
    );
  const found = report.topics.reduce((n, t) => n + t.discrepancies, 0) + b.count;
  say(found === 0 ? 'audit passed: every offset accounted for exactly once' : `audit FAILED: ${found} discrepancies`);
}
