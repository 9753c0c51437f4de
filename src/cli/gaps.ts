// `cli gaps list` shows offset gaps (records a branch never read); `cli gaps accept` accepts a
// branch's open gaps, recording who and when, so that the branch goes on.
import os from 'node:os';
import { ConfigError } from '../core/errors.js';
import type { Problems } from '../config/options.js';
import { acceptGaps, listGaps, type GapRow } from '../ingest/offset-gaps.js';
import { optionalBranch, requiredBranch } from './branch-option.js';
import type { Command, CommandContext } from './command.js';
import { oneLine, printJson, say } from './output.js';
import { withDatabase } from './with-database.js';

export const gapsListCommand: Command = {
  words: ['gaps', 'list'],
  synopsis: 'node dist/cli.js gaps list [--branch N] [--open] [--json]',
  help: `Offset gaps: records deleted by retention before the branch read them, or a stored offset
beyond the log end of a recreated topic. An open gap stops its branch until it is accepted.`,
  flags: { branch: { type: 'string' }, open: { type: 'boolean' } },
  async run({ connections, flags, json }: CommandContext): Promise<number> {
    const problems: Problems = [];
    const branch = optionalBranch(problems, flags.branch);
    if (problems.length > 0) throw new ConfigError(problems);
    const openOnly = Boolean(flags.open);
    const rows = await withDatabase(connections.databaseUrl, (prisma) =>
      listGaps(prisma, { partition: branch, openOnly }),
    );
    if (json) {
      printJson(rows.map(gapView));
      return 0;
    }
    if (rows.length === 0) say(openOnly ? 'no open offset gaps' : 'no offset gaps');
    for (const g of rows) {
      const state = g.accepted_at
        ? `accepted ${g.accepted_at.toISOString()} by ${oneLine(g.accepted_by ?? '?')}`
        : `OPEN since ${g.detected_at.toISOString()}: the branch is stopped`;
      say(`${describeGapRow(g)}; ${state}`);
    }
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
  };
}

function describeGapRow(g: GapRow): string {
  const where = `${oneLine(g.topic)}[${g.partition}]`;
  if (g.kind === 'deleted')
    return `gap #${g.id} ${where}: offsets ${g.expected_offset} to ${Number(g.first_available_offset) - 1} deleted before the branch read them`;
  if (g.kind === 'recreated')
    return `gap #${g.id} ${where}: topic deleted and created again; its records (Kafka offsets ${g.first_available_offset} to ${g.log_end_offset} when found) are ingested from its start at ledger offsets from ${g.expected_offset}`;
  return `gap #${g.id} ${where}: stored offset ${g.expected_offset} beyond the log end ${g.log_end_offset} (topic recreated?)`;
}
