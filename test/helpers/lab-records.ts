// Kafka records as a branch consumer hands them over, for tests that drive the batch writer or
// the committer without a broker: the lab's deposits and customer creations on one branch.
import type { RawRecord } from '../../src/ingest/batch.js';

export function labRecords(topics: { customers: string; transactions: string }, partition: number) {
  const record = (topic: string, offset: number, value: unknown): RawRecord => ({
    topic,
    partition,
    offset,
    key: null,
    value: Buffer.from(JSON.stringify(value)),
  });
  return {
    deposit: (offset: number, custid: number, amt = 100) =>
      record(topics.transactions, offset, { custid, type: 'dep', date: 1587398300 + offset, amt }),
    customer: (offset: number, custid: number) =>
      record(topics.customers, offset, { custid, createdate: 1587398219, fname: 'Ada', lname: 'Byron' }),
  };
}
