// Ledger offsets and Kafka offsets of a branch's partitions. A topic deleted and created again
// numbers its records from 0 again, while the ledger goes on above the old topic's rows from the
// topic's offset base (src/worker/topic-incarnation.ts). Every offset the branch consumer takes
// or gives is a ledger offset; only its calls into librdkafka use Kafka's.
export class OffsetBases {
  /** Per topic, the ledger offset of the topic's Kafka offset 0 (absent: 0). */
  #bases = new Map<string, number>();

  use(bases: ReadonlyMap<string, number>): void {
    this.#bases = new Map(bases);
  }

  /** A ledger offset as Kafka numbers it. */
  toKafka(topic: string, ledgerOffset: number): number {
    return ledgerOffset - this.#base(topic);
  }

  /** A Kafka offset as the ledger numbers it. */
  toLedger(topic: string, kafkaOffset: number): number {
    return kafkaOffset + this.#base(topic);
  }

  #base(topic: string): number {
    return this.#bases.get(topic) ?? 0;
  }
}
