// Sorts one batch of Kafka records into what the batch writer stores: customers, transactions,
// rejections, and the next offset of each topic. Pure, so the rules are tested without I/O.
import { createHash } from 'node:crypto';
import {
  MAX_EPOCH_SECONDS,
  parseCustomer,
  parseTransaction,
  REJECT_REASONS,
  type Customer,
  type RejectReason,
  type Transaction,
} from './event-parser.js';
import type { Coordinates, RawRecord } from '../kafka/raw-record.js';
import { recordFingerprint } from '../kafka/record-fingerprint.js';

export type { Coordinates, RawRecord };

export interface CustomerRecord extends Customer {
  source: RawRecord;
}

/** Its topic and partition are the branch's transactions partition, which the writer is given. */
export interface TransactionRecord extends Transaction {
  offset: number;
  kafkaTimestampMs: number | null;
}

export interface RejectedRecord {
  source: RawRecord;
  reason: RejectReason;
  detail: string;
}

export interface Batch {
  customers: CustomerRecord[];
  /** In offset order: the order the branch posted them. */
  transactions: TransactionRecord[];
  rejected: RejectedRecord[];
  /** Next offset to consume, per topic seen in the batch. */
  nextOffsets: Map<string, number>;
  /** Fingerprint of the last record per topic (src/kafka/record-fingerprint.ts), stored with the offset. */
  fingerprints: Map<string, Buffer>;
  size: number;
}

export function assembleBatch(
  records: readonly RawRecord[],
  topics: { customers: string; transactions: string },
  maxPayloadBytes: number,
): Batch {
  const batch: Batch = {
    customers: [],
    transactions: [],
    rejected: [],
    nextOffsets: new Map(),
    fingerprints: new Map(),
    size: records.length,
  };
  const customersById = new Map<number, CustomerRecord>();
  const lastRecords = new Map<string, RawRecord>();
  for (const record of records) {
    const next = record.offset + 1;
    if ((batch.nextOffsets.get(record.topic) ?? -1) < next) {
      batch.nextOffsets.set(record.topic, next);
      lastRecords.set(record.topic, record);
    }

    if (record.topic === topics.customers) {
      const parsed = parseCustomer(record.value, maxPayloadBytes);
      if (!parsed.ok) {
        batch.rejected.push(rejection(record, parsed.reason, parsed.detail, maxPayloadBytes));
        continue;
      }
      const earlier = customersById.get(parsed.customer.custid);
      if (earlier) {
        // Created twice in one batch: the same data is a harmless repeat, different data a conflict.
        if (!sameCustomer(earlier, parsed.customer)) {
          batch.rejected.push({
            source: record,
            reason: REJECT_REASONS.CUSTOMER_CONFLICT,
            detail: conflictDetail(earlier, parsed.customer),
          });
        }
        continue;
      }
      const { custid, createdAt, firstName, lastName } = parsed.customer;
      const customer = { custid, createdAt, firstName, lastName, source: record };
      customersById.set(customer.custid, customer);
      batch.customers.push(customer);
    } else if (record.topic === topics.transactions) {
      const parsed = parseTransaction(record.value, maxPayloadBytes);
      if (parsed.ok) {
        const { custid, kind, amountCents, occurredAt } = parsed.transaction;
        const kafkaTimestampMs = kafkaTimestamp(record.timestamp);
        // Built field by field: an object spread here cost more than the JSON parsing
        // (docs/performance.md, *What was tried*).
        batch.transactions.push({ custid, kind, amountCents, occurredAt, offset: record.offset, kafkaTimestampMs });
      } else batch.rejected.push(rejection(record, parsed.reason, parsed.detail, maxPayloadBytes));
    }
  }
  batch.transactions.sort((a, b) => a.offset - b.offset);
  for (const [topic, record] of lastRecords) batch.fingerprints.set(topic, recordFingerprint(record));
  return batch;
}

/**
 * A rejection keeps the record's raw bytes, except an oversized value: only its first
 * maxPayloadBytes are stored, with its length and SHA-256 in the detail, so a burst of huge
 * records cannot blow a batch past V8's string limit or Postgres's parameter limit.
 */
function rejection(record: RawRecord, reason: RejectReason, detail: string, maxPayloadBytes: number): RejectedRecord {
  const value = record.value;
  if (reason !== REJECT_REASONS.PAYLOAD_TOO_LARGE || !value || value.length <= maxPayloadBytes)
    return { source: record, reason, detail };
  const digest = createHash('sha256').update(value).digest('hex');
  return {
    source: { ...record, value: value.subarray(0, maxPayloadBytes) },
    reason,
    detail: `${detail}; the first ${maxPayloadBytes} bytes are stored, sha256 of all ${value.length} bytes ${digest}`,
  };
}

/**
 * Kafka's record timestamp (set by the producer unless the topic says otherwise) is only used for
 * latency figures: one that is missing or beyond what a timestamptz holds is dropped, not fatal.
 */
function kafkaTimestamp(ms: number | undefined): number | null {
  return ms !== undefined && ms >= 0 && ms <= MAX_EPOCH_SECONDS * 1000 ? ms : null;
}

export function sameCustomer(a: Customer, b: Customer): boolean {
  return (
    a.custid === b.custid && a.createdAt === b.createdAt && a.firstName === b.firstName && a.lastName === b.lastName
  );
}

export function conflictDetail(existing: Customer, incoming: Customer): string {
  return `customer ${incoming.custid} exists as ${existing.firstName} ${existing.lastName} created ${existing.createdAt}; this record says ${incoming.firstName} ${incoming.lastName} created ${incoming.createdAt}`;
}
