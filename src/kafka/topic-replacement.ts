// Notices that a topic a running consumer fetches from was deleted and created again. librdkafka
// sees the new topic ID in its metadata but does nothing about it (a FIXME in its
// rdkafka_topic.c): the fetch goes on at the old position, now in the new topic. When the new
// topic holds fewer records than that position, the fetch is out of range and the branch checks
// its offsets (KAFKA_OFFSET_RESET); when it holds more, the new topic's records from that
// position on would be handed over as if they followed the old topic's, and its first records
// would never be read. The binding gives no topic ID; librdkafka says the change only in a debug
// line of its metadata context, which the branch consumer turns on (a few lines per metadata
// refresh) and reads here. Its metadata update comes before the fetch from the new topic, so the
// branch hears of it before the new topic's records reach it, and checks the topic before it
// commits anything more (src/worker/ingest-loop.ts).
import type { GlobalConfig } from 'node-rdkafka';

/** librdkafka's all-zero topic ID: a topic seen for the first time, not a change. */
const NO_TOPIC_ID = 'AAAAAAAAAAAAAAAAAAAAAA';
/** librdkafka's metadata debug line (rdkafka_topic.c, rd_kafka_topic_metadata_update). */
const CHANGED_ID = /Topic (\S+) changed id from (\S+) to (\S+)/;

interface LogEvent {
  message: string;
}

/**
 * The client's settings with librdkafka's metadata debug context added to any the operator
 * gave: librdkafka raises its log level for the enabled contexts only.
 */
export function withMetadataDebug<C extends GlobalConfig>(config: C): C {
  const given = typeof config.debug === 'string' ? config.debug.split(',').filter((c) => c !== '') : [];
  if (given.includes('metadata') || given.includes('all')) return config;
  return { ...config, debug: [...given, 'metadata'].join(',') as GlobalConfig['debug'] };
}

/** The topics of one consumer that Kafka says were created again since it connected. */
export class TopicReplacementWatch {
  readonly #replaced = new Set<string>();
  readonly #topics: ReadonlySet<string>;

  constructor(emitter: NodeJS.EventEmitter, topics: readonly string[]) {
    this.#topics = new Set(topics);
    emitter.on('event.log', (event: LogEvent) => this.#observe(event.message));
  }

  /** Topics of this consumer whose ID changed while it ran (empty almost always). */
  get replaced(): ReadonlySet<string> {
    return this.#replaced;
  }

  #observe(message: string): void {
    const match = CHANGED_ID.exec(message);
    if (!match) return;
    const [, topic, from] = match;
    if (topic !== undefined && from !== NO_TOPIC_ID && this.#topics.has(topic)) this.#replaced.add(topic);
  }
}
