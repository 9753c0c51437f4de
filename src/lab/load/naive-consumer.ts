// The baseline the benchmark compares against: how the lab's consumer worked, made durable.
// One record at a time: its own Postgres transaction for the ledger row, the balance and the
// offset, committed before the next record is read.
import pg from 'pg';
import { consumerPacing } from '../../kafka/consumer-pacing.js';
import callThreads from '../../kafka/call-threads.cjs';
import { BranchConsumer } from '../../kafka/branch-consumer.js';
import { parseCustomer, parseTransaction } from '../../ingest/event-parser.js';
import type { KafkaConnection } from '../../kafka/kafka-settings.js';

export interface NaiveResult {
  records: number;
  seconds: number;
}

/** It reads one record per call: the linger only bounds a wait that finds nothing. */
const LINGER_MS = 100;

export async function runNaiveConsumer(options: {
  kafka: KafkaConnection;
  databaseUrl: string;
  topic: string;
  kind: 'customers' | 'transactions';
  branches: number;
  perBranch: number[];
  timeBudgetMs: number;
}): Promise<NaiveResult> {
  const db = new pg.Client({ connectionString: options.databaseUrl });
  await db.connect();
  const started = Date.now();
  let records = 0;
  // One consumer at a time, so one branch's pacing.
  const pacing = consumerPacing(1, callThreads.poolSize(process.env.UV_THREADPOOL_SIZE), LINGER_MS);
  try {
    for (let branch = 0; branch < options.branches; branch++) {
      const consumer = await BranchConsumer.connect({
        kafka: options.kafka,
        partition: branch,
        topics: [options.topic],
        lingerMs: LINGER_MS,
        maxBatchBytes: 1_048_576,
        pacing,
      });
      consumer.assign(new Map());
      try {
        let done = 0;
        while (done < options.perBranch[branch]! && Date.now() - started < options.timeBudgetMs) {
          for (const record of await consumer.consume(1)) {
            await db.query('BEGIN');
            if (options.kind === 'customers') {
              const parsed = parseCustomer(record.value, 65_536);
              if (parsed.ok) {
                const c = parsed.customer;
                await db.query(
                  `INSERT INTO customer (custid, fname, lname, created_at, kafka_topic, kafka_partition, kafka_offset) VALUES ($1, $2, $3, to_timestamp($4), $5, $6, $7)`,
                  [c.custid, c.firstName, c.lastName, c.createdAt, record.topic, record.partition, record.offset],
                );
                await db.query('INSERT INTO balance (custid) VALUES ($1)', [c.custid]);
              }
            } else {
              const parsed = parseTransaction(record.value, 65_536);
              if (parsed.ok) {
                const t = parsed.transaction;
                await db.query(
                  `INSERT INTO "transaction" (custid, kind, amount_cents, occurred_at, kafka_topic, kafka_partition, kafka_offset, kafka_timestamp) VALUES ($1, $2, $3, to_timestamp($4), $5, $6, $7, coalesce(to_timestamp($8 / 1000.0), timestamptz 'epoch'))`,
                  [
                    t.custid,
                    t.kind,
                    t.amountCents,
                    t.occurredAt,
                    record.topic,
                    record.partition,
                    record.offset,
                    record.timestamp ?? null,
                  ],
                );
                await db.query(
                  'UPDATE balance SET balance_cents = balance_cents + $2, transaction_count = transaction_count + 1 WHERE custid = $1',
                  [t.custid, t.kind === 'deposit' ? t.amountCents : -t.amountCents],
                );
              }
            }
            await db.query(
              `INSERT INTO consumer_offset (topic, "partition", next_offset) VALUES ($1, $2, $3) ON CONFLICT (topic, "partition") DO UPDATE SET next_offset = EXCLUDED.next_offset`,
              [record.topic, record.partition, record.offset + 1],
            );
            await db.query('COMMIT');
            done++;
            records++;
          }
        }
      } finally {
        await consumer.disconnect();
      }
    }
  } finally {
    await db.end();
  }
  return { records, seconds: (Date.now() - started) / 1000 };
}
