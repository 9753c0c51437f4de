// The operator's CLI as scripts and runbooks use it: every command and subcommand answers --help,
// status exits 3 while a branch needs attention, every command speaks JSON, and record contents
// cannot drive a terminal (C0 and C1 controls escaped). Against a real, migrated database.
import t from 'tap';
import { BROKERS, runNode, withDatabase, withTopics } from './helpers/fixtures.js';
import { sql } from './helpers/supervisor.js';
import { jsonLine } from '../src/cli/output.js';

const SUBCOMMANDS = [
  ['status'],
  ['rejected', 'list'],
  ['rejected', 'redrive'],
  ['parked', 'list'],
  ['gaps', 'list'],
  ['gaps', 'accept'],
];

t.test('every command, subcommand and group answers --help with its usage', async (t) => {
  for (const words of SUBCOMMANDS) {
    const help = await runNode('dist/cli.js', [...words, '--help']);
    t.equal(help.code, 0, `${words.join(' ')} --help: ${help.stderr}`);
    t.match(help.stdout, new RegExp(`^Usage: node dist/cli\\.js ${words.join(' ')}`), `${words.join(' ')}: its usage`);
    t.match(help.stdout, /--json/, 'and the common options');
  }
  for (const group of ['rejected', 'parked', 'gaps']) {
    const help = await runNode('dist/cli.js', [group, '--help']);
    t.equal(help.code, 0, `${group} --help`);
    t.match(help.stdout, new RegExp(`node dist/cli\\.js ${group} list`), `${group}: the commands under it`);
  }
  const all = await runNode('dist/cli.js', ['--help']);
  t.equal(all.code, 0);
  for (const words of SUBCOMMANDS) t.match(all.stdout, `node dist/cli.js ${words.join(' ')}`);
  const status = await runNode('dist/cli.js', ['status', '--help']);
  t.match(status.stdout, /Exit codes: 0 .*; 3 at least one is\s+stopped/s, 'status documents its exit codes');
  const unknown = await runNode('dist/cli.js', ['rejected', 'frobnicate']);
  t.equal(unknown.code, 2, 'an unknown subcommand is a usage error');
  t.match(unknown.stderr, /unknown command "rejected frobnicate"/);
});

t.test('status exits 3 while a branch needs attention; every command speaks JSON', async (t) => {
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = await withTopics(t, 2);
  const env = { DATABASE_URL: url, KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: C, TRANSACTIONS_TOPIC: E };

  const never = await runNode('dist/cli.js', ['status', '--partitions', '0-1', '--json'], env);
  t.equal(never.code, 3, `no supervisor has owned the branches: ${never.stderr}`);
  t.same(
    JSON.parse(never.stdout).map((r: { state: string }) => r.state),
    ['stopped', 'stopped'],
  );

  // A live owner on branch 0 that says why it does not move, and an expired one on branch 1.
  await sql(
    url,
    `INSERT INTO branch_lease (transactions_topic, "partition", owner, epoch, expires_at, stalled_reason, stalled_since)
     VALUES ($1, 0, 'pod-a', 1, now() + interval '1 hour', 'database schema or privileges: 42501 permission denied', now()),
            ($1, 1, 'pod-b', 1, now() - interval '1 minute', NULL, NULL)`,
    [E],
  );
  const table = await runNode('dist/cli.js', ['status', '--partitions', '0-1'], env);
  t.equal(table.code, 3);
  t.match(table.stdout, /branch 0: database schema or privileges: 42501 permission denied/);
  t.match(table.stdout, /branch 1: no live owner: the lease of pod-b expired/);
  await sql(url, `UPDATE branch_lease SET expires_at = now() + interval '1 hour', stalled_reason = NULL`);
  const healthy = await runNode('dist/cli.js', ['status', '--partitions', '0-1', '--json'], env);
  t.equal(healthy.code, 0, `every branch owned and moving: ${healthy.stderr}`);

  // A quarantined record whose bytes hold C0 and C1 controls (ESC, CSI) and a line separator.
  const hostile = '{"custid": 1, "note": "\u001b[31m\u009b31m\u2028"}';
  await sql(
    url,
    `INSERT INTO rejected_event (kafka_topic, kafka_partition, kafka_offset, raw_value, reason_code, detail)
     VALUES ($1, 0, 7, convert_to($2, 'UTF8'), 'missing_field', $3)`,
    [E, hostile, `type is missing in ${hostile}`],
  );
  const text = await runNode('dist/cli.js', ['rejected', 'list'], env);
  t.equal(text.code, 0);
  t.notMatch(
    text.stdout,
    /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/,
    'no raw control character reaches the terminal',
  );
  t.match(text.stdout, /\\u009b31m/, 'the C1 control is shown escaped');
  const json = await runNode('dist/cli.js', ['rejected', 'list', '--json'], env);
  t.notMatch(json.stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/, 'nor in JSON');
  t.equal(JSON.parse(json.stdout)[0]?.value, hostile, 'and the JSON still reads back exactly');

  const [row] = await sql<{ id: string }>(url, 'SELECT id FROM rejected_event');
  const redrive = await runNode(
    'dist/cli.js',
    [
      'rejected',
      'redrive',
      '--id',
      String(row!.id),
      '--value',
      '{"custid": 1, "type": "dep", "date": 1587398400, "amt": 5}',
      '--json',
    ],
    env,
  );
  t.equal(redrive.code, 0, redrive.stderr);
  t.match(JSON.parse(redrive.stdout), { id: Number(row!.id), branch: 0, offset: 7, parked: 1 }, 're-drive in JSON');
  const accept = await runNode('dist/cli.js', ['gaps', 'accept', '--branch', '0', '--json'], env);
  t.equal(accept.code, 0, accept.stderr);
  t.same(JSON.parse(accept.stdout), [], 'gaps accept in JSON: nothing was open');
  for (const words of [
    ['parked', 'list'],
    ['gaps', 'list'],
  ]) {
    const listed = await runNode('dist/cli.js', [...words, '--json'], env);
    t.equal(listed.code, 0);
    t.ok(Array.isArray(JSON.parse(listed.stdout)), `${words.join(' ')} --json is a JSON array`);
  }
});

t.test('jsonLine escapes what JSON.stringify leaves raw', async (t) => {
  const line = jsonLine({ v: 'a\u009bb\u0085c\u2028d\u007f' });
  t.equal(line, '{"v":"a\\u009bb\\u0085c\\u2028d\\u007f"}\n');
  t.same(JSON.parse(line), { v: 'a\u009bb\u0085c\u2028d\u007f' }, 'still the same value');
});
