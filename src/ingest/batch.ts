// Sorts one batch of Kafka records into what the batch writer stores, its BatchRows: customers,
// transactions, rejections, and the next offset of each topic. Two words, two things: a batch is
// the Kafka records of one commit (RawRecord[], as fetched); its rows are what they become once
// parsed. Pure, so the rules are tested without I/O.
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

/** What one batch's write stores. */
export interface BatchRows {
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

/** One Kafka record, parsed: what it asks for (a customer, a transaction) or why it is rejected. */
export type ParsedRecord =
  | { kind: 'customer'; source: RawRecord; customer: CustomerRecord }
  | { kind: 'transaction'; source: RawRecord; transaction: TransactionRecord }
  | { kind: 'rejected'; source: RawRecord; rejected: RejectedRecord }
  /** A record of neither topic: it only moves its topic's offset. */
  | { kind: 'other'; source: RawRecord };

/** A record the parser refused, with the reason it gave. */
function rejectedRecord(
  record: RawRecord,
  refused: { reason: RejectReason; detail: string },
  maxPayloadBytes: number,
): ParsedRecord {
  return {
    kind: 'rejected',
    source: record,
    rejected: rejection(record, refused.reason, refused.detail, maxPayloadBytes),
  };
}

/** Parses each record once; the committer then assembles any slice of them (assembleParsed). */
export function parseRecords(
  records: readonly RawRecord[],
  topics: { customers: string; transactions: string },
  maxPayloadBytes: number,
): ParsedRecord[] {
  return records.map((record): ParsedRecord => {
    if (record.topic === topics.customers) {
      const parsed = parseCustomer(record.value, maxPayloadBytes);
      if (!parsed.ok) return rejectedRecord(record, parsed, maxPayloadBytes);
      const { custid, createdAt, firstName, lastName } = parsed.customer;
      return { kind: 'customer', source: record, customer: { custid, createdAt, firstName, lastName, source: record } };
    }
    if (record.topic === topics.transactions) {
      const parsed = parseTransaction(record.value, maxPayloadBytes);
      if (!parsed.ok) return rejectedRecord(record, parsed, maxPayloadBytes);
      const { custid, kind, amountCents, occurredAt } = parsed.transaction;
      const kafkaTimestampMs = kafkaTimestamp(record.timestamp);
      // Built field by field: an object spread here cost more than the JSON parsing
      // (docs/performance.md, *What was tried*).
      return {
        kind: 'transaction',
        source: record,
        transaction: { custid, kind, amountCents, occurredAt, offset: record.offset, kafkaTimestampMs },
      };
    }
    return { kind: 'other', source: record };
  });
}

/** Parses and assembles in one go: for a caller that writes the records once. */
export function assembleBatch(
  records: readonly RawRecord[],
  topics: { customers: string; transactions: string },
  maxPayloadBytes: number,
): BatchRows {
  return assembleParsed(parseRecords(records, topics, maxPayloadBytes));
}

/**
 * What a write stores of parsed records: customers (a customer created twice in them once, or
 * rejected as a conflict), transactions in offset order, rejections, and each topic's next
 * offset and last record's fingerprint.
 */
export function assembleParsed(parsed: readonly ParsedRecord[]): BatchRows {
  const batch: BatchRows = {
    customers: [],
    transactions: [],
    rejected: [],
    nextOffsets: new Map(),
    fingerprints: new Map(),
    size: parsed.length,
  };
  const customersById = new Map<number, CustomerRecord>();
  const lastRecords = new Map<string, RawRecord>();
  for (const entry of parsed) {
    const record = entry.source;
    const next = record.offset + 1;
    if ((batch.nextOffsets.get(record.topic) ?? -1) < next) {
      batch.nextOffsets.set(record.topic, next);
      lastRecords.set(record.topic, record);
    }
    if (entry.kind === 'rejected') batch.rejected.push(entry.rejected);
    else if (entry.kind === 'transaction') batch.transactions.push(entry.transaction);
    else if (entry.kind === 'customer') {
      const customer = entry.customer;
      const earlier = customersById.get(customer.custid);
      if (earlier === undefined) {
        customersById.set(customer.custid, customer);
        batch.customers.push(customer);
      } else if (!sameCustomer(earlier, customer)) {
        // Created twice in one write: the same data is a harmless repeat, different data a conflict.
        batch.rejected.push({
          source: record,
          reason: REJECT_REASONS.CUSTOMER_CONFLICT,
          detail: conflictDetail(earlier, customer),
        });
      }
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
