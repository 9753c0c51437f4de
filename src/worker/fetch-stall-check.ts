// Asks the broker where the owned branch's topics end and whether records wait there that the
// consumer has stopped fetching (the pure rule is src/kafka/fetch-stall.ts). Kept across the
// consumers of one worker: a stall that a new consumer does not cure is said once, not retried.
import { FetchStallWatch, type FetchPosition } from '../kafka/fetch-stall.js';
import type { BranchConsumer } from '../kafka/branch-consumer.js';
import type { RawRecord } from '../kafka/raw-record.js';
import type { BranchContext } from './branch-context.js';
import type { BranchEvents } from './branch-events.js';
import type { BranchPosition } from './branch-position.js';

/** Records waiting this long on the broker while none of their topic arrive: a stalled consumer. */
export const FETCH_STALL_MS = 20_000;

export class FetchStallCheck {
  readonly #branch: BranchContext;
  readonly #events: BranchEvents;
  readonly #watch = new FetchStallWatch(FETCH_STALL_MS);

  constructor(branch: BranchContext, events: BranchEvents) {
    this.#branch = branch;
    this.#events = events;
  }

  /** Records of a batch were fetched: whatever waited on their topics is moving. */
  fetched(records: readonly RawRecord[]): void {
    if (records.length > 0) this.#watch.fetched(topicsOf(records));
  }

  /** True when the consumer stopped fetching and must be recreated. */
  async stalled(consumer: BranchConsumer, position: BranchPosition): Promise<boolean> {
    const { partition, log } = this.#branch;
    const positions: FetchPosition[] = [];
    for (const [topic, marks] of await position.readWatermarks()) {
      // Held back on purpose (customers first): not fetching it is expected.
      if (consumer.isPaused(topic)) continue;
      // Where reading has got to: committed, or handed over and not yet committed, or past
      // transaction markers (which are never records to commit); a topic never read starts at
      // its oldest record, wherever retention has moved that.
      const reached = Math.max(position.storedOffset(topic) ?? 0, consumer.position(topic) ?? 0, marks.low);
      positions.push({ topic, nextOffset: reached, logEnd: marks.high });
    }
    const verdict = this.#watch.observe(Date.now(), positions);
    if (!verdict) return false;
    const { topic, nextOffset, logEnd, forMs } = verdict.stall;
    const fields = { topic, nextOffset, logEnd, waitingSeconds: Math.round(forMs / 1000) };
    const where = `${topic}[${partition}] has records from offset ${nextOffset} to ${logEnd - 1} on the broker and none came for ${fields.waitingSeconds} s`;
    if (verdict.action === 'unfetchable') {
      // Lag shows it and ZipBankBranchStalled fires; recreating the consumer again would not help.
      log.error(
        fields,
        `${where}, also after the Kafka consumer was recreated: the branch waits there until they can be read`,
      );
      return false;
    }
    log.warn(fields, `${where}: the Kafka consumer stopped fetching, recreating it`);
    this.#events.emit({ type: 'fetchStalled', partition });
    return true;
  }
}

/** The topics a batch holds records of (the branch reads two). */
function topicsOf(records: readonly RawRecord[]): Set<string> {
  const topics = new Set<string>();
  for (const record of records) {
    topics.add(record.topic);
    if (topics.size === 2) break;
  }
  return topics;
}
