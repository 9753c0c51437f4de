// The lab's random producer, made reproducible: the events a run sends, per branch, in the lab's
// JSON shapes. Pure logic (no Kafka), so the plan can be tested and summed without a broker.
import { SeededRandom } from './seeded-random.js';

export interface CustomerEvent {
  custid: number;
  createdate: number;
  fname: string;
  lname: string;
}

export interface TransactionEvent {
  custid: number;
  type: 'dep' | 'wth';
  date: number;
  amt: number;
}

export interface LoadPlan {
  branches: number;
  /** Customers in total, spread round-robin over the branches (customer k goes to branch k % branches). */
  customers: number;
  /** Transactions in total, spread the same way; each is for a customer of its own branch. */
  transactions: number;
  seed: number;
  /** First customer id; ids are consecutive from here. */
  firstCustid: number;
  /** Epoch seconds of the first event; later events move forward a few seconds each. */
  startDate: number;
  /** Largest amount in cents (the smallest is 1). */
  maxAmountCents: number;
}

export interface BranchExpectation {
  branch: number;
  customers: number;
  transactions: number;
  deposits: number;
  withdrawals: number;
  /** Sum of deposits minus sum of withdrawals, in cents. */
  netCents: number;
  /** Bytes of the transaction records' values. */
  bytes: number;
}

/** The produce tool's fixed plan settings, shared with the benchmark so both make the same rows. */
export const LAB_START_DATE = 1587398219;
export const LAB_MAX_AMOUNT_CENTS = 100_000;

const FIRST_NAMES = [
  'Todd',
  'Ada',
  'Grace',
  'Linus',
  'Margaret',
  'Alan',
  'Barbara',
  'Ken',
  'Edsger',
  'Frances',
  'Donald',
  'Radia',
];
const LAST_NAMES = [
  'Cushman',
  'Lovelace',
  'Hopper',
  'Torvalds',
  'Hamilton',
  'Turing',
  'Liskov',
  'Thompson',
  'Dijkstra',
  'Allen',
  'Knuth',
  'Perlman',
];

/** How many of `total` items fall on `branch` when spread round-robin over `branches`. */
export function shareOf(total: number, branches: number, branch: number): number {
  return Math.floor(total / branches) + (branch < total % branches ? 1 : 0);
}

/** Customer events of one branch, in the order they are sent. */
export function* customersOfBranch(plan: LoadPlan, branch: number): Generator<CustomerEvent> {
  const random = new SeededRandom(plan.seed ^ (branch * 0x9e3779b1));
  const count = shareOf(plan.customers, plan.branches, branch);
  for (let i = 0; i < count; i++) {
    const index = branch + i * plan.branches;
    yield {
      custid: plan.firstCustid + index,
      createdate: plan.startDate + index,
      fname: random.pick(FIRST_NAMES),
      lname: random.pick(LAST_NAMES),
    };
  }
}

/** Transaction events of one branch, each for one of that branch's customers. */
export function* transactionsOfBranch(plan: LoadPlan, branch: number): Generator<TransactionEvent> {
  const customers = shareOf(plan.customers, plan.branches, branch);
  if (customers === 0) return;
  const random = new SeededRandom((plan.seed + 1) ^ (branch * 0x85ebca6b));
  const count = shareOf(plan.transactions, plan.branches, branch);
  let date = plan.startDate + plan.customers;
  for (let i = 0; i < count; i++) {
    date += random.int(0, 5);
    yield {
      custid: plan.firstCustid + branch + random.int(0, customers - 1) * plan.branches,
      type: random.next() < 0.6 ? 'dep' : 'wth',
      date,
      amt: random.int(1, plan.maxAmountCents),
    };
  }
}

/** What a run of this plan sends to one branch, computed without sending it. */
export function expectationOf(plan: LoadPlan, branch: number): BranchExpectation {
  const result: BranchExpectation = {
    branch,
    customers: 0,
    transactions: 0,
    deposits: 0,
    withdrawals: 0,
    netCents: 0,
    bytes: 0,
  };
  for (const _ of customersOfBranch(plan, branch)) result.customers++;
  for (const t of transactionsOfBranch(plan, branch)) tallyTransaction(result, t, encodeEvent(t).length);
  return result;
}

/** Adds one transaction to a branch's counts and expected net balance. */
export function tallyTransaction(into: BranchExpectation, event: TransactionEvent, bytes: number): void {
  into.transactions++;
  into.bytes += bytes;
  if (event.type === 'dep') {
    into.deposits++;
    into.netCents += event.amt;
  } else {
    into.withdrawals++;
    into.netCents -= event.amt;
  }
}

/** The record value a branch application sends: the lab's JSON. */
export function encodeEvent(event: CustomerEvent | TransactionEvent): Buffer {
  return Buffer.from(JSON.stringify(event));
}

/** How a producer writes record values: the lab's JSON, or Kafka Connect's JSON with its schema. */
export type ValueFormat = 'lab' | 'connect-json';
export const VALUE_FORMATS: readonly ValueFormat[] = ['lab', 'connect-json'];

const CONNECT_SCHEMAS = {
  customer: connectStruct('zipbank.customer', {
    custid: 'int64',
    createdate: 'int64',
    fname: 'string',
    lname: 'string',
  }),
  transaction: connectStruct('zipbank.transaction', { custid: 'int64', type: 'string', date: 'int64', amt: 'int64' }),
};

function connectStruct(name: string, fields: Record<string, string>) {
  return {
    type: 'struct',
    name,
    optional: false,
    fields: Object.entries(fields).map(([field, type]) => ({ field, type, optional: false })),
  };
}

/**
 * The same event in Kafka Connect's JsonConverter format with schemas enabled: a JDBC sink
 * connector (the peer the benchmark measures) needs a schema to map fields to columns.
 */
export function encodeEventWithSchema(event: CustomerEvent | TransactionEvent): Buffer {
  const schema = 'fname' in event ? CONNECT_SCHEMAS.customer : CONNECT_SCHEMAS.transaction;
  return Buffer.from(JSON.stringify({ schema, payload: event }));
}
