import t from 'tap';
import { parseCustomer, parseTransaction } from '../src/ingest/event-parser.js';

const MAX = 65_536;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

t.test('every spelling of a transaction type the lab uses is accepted, in any case', async (t) => {
  for (const [type, kind] of [
    ['dep', 'deposit'],
    ['Dep', 'deposit'],
    ['D', 'deposit'],
    ['d', 'deposit'],
    ['DEPOSIT', 'deposit'],
    ['wth', 'withdrawal'],
    ['Wth', 'withdrawal'],
    ['W', 'withdrawal'],
    ['Withdrawal', 'withdrawal'],
  ]) {
    const parsed = parseTransaction(json({ custid: 55, type, date: 1587398219, amt: 10000 }), MAX);
    t.same(
      parsed,
      { ok: true, transaction: { custid: 55, kind, amountCents: 10000, occurredAt: 1587398219 } },
      `type ${type}`,
    );
  }
});

t.test('bad transactions are rejected with a reason code', async (t) => {
  const cases: [string, Buffer | null, string][] = [
    ['no value', null, 'empty_payload'],
    ['not JSON', Buffer.from('{custid: 55'), 'not_json'],
    ['invalid UTF-8 garbage', Buffer.from([0xff, 0xfe, 0x00]), 'not_json'],
    ['an array', json([1, 2]), 'not_an_object'],
    ['a number', json(42), 'not_an_object'],
    ['missing custid', json({ type: 'dep', date: 1, amt: 1 }), 'missing_field'],
    ['missing amt', json({ custid: 1, type: 'dep', date: 1 }), 'missing_field'],
    ['missing type', json({ custid: 1, date: 1, amt: 1 }), 'missing_field'],
    ['amt as a string', json({ custid: 1, type: 'dep', date: 1, amt: '100' }), 'wrong_type'],
    ['custid as a string', json({ custid: '55', type: 'dep', date: 1, amt: 1 }), 'wrong_type'],
    ['fractional amount', json({ custid: 1, type: 'dep', date: 1, amt: 10.5 }), 'invalid_amount'],
    ['zero amount', json({ custid: 1, type: 'dep', date: 1, amt: 0 }), 'invalid_amount'],
    ['negative amount', json({ custid: 1, type: 'wth', date: 1, amt: -5 }), 'invalid_amount'],
    ['unknown type', json({ custid: 1, type: 'refund', date: 1, amt: 5 }), 'unknown_type'],
    ['negative date', json({ custid: 1, type: 'dep', date: -1, amt: 5 }), 'invalid_date'],
    ['date past year 9999', json({ custid: 1, type: 'dep', date: 1e13, amt: 5 }), 'invalid_date'],
    ['fractional date', json({ custid: 1, type: 'dep', date: 1.5, amt: 5 }), 'invalid_date'],
    ['zero custid', json({ custid: 0, type: 'dep', date: 1, amt: 5 }), 'invalid_custid'],
  ];
  for (const [name, value, reason] of cases) {
    const parsed = parseTransaction(value, MAX);
    t.equal(parsed.ok, false, `${name} is rejected`);
    if (!parsed.ok) {
      t.equal(parsed.reason, reason, `${name}: ${reason}`);
      t.ok(parsed.detail.length > 0, `${name}: has a detail`);
    }
  }
});

t.test('an oversized payload is rejected unread', async (t) => {
  const big = Buffer.alloc(1000, 0x20);
  const parsed = parseTransaction(big, 999);
  t.same(parsed.ok ? undefined : parsed.reason, 'payload_too_large');
});

t.test('customers: the lab shape is accepted, bad ones are rejected', async (t) => {
  t.same(parseCustomer(json({ custid: 56, createdate: 1587398301, fname: 'Todd', lname: 'Cushman' }), MAX), {
    ok: true,
    customer: { custid: 56, createdAt: 1587398301, firstName: 'Todd', lastName: 'Cushman' },
  });
  const bad: [unknown, string][] = [
    [{ createdate: 1, fname: 'a', lname: 'b' }, 'missing_field'],
    [{ custid: 1, fname: 'a', lname: 'b' }, 'missing_field'],
    [{ custid: 1, createdate: 1, fname: 7, lname: 'b' }, 'wrong_type'],
    [{ custid: 1, createdate: 1, fname: '  ', lname: 'b' }, 'invalid_name'],
    [{ custid: 1, createdate: 1, fname: 'a\u0000b', lname: 'b' }, 'invalid_name'],
    [{ custid: -3, createdate: 1, fname: 'a', lname: 'b' }, 'invalid_custid'],
    [{ custid: 1, createdate: 'yesterday', fname: 'a', lname: 'b' }, 'wrong_type'],
  ];
  for (const [value, reason] of bad) {
    const parsed = parseCustomer(json(value), MAX);
    t.equal(parsed.ok ? 'accepted' : parsed.reason, reason, JSON.stringify(value));
  }
});
