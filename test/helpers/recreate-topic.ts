// Deletes a topic and creates it again under the same name, as an operator's mistake or a
// cluster migration would: a new topic, numbered from 0 again, with the partitions given.
import { ensureTopics } from '../../src/kafka/ensure-topics.js';
import { TopicAdmin } from '../../src/kafka/topic-admin.js';
import { BROKERS } from './fixtures.js';
import { waitFor } from './supervisor.js';

export async function recreateTopic(topic: string, partitions = 1): Promise<void> {
  const admin = await TopicAdmin.connect(BROKERS);
  await admin.deleteTopic(topic).finally(() => admin.close());
  // The deletion completes in the background: creating it again fails until it has.
  await waitFor(
    'the topic is created again',
    async () =>
      await ensureTopics(BROKERS, [topic], partitions)
        .then((r) => r[0]?.status)
        .catch(() => 'pending'),
    (s) => s === 'created',
    30_000,
  );
}
