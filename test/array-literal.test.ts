import t from 'tap';
import pg from 'pg';
import { numberArrayLiteral, wordArrayLiteral } from '../src/db/array-literal.js';
import { SERVER_URL } from './helpers/fixtures.js';

t.test('number literals hold integers, fractions, negatives and nulls; anything else throws', async (t) => {
  t.equal(numberArrayLiteral([]), '{}');
  t.equal(numberArrayLiteral([1, -2, 3.5, null, 1_700_000_000_123]), '{1,-2,3.5,NULL,1700000000123}');
  t.throws(() => numberArrayLiteral([1, Number.NaN]), /element 1 is NaN/);
  t.throws(() => numberArrayLiteral([Number.POSITIVE_INFINITY]), /not a finite number/);
});

t.test('word literals take plain lower-case words only, never one Postgres reads as NULL', async (t) => {
  t.equal(wordArrayLiteral(['deposit', 'withdrawal']), '{deposit,withdrawal}');
  t.equal(wordArrayLiteral([]), '{}');
  for (const bad of ['null', 'a,b', 'Deposit', '"x"', '', 'a b', 'a}'])
    t.throws(() => wordArrayLiteral(['ok', bad]), /element 1/, JSON.stringify(bad));
});

t.test('Postgres reads the literals back as the same values', async (t) => {
  const client = new pg.Client({ connectionString: `${SERVER_URL}/postgres` });
  await client.connect();
  t.teardown(() => client.end());
  const numbers = [1, -2, null, 9_007_199_254_740_991];
  const {
    rows: [bigints],
  } = await client.query('SELECT $1::bigint[]::text[] AS v', [numberArrayLiteral(numbers)]);
  t.same(bigints.v, ['1', '-2', null, '9007199254740991']);
  const {
    rows: [floats],
  } = await client.query('SELECT $1::float8[] AS v', [numberArrayLiteral([0.5, 1587398219, null])]);
  t.same(floats.v, [0.5, 1587398219, null]);
  const {
    rows: [words],
  } = await client.query('SELECT $1::text[] AS v', [wordArrayLiteral(['deposit', 'withdrawal'])]);
  t.same(words.v, ['deposit', 'withdrawal']);
});
