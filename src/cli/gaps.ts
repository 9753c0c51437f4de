// `cli gaps list` shows offset gaps (records a branch never read) and the recreated topics the
// ingester adopted; `cli gaps accept` accepts a branch's open gaps, recording who and when, so
// that the branch goes on.
import os from 'node:os';
import { ConfigError } from '../core/errors.js';
import type { Problems } from '../config/options.js';
import { acceptGaps, listGaps, type GapRow } from '../ingest/offset-gaps.js';
import { listTopicRecreations, type TopicRecreationRow } from '../db/topic-recreation.js';
import { optionalBranch, requiredBranch } from './branch-option.js';
import type { Command, CommandContext } from './command.js';
import { oneLine, printJson, say } from './output.js';
import { withDatabase } from './with-database.js';

export const gapsListCommand: Command = {
  words: ['gaps', 'list'],
  synopsis: 'node dist/cli.js gaps list [--branch N] [--open] [--json]',
  help: `Offset gaps: records deleted by retention before the branch read them, or a stored offset
beyond the log end of a recreated topic. An open gap stops its branch until it is accepted.
Also lists the topics found deleted and created again (kind recreated), which the ingester
adopts without stopping; --open leaves them out.`,
  flags: { branch: { type: 'string' }, open: { type: 'boolean' } },
  async run({ connections, flags, json }: CommandContext): Promise<number> {
    const problems: Problems = [];
    const branch = optionalBranch(problems, flags.branch);
    if (problems.length > 0) throw new ConfigError(problems);
    const openOnly = Boolean(flags.open);
    const { gaps, recreations } = await withDatabase(connections.databaseUrl, async (prisma) => ({
      gaps: await listGaps(prisma, { partition: branch, openOnly }),
      // A recreation is never open: nothing waits for an operator.
      recreations: openOnly ? [] : await listTopicRecreations(prisma, { partition: branch }),
    }));
    // One list in the order things were found.
    const entries = [
      ...gaps.map((g) => ({ at: g.detected_at, view: gapView(g), line: () => gapLine(g) })),
      ...recreations.map((r) => ({ at: r.detected_at, view: recreationView(r), line: () => recreationLine(r) })),
    ].sort((a, b) => a.at.getTime() - b.at.getTime());
    if (json) {
      printJson(entries.map((e) => e.view));
      return 0;
    }
    if (entries.length === 0) say(openOnly ? 'no open offset gaps' : 'no offset gaps');
    for (const e of entries) say(e.line());
    return 0;
  },
};

export const gapsAcceptCommand: Command = {
  words: ['gaps', 'accept'],
  synopsis: 'node dist/cli.js gaps accept --branch N [--by NAME] [--json]',
  help: `Accepts the branch's open offset gaps: the loss is recorded with who (--by, default the OS
user) and when, and the branch goes on from the first record still on the broker (a recreated
topic: once it reaches the stored offset).`,
  flags: { branch: { type: 'string' }, by: { type: 'string' } },
  async run({ connections, flags, json }: CommandContext): Promise<number> {
    const problems: Problems = [];
    const branch = requiredBranch(problems, flags.branch);
    if (problems.length > 0) throw new ConfigError(problems);
    const by = (flags.by as string | undefined) ?? os.userInfo().username;
    const topics = [connections.customersTopic, connections.transactionsTopic];
    const accepted = await withDatabase(connections.databaseUrl, (prisma) => acceptGaps(prisma, topics, branch, by));
    if (json) {
      printJson(accepted.map(gapView));
      return 0;
    }
    if (accepted.length === 0) say(`branch ${branch} has no open offset gap`);
    for (const gap of accepted) say(`accepted ${describeGapRow(gap)} (by ${oneLine(by)})`);
    return 0;
  },
};

function gapView(g: GapRow) {
  return {
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
    supersededBy: g.superseded_by === null ? null : Number(g.superseded_by),
  };
}

/**
 * A recreation in the shape of a gap of kind recreated, as earlier releases listed it: accepted
 * when found, by the ingester (recorded_by), with its own id (topic_recreation's, not offset_gap's).
 */
function recreationView(r: TopicRecreationRow) {
  return {
    id: Number(r.id),
    topic: r.topic,
    branch: r.partition,
    kind: 'recreated',
    expectedOffset: Number(r.ledger_offset_from),
    firstAvailableOffset: Number(r.new_log_start_offset),
    logEndOffset: Number(r.new_log_end_offset),
    detectedAt: r.detected_at.toISOString(),
    acceptedAt: r.detected_at.toISOString(),
    acceptedBy: r.recorded_by,
    supersededBy: null,
  };
}

function gapLine(g: GapRow): string {
  const state = g.accepted_at
    ? `accepted ${g.accepted_at.toISOString()} by ${oneLine(g.accepted_by ?? '?')}`
    : g.superseded_by !== null
      ? `not accepted; the branch went on past it with a recreated topic (recreation #${g.superseded_by})`
      : `OPEN since ${g.detected_at.toISOString()}: the branch is stopped`;
  return `${describeGapRow(g)}; ${state}`;
}

function recreationLine(r: TopicRecreationRow): string {
  return `recreation #${r.id} ${oneLine(r.topic)}[${r.partition}]: topic deleted and created again; its records (Kafka offsets ${r.new_log_start_offset} to ${r.new_log_end_offset} when found) are ingested from its start at ledger offsets from ${r.ledger_offset_from}; found ${r.detected_at.toISOString()}, recorded by ${oneLine(r.recorded_by)}`;
}

function describeGapRow(g: GapRow): string {
  const where = `${oneLine(g.topic)}[${g.partition}]`;
  if (g.kind === 'deleted')
    return `gap #${g.id} ${where}: offsets ${g.expected_offset} to ${Number(g.first_available_offset) - 1} deleted before the branch read them`;
  if (g.kind === 'recreated')
    return `gap #${g.id} ${where}: topic deleted and created again; its records (Kafka offsets ${g.first_available_offset} to ${g.log_end_offset} when found) are ingested from its start at ledger offsets from ${g.expected_offset}`;
  return `gap #${g.id} ${where}: stored offset ${g.expected_offset} beyond the log end ${g.log_end_offset} (topic recreated?)`;
}
