// Is the topic the branch reads still the one it committed from? A topic deleted and created
// again under the same name (by mistake, or a cluster migration that restores names but not
// data) is a new topic: its records are new transactions, numbered from 0 again. The binding
// gives no topic ID, so before the first fetch the branch reads back the record at its last
// committed offset and compares its fingerprint with the one stored with the offset; a stored
// offset beyond the log end says the same. A recreated topic is then ingested from its start, at
// ledger offsets from the old topic's end up (the cursor's offset base), so that its rows cannot
// collide with the old topic's; the change is recorded in topic_recreation (and shown by
// `cli gaps list`), logged as an error and counted. Nothing waits for an operator: no record is
// lost by going on, and the old topic's records the branch never read are gone either way.
// Under a running branch the check runs again when a fetch is out of range (the new topic holds
// fewer records) or when librdkafka says the topic has a new ID (src/kafka/topic-replacement.ts:
// it holds more, and librdkafka would go on fetching there from the old position).
import { TRANSACTION_LIMITS } from '../db/prisma.js';
import { renew, type Lease } from '../db/branch-lease.js';
import { recordTopicRecreation } from '../db/topic-recreation.js';
import { readCursors, type OffsetRow } from '../db/read-queries.js';
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import { recordFingerprint } from '../kafka/record-fingerprint.js';
import type { RetryPolicy } from '../core/retry.js';
import type { BranchContext } from './branch-context.js';
import type { BranchEvents } from './branch-events.js';

/** Who recorded the change, as topic_recreation keeps it. */
const RECORDED_BY = 'ingester: a new topic, ingested from its start';

/** What the check uses besides the branch: its lease, consumer, retries and events. */
export interface IdentityCheckParts {
  lease: Lease;
  consumer: BranchConsumer;
  retry: RetryPolicy;
  events: BranchEvents;
  /**
   * Topics the previous consumer heard were created again (src/kafka/topic-replacement.ts): the
   * check must find them recreated, or records of the new topic were committed already.
   */
  replaced?: ReadonlySet<string>;
}

/**
 * Reads the branch's cursors, gives the consumer their offset bases, and adopts any topic found
 * recreated. Resolves the stored next offsets (ledger offsets) to check for gaps from.
 */
export async function checkTopicIdentity(
  branch: BranchContext,
  { lease, consumer, retry, events, replaced }: IdentityCheckParts,
): Promise<Map<string, number>> {
  const topics = branch.topicList;
  const readAll = () => retry.run('read stored offsets', () => readCursors(branch.prisma, topics, branch.partition));
  let cursors = await readAll();
  consumer.useOffsetBases(basesOf(cursors));
  for (const [topic, cursor] of cursors) {
    const why = await retry.run(`check that ${topic} is the topic committed from`, () =>
      whyRecreated(consumer, topic, cursor),
    );
    if (why === 'same' && replaced?.has(topic)) {
      alreadyTaken(branch, topic, cursor);
      events.emit({ type: 'topicRecreated', partition: branch.partition });
    }
    if (why === null || why === 'same') continue;
    const marks = await retry.run(`read the offsets of ${topic} from Kafka`, () => consumer.watermarks(topic));
    const kafka = { low: consumer.kafkaOffset(topic, marks.low), high: consumer.kafkaOffset(topic, marks.high) };
    // Above every ledger row of the old topic, even with the stored offset moved back by hand.
    const from = Math.max(cursor.nextOffset, (cursor.fingerprintOffset ?? -1) + 1);
    await retry.run('record the recreated topic', () => recordRecreated(branch, lease, topic, from, kafka));
    branch.log.error(
      { topic, ledgerOffsetFrom: from, newLogStart: kafka.low, newLogEnd: kafka.high },
      `${topic}[${branch.partition}] was deleted and created again (${why}): its records are new and are ingested from its start, at ledger offsets from ${from} up; see cli gaps list`,
    );
    events.emit({ type: 'topicRecreated', partition: branch.partition });
  }
  cursors = await readAll();
  consumer.useOffsetBases(basesOf(cursors));
  return new Map([...cursors].map(([topic, c]) => [topic, c.nextOffset]));
}

function basesOf(cursors: ReadonlyMap<string, OffsetRow>): Map<string, number> {
  return new Map([...cursors].map(([topic, c]) => [topic, c.offsetBase]));
}

/**
 * The topic was created again, but the record at the last committed offset is already the new
 * topic's: the consumer handed over the new topic's records as if they followed the old one's
 * before the change was heard of (src/worker/ingest-loop.ts checks before each commit, so only a
 * notice that came late lets this happen). Those rows are real records of the new topic; its
 * records before them were never read. Nothing here can tell which rows are which: said loudly.
 */
function alreadyTaken(branch: BranchContext, topic: string, cursor: OffsetRow): void {
  branch.log.error(
    { topic, lastCommittedOffset: cursor.fingerprintOffset, nextOffset: cursor.nextOffset },
    `${topic}[${branch.partition}] was deleted and created again, and records of the new topic were committed as if they followed the old topic's, up to offset ${cursor.fingerprintOffset}: the new topic's records before them were not read; compare its producers' records with the ledger (docs/runbook.md, ZipBankTopicRecreated)`,
  );
}

/**
 * Why the topic is not the one committed from; 'same' when the record at the last committed
 * offset is the one committed there; null when it cannot be told.
 */
async function whyRecreated(consumer: BranchConsumer, topic: string, cursor: OffsetRow): Promise<string | null> {
  const marks = await consumer.watermarks(topic);
  const next = cursor.nextOffset;
  if (next > marks.high) return `the stored offset ${next} is beyond its log end ${marks.high}`;
  // The record the fingerprint was taken from (next_offset - 1 unless moved by hand).
  const at = cursor.fingerprintOffset;
  // Nothing read from this topic yet, or the record is gone (retention): the gap check that
  // follows says what it must.
  if (cursor.lastFingerprint === null || at === null || at < cursor.offsetBase || at < marks.low) return null;
  if (at >= marks.high) return `the record committed at offset ${at} is beyond its log end ${marks.high}`;
  const record = await consumer.recordAt(topic, at);
  if (record === undefined) return null;
  if (record.offset !== at) return `offset ${at} holds no record any more`;
  if (!recordFingerprint(record).equals(cursor.lastFingerprint))
    return `the record at offset ${at} is not the one committed there`;
  return 'same';
}

/**
 * Moves the cursor to the new topic: its Kafka offset 0 is the ledger offset `from`, where the
 * old topic ended; records the change in topic_recreation (no gap to accept). One
 * transaction, under the branch lease.
 */
async function recordRecreated(
  branch: BranchContext,
  lease: Lease,
  topic: string,
  from: number,
  kafka: { low: number; high: number },
): Promise<void> {
  await branch.prisma.$transaction(async (tx) => {
    await renew(tx, lease);
    await tx.$executeRaw`
      UPDATE consumer_offset
         SET offset_base = ${from}, next_offset = ${from}, last_fingerprint = NULL, fingerprint_offset = NULL, updated_at = now()
       WHERE topic = ${topic} AND "partition" = ${branch.partition}`;
    await recordTopicRecreation(tx, { topic, partition: branch.partition, from, kafka, recordedBy: RECORDED_BY });
  }, TRANSACTION_LIMITS);
}
