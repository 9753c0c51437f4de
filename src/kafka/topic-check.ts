// The start-up check that every branch has its partition on both topics. A branch without one
// can never ingest: it is a configuration mistake (--partitions 0-99 against 8 partitions), so
// the supervisor exits 2 naming the branches, instead of starting a thread per branch that waits
// forever. Topics do not grow here on purpose: adding partitions would move keys between branches.
import { ERROR_CODES, IngesterError } from '../core/errors.js';
import { TopicAdmin } from './topic-admin.js';
import type { KafkaConnection } from './kafka-settings.js';
import { formatPartitionList } from '../core/partition-list.js';

/**
 * Resolves with the number of branches every topic has a partition for, when each branch given
 * ('all': as many as the first topic has) has its partition on every topic; throws KAFKA_TOPIC_MISMATCH
 * (class exit) otherwise.
 */
export async function checkBranchTopics(
  kafka: KafkaConnection,
  topics: readonly string[],
  branches: readonly number[] | 'all',
  connectTimeoutMs = 5_000,
): Promise<number> {
  const admin = await TopicAdmin.connect(kafka, connectTimeoutMs);
  const problems: string[] = [];
  let wanted = branches === 'all' ? undefined : branches;
  let common = Infinity;
  try {
    for (const topic of topics) {
      const count = await admin.partitionCount(topic);
      if (count === undefined) {
        problems.push(`topic ${topic} does not exist (create it with npm run topics:create)`);
        continue;
      }
      wanted ??= Array.from({ length: count }, (_, i) => i);
      common = Math.min(common, count);
      const missing = wanted.filter((b) => b >= count);
      if (missing.length > 0)
        problems.push(
          `topic ${topic} has ${count} partitions (branches 0-${count - 1}): no partition for branch ${formatPartitionList(missing)}`,
        );
    }
  } finally {
    await admin.close();
  }
  if (problems.length > 0)
    throw new IngesterError(
      ERROR_CODES.KAFKA_TOPIC_MISMATCH,
      `${problems.join('; ')}: check --partitions and the topics`,
    );
  return common;
}
