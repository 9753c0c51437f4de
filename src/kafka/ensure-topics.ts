import { ERROR_CODES, IngesterError } from '../core/errors.js';
import { TopicAdmin } from './topic-admin.js';
import type { KafkaConnection } from './kafka-settings.js';

export interface TopicReport {
  topic: string;
  partitions: number;
  status: 'created' | 'exists';
}

/**
 * Makes sure each topic exists with at least `partitions` partitions (partition = branch id).
 * Idempotent. A topic with fewer partitions is reported, never widened silently: adding
 * partitions later would change which branch a key lands on.
 */
export async function ensureTopics(
  brokers: string | KafkaConnection,
  topics: readonly string[],
  partitions: number,
  config: Record<string, string> = {},
): Promise<TopicReport[]> {
  const admin = await TopicAdmin.connect(brokers);
  try {
    const reports: TopicReport[] = [];
    const tooSmall: string[] = [];
    for (const topic of topics) {
      const created = await admin.createTopic(topic, partitions, config);
      // Metadata can lag a fresh creation by a moment; creation already told us the count.
      const actual = created ? partitions : await admin.partitionCount(topic);
      if (actual === undefined) {
        throw new IngesterError(
          ERROR_CODES.KAFKA_UNAVAILABLE,
          `topic ${topic} exists according to the broker but has no metadata yet`,
        );
      }
      if (actual < partitions) tooSmall.push(`${topic} has ${actual} partitions, ${partitions} were asked for`);
      reports.push({ topic, partitions: actual, status: created ? 'created' : 'exists' });
    }
    if (tooSmall.length > 0) {
      throw new IngesterError(
        ERROR_CODES.KAFKA_TOPIC_MISMATCH,
        `${tooSmall.join('; ')}. Each branch needs its own partition: recreate the topic or ask for fewer partitions.`,
      );
    }
    return reports;
  } finally {
    await admin.close();
  }
}
