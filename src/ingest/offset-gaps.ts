// Offset gaps: records a branch will never see. Kafka retention can delete records a branch has
// not read yet (its stored offset falls below the log start): a ledger must not carry on as if
// nothing happened, so the gap is recorded, the branch stops posting, and an operator accepts it
// (`cli gaps accept`), which is recorded with who and when; accepting moves the branch to the
// first record still there. A topic deleted and created again is not a gap but a new topic
// (src/worker/topic-incarnation.ts adopts it before this check and records it in
// topic_recreation; kind 'recreated' here is from earlier releases); 'beyond_end' remains for a
// stored offset found beyond the log end in between, and for rows of earlier releases. The
// ingester only inserts gaps: accepting one is the operator's. A gap that a later recreation
// moved the branch past no longer stops it, and accepting it must not move the new topic's
// cursor: such a gap is listed as superseded, not open.
import { Prisma } from '../generated/prisma/client.js';
import { TRANSACTION_LIMITS, type PrismaClient } from '../db/prisma.js';

export type GapKind = 'deleted' | 'beyond_end' | 'recreated';

export interface OffsetGap {
  topic: string;
  partition: number;
  kind: GapKind;
  /** The stored next offset: the first record the branch expected. */
  expectedOffset: number;
  firstAvailableOffset: number;
  logEndOffset: number;
}

export interface Watermarks {
  low: number;
  high: number;
}

/** Pure: the gaps between the stored offsets and what the broker still holds. */
export function findGaps(
  partition: number,
  stored: ReadonlyMap<string, number>,
  watermarks: ReadonlyMap<string, Watermarks>,
): OffsetGap[] {
  const gaps: OffsetGap[] = [];
  for (const [topic, expectedOffset] of stored) {
    const marks = watermarks.get(topic);
    if (!marks) continue;
    const base = { topic, partition, expectedOffset, firstAvailableOffset: marks.low, logEndOffset: marks.high };
    if (expectedOffset < marks.low) gaps.push({ ...base, kind: 'deleted' });
    else if (expectedOffset > marks.high) gaps.push({ ...base, kind: 'beyond_end' });
  }
  return gaps;
}

export function describeGap(gap: OffsetGap): string {
  return gap.kind === 'deleted'
    ? `${gap.topic}[${gap.partition}]: offsets ${gap.expectedOffset} to ${gap.firstAvailableOffset - 1} were deleted before this branch read them (log starts at ${gap.firstAvailableOffset})`
    : `${gap.topic}[${gap.partition}]: the stored offset ${gap.expectedOffset} is beyond the log end ${gap.logEndOffset} (topic deleted and recreated?)`;
}

/** Records gaps not recorded yet; resolves to whether each is accepted already. */
export async function recordGaps(
  prisma: PrismaClient,
  gaps: OffsetGap[],
): Promise<{ gap: OffsetGap; accepted: boolean }[]> {
  const states = [];
  for (const gap of gaps) {
    const rows = await prisma.$queryRaw<{ accepted: boolean }[]>`
      WITH inserted AS (
        INSERT INTO offset_gap (topic, "partition", kind, expected_offset, first_available_offset, log_end_offset)
        VALUES (${gap.topic}, ${gap.partition}, ${gap.kind}, ${gap.expectedOffset}, ${gap.firstAvailableOffset}, ${gap.logEndOffset})
        ON CONFLICT (topic, "partition", expected_offset) DO NOTHING
        RETURNING false AS accepted
      )
      SELECT accepted FROM inserted
      UNION ALL
      SELECT accepted_at IS NOT NULL FROM offset_gap WHERE topic = ${gap.topic} AND "partition" = ${gap.partition} AND expected_offset = ${gap.expectedOffset}`;
    states.push({ gap, accepted: rows.some((r) => r.accepted) });
  }
  return states;
}

export interface GapRow {
  id: bigint;
  topic: string;
  partition: number;
  kind: string;
  expected_offset: bigint;
  first_available_offset: bigint;
  log_end_offset: bigint;
  detected_at: Date;
  accepted_at: Date | null;
  accepted_by: string | null;
  /** The topic_recreation row that moved the branch past this gap, if one did. */
  superseded_by: bigint | null;
}

/**
 * The first recreation of the gap's topic found after the gap, at or above its offset: the
 * branch's cursor then moved to the new topic, past the gap. Reads columns of offset_gap g.
 */
const SUPERSEDED_BY = Prisma.sql`(
  SELECT min(r.id) FROM topic_recreation r
   WHERE r.topic = g.topic AND r."partition" = g."partition"
     AND r.ledger_offset_from >= g.expected_offset AND r.detected_at >= g.detected_at)`;

export async function listGaps(
  prisma: PrismaClient,
  options: { partition?: number; openOnly: boolean },
): Promise<GapRow[]> {
  return prisma.$queryRaw<GapRow[]>`
    SELECT * FROM (
      SELECT id, topic, "partition", kind, expected_offset, first_available_offset, log_end_offset, detected_at,
             accepted_at, accepted_by, ${SUPERSEDED_BY} AS superseded_by
        FROM offset_gap g
       WHERE (${options.partition ?? null}::int IS NULL OR "partition" = ${options.partition ?? null}::int)
    ) gaps
     WHERE NOT ${options.openOnly} OR (accepted_at IS NULL AND superseded_by IS NULL)
     ORDER BY id`;
}

/**
 * Accepts a branch's open gaps (of the given topics): records who and when, and moves the stored
 * offset of a 'deleted' gap forward to the first record still available, unless a recreated
 * topic superseded it (the cursor is on the new topic then). One transaction.
 */
export async function acceptGaps(
  prisma: PrismaClient,
  topics: string[],
  partition: number,
  acceptedBy: string,
): Promise<GapRow[]> {
  return prisma.$transaction(async (tx) => {
    const accepted = await tx.$queryRaw<GapRow[]>`
      UPDATE offset_gap g SET accepted_at = now(), accepted_by = ${acceptedBy}
       WHERE accepted_at IS NULL AND "partition" = ${partition} AND topic = ANY(${topics}::text[])
      RETURNING id, topic, "partition", kind, expected_offset, first_available_offset, log_end_offset, detected_at,
                accepted_at, accepted_by, ${SUPERSEDED_BY} AS superseded_by`;
    for (const gap of accepted.filter((g) => g.kind === 'deleted' && g.superseded_by === null)) {
      await tx.$executeRaw`
        UPDATE consumer_offset SET next_offset = GREATEST(next_offset, ${gap.first_available_offset}), updated_at = now()
         WHERE topic = ${gap.topic} AND "partition" = ${partition}`;
    }
    return accepted;
  }, TRANSACTION_LIMITS);
}
