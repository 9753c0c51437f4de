// A topic deleted and created again, as the ingester records it when it adopts the new topic
// (src/worker/topic-incarnation.ts). It has a table of its own rather than a row in offset_gap:
// a recreation is no loss for an operator to accept, and recording it over a gap row at the same
// offset would take UPDATE on offset_gap, with which the ingester's role could accept gaps too.
// Here the ingester only inserts (src/db/roles.ts grants it no more).
import type { Prisma } from '../generated/prisma/client.js';
import type { PrismaClient } from './prisma.js';

export interface TopicRecreation {
  topic: string;
  partition: number;
  /** The ledger offset of the new topic's Kafka offset 0, where the old topic's rows end. */
  from: number;
  /** The new topic's offsets when found, as Kafka numbers them. */
  kafka: { low: number; high: number };
  recordedBy: string;
}

/**
 * Records a recreation, in the caller's transaction (the one that moves the cursor). A second
 * insert of the same recreation, a retry after a commit whose answer was lost, adds nothing.
 */
export async function recordTopicRecreation(
  db: PrismaClient | Prisma.TransactionClient,
  r: TopicRecreation,
): Promise<void> {
  await db.$executeRaw`
    INSERT INTO topic_recreation (topic, "partition", ledger_offset_from, new_log_start_offset, new_log_end_offset, recorded_by)
    VALUES (${r.topic}, ${r.partition}, ${r.from}, ${r.kafka.low}, ${r.kafka.high}, ${r.recordedBy})
    ON CONFLICT (topic, "partition", ledger_offset_from) DO NOTHING`;
}

export interface TopicRecreationRow {
  id: bigint;
  topic: string;
  partition: number;
  ledger_offset_from: bigint;
  new_log_start_offset: bigint;
  new_log_end_offset: bigint;
  detected_at: Date;
  recorded_by: string;
}

export async function listTopicRecreations(
  prisma: PrismaClient,
  options: { partition?: number },
): Promise<TopicRecreationRow[]> {
  return prisma.$queryRaw<TopicRecreationRow[]>`
    SELECT id, topic, "partition", ledger_offset_from, new_log_start_offset, new_log_end_offset, detected_at, recorded_by
      FROM topic_recreation
     WHERE ${options.partition ?? null}::int IS NULL OR "partition" = ${options.partition ?? null}::int
     ORDER BY id`;
}
