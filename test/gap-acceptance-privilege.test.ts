// Issue 37, point 6: only the operator accepts an offset gap. The ingester's role may record gaps
// and recreated topics but Postgres refuses it any UPDATE of offset_gap; a recreated topic found
// at the offset of an earlier gap is recorded beside it (topic_recreation), and `cli gaps` shows
// both without calling the superseded gap open. Real Postgres and the roles of npm run db:roles;
// no broker.
import t from 'tap';
import { runNode, uniqueName, withDatabase } from './helpers/fixtures.js';
import { count, sql } from './helpers/supervisor.js';
import { withLeastPrivilegeRoles } from './helpers/db-roles.js';
import { createPrisma } from '../src/db/prisma.js';
import { recordTopicRecreation } from '../src/db/topic-recreation.js';

const INSUFFICIENT_PRIVILEGE = '42501';

const refusal = (url: string, statement: string) =>
  sql(url, statement).then(
    () => 'succeeded',
    (err: { code?: string }) => err.code,
  );

t.test('the ingester records gaps and recreations but cannot accept a gap; the operator can', async (t) => {
  const url = await withDatabase(t);
  const { ingester, operator, granted } = await withLeastPrivilegeRoles(t, url);
  t.equal(granted.code, 0, granted.stderr);
  const asRole = (role: string) => url.replace('postgres@', `${role}@`);
  const C = uniqueName('customers');
  const E = uniqueName('events');

  // Branch 0 stopped on a gap at ledger offset 40, then its topic found recreated there: the
  // cursor moves to the new topic (as src/worker/topic-incarnation.ts does, under its lease).
  await sql(
    url,
    `INSERT INTO consumer_offset (topic, "partition", next_offset, offset_base) VALUES ($1, 0, 40, 40), ($1, 1, 10, 0)`,
    [E],
  );
  await sql(
    asRole(ingester),
    `INSERT INTO offset_gap (topic, "partition", kind, expected_offset, first_available_offset, log_end_offset, detected_at)
     VALUES ($1, 0, 'deleted', 40, 70, 90, now() - interval '1 minute'), ($1, 1, 'deleted', 10, 25, 30, now())`,
    [E],
  );
  t.equal(await count(url, 'offset_gap'), 2, 'the ingester records gaps');

  for (const [what, statement] of [
    ['accepting a gap', 'UPDATE offset_gap SET accepted_at = now(), accepted_by = $$me$$'],
    [
      'recording a recreation over a gap (what earlier releases did)',
      `INSERT INTO offset_gap (topic, "partition", kind, expected_offset, first_available_offset, log_end_offset)
       VALUES ('${E}', 0, 'recreated', 40, 0, 5)
       ON CONFLICT (topic, "partition", expected_offset) DO UPDATE SET accepted_at = now()`,
    ],
    ['deleting a gap', 'DELETE FROM offset_gap'],
    ['rewriting a recreation', 'UPDATE topic_recreation SET recorded_by = $$me$$'],
  ] as const) {
    t.equal(await refusal(asRole(ingester), statement), INSUFFICIENT_PRIVILEGE, `as the ingester, ${what} is refused`);
  }
  t.equal(await count(url, 'offset_gap', 'accepted_at IS NOT NULL'), 0, 'no gap accepted by the ingester');

  const prisma = createPrisma(asRole(ingester), 1);
  t.teardown(() => prisma.$disconnect());
  const recreation = { topic: E, partition: 0, from: 40, kafka: { low: 0, high: 5 }, recordedBy: 'ingester: test' };
  await prisma.$transaction(async (tx) => recordTopicRecreation(tx, recreation));
  // A retry after a commit whose answer was lost records nothing twice.
  await prisma.$transaction(async (tx) => recordTopicRecreation(tx, recreation));
  t.equal(await count(url, 'topic_recreation'), 1, 'the ingester records the recreation once, beside the gap');
  t.equal(await count(url, 'offset_gap', `kind = 'deleted' AND accepted_at IS NULL`), 2, 'the gap rows untouched');

  const env = { DATABASE_URL: asRole(operator), CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };
  const listed = await runNode('dist/cli.js', ['gaps', 'list', '--json'], env);
  t.equal(listed.code, 0, listed.stderr);
  const entries = JSON.parse(listed.stdout) as { id: number; branch: number; kind: string; supersededBy: number }[];
  const [recreated] = await sql<{ id: string }>(url, 'SELECT id FROM topic_recreation');
  t.same(
    entries.map((e) => [e.branch, e.kind, e.supersededBy]),
    [
      [0, 'deleted', Number(recreated?.id)],
      [1, 'deleted', null],
      [0, 'recreated', null],
    ],
    'gaps and the recreation in the order found; the gap the branch went past is superseded',
  );
  const open = await runNode('dist/cli.js', ['gaps', 'list', '--open', '--json'], env);
  t.same(
    (JSON.parse(open.stdout) as { branch: number }[]).map((e) => e.branch),
    [1],
    'only the gap that stops its branch is open',
  );
  const text = await runNode('dist/cli.js', ['gaps', 'list', '--branch', '0'], env);
  t.match(text.stdout, /not accepted; the branch went on past it with a recreated topic \(recreation #\d+\)/);
  t.match(text.stdout, /recreation #\d+ .*\[0\]: topic deleted and created again; .* from 40; .* by ingester: test/);

  for (const branch of ['0', '1']) {
    const accepted = await runNode('dist/cli.js', ['gaps', 'accept', '--branch', branch, '--by', 'alice'], env);
    t.equal(accepted.code, 0, `the operator accepts branch ${branch}'s gap: ${accepted.stderr}`);
  }
  t.equal(await count(url, 'offset_gap', `accepted_by = 'alice'`), 2, 'accepted by the operator');
  t.same(
    await sql(url, 'SELECT "partition", next_offset FROM consumer_offset ORDER BY "partition"'),
    [
      { partition: 0, next_offset: '40' },
      { partition: 1, next_offset: '25' },
    ],
    'accepting moves a gap past its deleted records, but never the cursor of a recreated topic',
  );
});
