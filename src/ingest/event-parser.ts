// Turns a Kafka record's bytes into a customer or a transaction, or into a rejection with a
// reason code. Pure: no I/O, so every rule is unit-tested without a broker. A rejection's detail
// never carries the record's raw bytes (those are stored as bytea beside it): producer text in a
// detail is escaped (src/text/printable.ts), because Postgres text cannot hold NUL.
import { printable } from '../core/printable.js';

export const REJECT_REASONS = Object.freeze({
  EMPTY_PAYLOAD: 'empty_payload',
  PAYLOAD_TOO_LARGE: 'payload_too_large',
  NOT_JSON: 'not_json',
  NOT_AN_OBJECT: 'not_an_object',
  MISSING_FIELD: 'missing_field',
  WRONG_TYPE: 'wrong_type',
  INVALID_CUSTID: 'invalid_custid',
  INVALID_AMOUNT: 'invalid_amount',
  UNKNOWN_TYPE: 'unknown_type',
  INVALID_DATE: 'invalid_date',
  INVALID_NAME: 'invalid_name',
  CUSTOMER_CONFLICT: 'customer_conflict',
  /** Valid to the parser, refused by Postgres (a balance overflow, a failed check): SQLSTATE in the detail. */
  DATABASE_REJECTED: 'database_rejected',
} as const);

export type RejectReason = (typeof REJECT_REASONS)[keyof typeof REJECT_REASONS];

export interface Rejection {
  ok: false;
  reason: RejectReason;
  detail: string;
}

export interface Customer {
  custid: number;
  /** Epoch seconds. */
  createdAt: number;
  firstName: string;
  lastName: string;
}

export type TransactionKind = 'deposit' | 'withdrawal';

export interface Transaction {
  custid: number;
  kind: TransactionKind;
  amountCents: number;
  /** Epoch seconds. */
  occurredAt: number;
}

/** The lab's spellings of a transaction type, all of which occur in the wild; matched case-insensitively. */
const KINDS: Record<string, TransactionKind> = {
  dep: 'deposit',
  d: 'deposit',
  deposit: 'deposit',
  wth: 'withdrawal',
  w: 'withdrawal',
  withdrawal: 'withdrawal',
};

/** Epoch seconds from 1970-01-01 to 9999-12-31: what a timestamptz can hold and a bank can mean. */
export const MAX_EPOCH_SECONDS = 253_402_300_799;
/** Larger than any real single movement; keeps sums far from bigint and double limits. */
const MAX_AMOUNT_CENTS = 1_000_000_000_000;
const MAX_NAME_LENGTH = 200;

export function parseCustomer(
  value: Buffer | null | undefined,
  maxPayloadBytes: number,
): { ok: true; customer: Customer } | Rejection {
  const object = parseObject(value, maxPayloadBytes);
  if (!object.ok) return object;
  const fields = object.value;
  const custid = customerId(fields);
  if (!custid.ok) return custid;
  const createdAt = epochSeconds(fields, 'createdate');
  if (!createdAt.ok) return createdAt;
  const firstName = personName(fields, 'fname');
  if (!firstName.ok) return firstName;
  const lastName = personName(fields, 'lname');
  if (!lastName.ok) return lastName;
  return {
    ok: true,
    customer: {
      custid: custid.value,
      createdAt: createdAt.value,
      firstName: firstName.value,
      lastName: lastName.value,
    },
  };
}

