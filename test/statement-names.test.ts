// Each connection parses and plans a statement once (src/db/statement-names.ts): checked on
// the names themselves, and on a real server, where a connection lists the statements it has
// prepared in pg_prepared_statements.
import t from 'tap';
import { withDatabase } from './helpers/fixtures.js';
import { createPrisma } from '../src/db/prisma.js';
import { StatementNames } from '../src/db/statement-names.js';

const query = (sql: string) => ({ sql, args: [], argTypes: [] });

t.test('a statement is named by its text: the same text the same name, another text another', async (t) => {
  const names = new StatementNames();
  const first = names.nameOf(query('SELECT $1::int'));
  t.match(first, /^zipbank_[0-9a-f]{32}$/);
  t.equal(names.nameOf(query('SELECT $1::int')), first, 'the same text, the same name');
  t.not(names.nameOf(query('SELECT $1::bigint')), first, 'another text, another name');
  t.equal(new StatementNames().nameOf(query('SELECT $1::int')), first, 'the same name in every thread');
});

t.test('past 200 texts a statement goes unnamed, so a connection keeps a bounded number', async (t) => {
  const names = new StatementNames();
  const named = Array.from({ length: 200 }, (_, i) => names.nameOf(query(`SELECT ${i}`)));
  t.equal(new Set(named.filter((n) => n !== undefined)).size, 200, '200 texts, 200 names');
  t.equal(names.nameOf(query('SELECT 200')), undefined, 'the 201st text is unnamed');
  t.ok(names.nameOf(query('SELECT 5')), 'texts named before keep their name');
});

t.test('through Prisma, a repeated statement is prepared once on its connection and reused', async (t) => {
  const prisma = createPrisma(await withDatabase(t), 1);
  t.teardown(() => prisma.$disconnect());
  for (let i = 0; i < 3; i++) await prisma.$queryRaw`SELECT ${i}::int + 1 AS n`;
  const prepared = await prisma.$queryRaw<
    { name: string; statement: string }[]
  >`SELECT name, statement FROM pg_prepared_statements ORDER BY statement`;
  const ours = prepared.filter((p) => p.statement.includes('::int + 1'));
  t.equal(ours.length, 1, 'one prepared statement for three runs');
  t.match(ours[0]?.name, /^zipbank_/, 'under its text-derived name');
  t.ok(
    prepared.some((p) => p.statement.includes('pg_prepared_statements')),
    'the listing query is itself prepared',
  );
});