export function parseTransaction(
  value: Buffer | null | undefined,
  maxPayloadBytes: number,
): { ok: true; transaction: Transaction } | Rejection {
  const object = parseObject(value, maxPayloadBytes);
  if (!object.ok) return object;
  const fields = object.value;
  const custid = customerId(fields);
  if (!custid.ok) return custid;
  if (!('type' in fields)) return reject('MISSING_FIELD', 'field "type" is missing');
  if (typeof fields.type !== 'string')
    return reject('WRONG_TYPE', `field "type" must be a string, got ${describe(fields.type)}`);
  const kind = KINDS[fields.type.trim().toLowerCase()];
  if (!kind)
    return reject(
      'UNKNOWN_TYPE',
      `type ${printable(JSON.stringify(fields.type), 100)} is neither a deposit (dep, D, deposit) nor a withdrawal (wth, W, withdrawal)`,
    );
  const amount = wholeNumber(fields, 'amt');
  if (!amount.ok) return amount;
  if (amount.value <= 0 || amount.value > MAX_AMOUNT_CENTS) {
    return reject('INVALID_AMOUNT', `amt must be between 1 and ${MAX_AMOUNT_CENTS} cents, got ${amount.value}`);
  }
  const occurredAt = epochSeconds(fields, 'date');
  if (!occurredAt.ok) return occurredAt;
  return {
    ok: true,
    transaction: { custid: custid.value, kind, amountCents: amount.value, occurredAt: occurredAt.value },
  };
}

type Fields = Record<string, unknown>;
type Parsed<T> = { ok: true; value: T } | Rejection;

function reject(reason: keyof typeof REJECT_REASONS, detail: string): Rejection {
  return { ok: false, reason: REJECT_REASONS[reason], detail };
}

function parseObject(value: Buffer | null | undefined, maxPayloadBytes: number): Parsed<Fields> {
  if (!value || value.length === 0) return reject('EMPTY_PAYLOAD', 'the record has no value');
  if (value.length > maxPayloadBytes)
    return reject('PAYLOAD_TOO_LARGE', `the record is ${value.length} bytes, the limit is ${maxPayloadBytes}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    // V8 quotes the offending text into its message: escaped, never stored raw.
    return reject('NOT_JSON', `the value is not JSON: ${printable((err as Error).message, 300)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return reject('NOT_AN_OBJECT', `expected a JSON object, got ${describe(parsed)}`);
  }
  return { ok: true, value: parsed as Fields };
}

function wholeNumber(fields: Fields, name: string): Parsed<number> {
  if (!(name in fields) || fields[name] === null) return reject('MISSING_FIELD', `field "${name}" is missing`);
  const value = fields[name];
  if (typeof value !== 'number')
    return reject('WRONG_TYPE', `field "${name}" must be a number, got ${describe(value)}`);
  if (!Number.isSafeInteger(value)) {
    const reason = name === 'amt' ? 'INVALID_AMOUNT' : name === 'custid' ? 'INVALID_CUSTID' : 'INVALID_DATE';
    return reject(reason, `field "${name}" must be a whole number, got ${value}`);
  }
  return { ok: true, value };
}

function customerId(fields: Fields): Parsed<number> {
  const custid = wholeNumber(fields, 'custid');
  if (custid.ok && custid.value <= 0) return reject('INVALID_CUSTID', `custid must be positive, got ${custid.value}`);
  return custid;
}

function epochSeconds(fields: Fields, name: string): Parsed<number> {
  const seconds = wholeNumber(fields, name);
  if (seconds.ok && (seconds.value < 0 || seconds.value > MAX_EPOCH_SECONDS)) {
    return reject(
      'INVALID_DATE',
      `field "${name}" must be epoch seconds between 0 and ${MAX_EPOCH_SECONDS}, got ${seconds.value}`,
    );
  }
  return seconds;
}

function personName(fields: Fields, name: string): Parsed<string> {
  if (!(name in fields) || fields[name] === null) return reject('MISSING_FIELD', `field "${name}" is missing`);
  const value = fields[name];
  if (typeof value !== 'string')
    return reject('WRONG_TYPE', `field "${name}" must be a string, got ${describe(value)}`);
  const trimmed = value.trim();
  // PostgreSQL text cannot hold NUL; an empty or huge name is a producer bug, not a customer.
  if (trimmed === '' || trimmed.length > MAX_NAME_LENGTH || trimmed.includes('\u0000')) {
    return reject('INVALID_NAME', `field "${name}" must be 1 to ${MAX_NAME_LENGTH} characters without NUL`);
  }
  return { ok: true, value: trimmed };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
