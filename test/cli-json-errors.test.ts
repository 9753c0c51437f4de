// Issue 37, point 6: a CLI command run with --json that fails says so as exactly one JSON object on
// stderr, {"error":{"code":...,"message":...}} (with the problems of a bad configuration), and
// exits non-zero, so a script never parses text. Without --json the line of text is unchanged.
// A database nothing listens on, and a real, migrated one; no broker.
import t, { type Test } from 'tap';
import net from 'node:net';
import { runNode, uniqueName, withDatabase, type RunResult } from './helpers/fixtures.js';
import { sql } from './helpers/supervisor.js';

interface ErrorDocument {
  error: { code: string; message: string; problems?: string[] };
}

/** Stderr must be one JSON object on one line and nothing else; stdout must stay empty. */
function errorDocument(t: Test, result: RunResult): ErrorDocument['error'] | undefined {
  t.equal(result.stdout, '', 'nothing on stdout');
  const lines = result.stderr.split('\n').filter((l) => l !== '');
  t.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
  try {
    const parsed = JSON.parse(result.stderr) as ErrorDocument;
    t.same(Object.keys(parsed), ['error'], 'an object with the error only');
    return parsed.error;
  } catch (err) {
    t.fail(`stderr is not JSON: ${(err as Error).message}: ${result.stderr}`);
    return undefined;
  }
}

/** A port nothing listens on: one the system just handed out and took back. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

t.test('usage errors with --json: one JSON object with INVALID_CONFIG and the problems, exit 2', async (t) => {
  const badFlag = await runNode('dist/cli.js', ['gaps', 'list', '--json', '--bogus', '--branch', 'x']);
  t.equal(badFlag.code, 2);
  const flagError = errorDocument(t, badFlag);
  t.equal(flagError?.code, 'INVALID_CONFIG');
  t.match(flagError?.problems, [/Unknown option '--bogus'/]);

  const badValue = await runNode('dist/cli.js', ['gaps', 'accept', '--json']);
  t.equal(badValue.code, 2);
  const valueError = errorDocument(t, badValue);
  t.equal(valueError?.code, 'INVALID_CONFIG');
  t.match(valueError?.problems, [/branch/], 'the missing --branch, as a problem');

  const unknown = await runNode('dist/cli.js', ['rejected', 'frobnicate', '--json']);
  t.equal(unknown.code, 2);
  t.match(errorDocument(t, unknown), { code: 'INVALID_CONFIG', message: /unknown command "rejected frobnicate"/ });
});

t.test('a database nothing listens on: DATABASE_UNAVAILABLE as JSON with --json, as text without', async (t) => {
  const port = await closedPort();
  const env = { DATABASE_URL: `postgresql://postgres@127.0.0.1:${port}/zipbank` };
  for (const words of [['status'], ['gaps', 'list'], ['rejected', 'list']]) {
    const failed = await runNode('dist/cli.js', [...words, '--json'], env);
    t.equal(failed.code, 1, `${words.join(' ')}: exit 1`);
    t.match(
      errorDocument(t, failed),
      { code: 'DATABASE_UNAVAILABLE', message: new RegExp(`127\\.0\\.0\\.1:${port}`) },
      `${words.join(' ')}: the code and where`,
    );
  }
  const text = await runNode('dist/cli.js', ['status'], env);
  t.equal(text.code, 1);
  t.match(text.stderr, /^cli: DATABASE_UNAVAILABLE: cannot reach the database server at 127\.0\.0\.1:\d+\n$/);
});

t.test('an error a command throws against a real database: its code as JSON', async (t) => {
  const url = await withDatabase(t);
  const env = { DATABASE_URL: url, CUSTOMERS_TOPIC: uniqueName('customers'), TRANSACTIONS_TOPIC: uniqueName('events') };
  const missing = await runNode(
    'dist/cli.js',
    ['rejected', 'redrive', '--id', '424242', '--value', '{"custid": 1}', '--json'],
    env,
  );
  t.equal(missing.code, 1);
  t.match(errorDocument(t, missing), { code: 'DATABASE_ERROR', message: /rejected record 424242 does not exist/ });

  // A corrected value that is still bad is a data error: exit 2, its own code.
  const [rejected] = await sql<{ id: string }>(
    url,
    `INSERT INTO rejected_event (kafka_topic, kafka_partition, kafka_offset, raw_value, reason_code, detail)
     VALUES ($1, 0, 7, 'nope', 'not_json', 'test') RETURNING id`,
    [env.TRANSACTIONS_TOPIC],
  );
  const redrive = ['rejected', 'redrive', '--id', String(rejected?.id), '--value', 'still not json'];
  const dataError = await runNode('dist/cli.js', [...redrive, '--json'], env);
  t.equal(dataError.code, 2);
  t.match(errorDocument(t, dataError), { code: 'INVALID_RECORD', message: /still not acceptable: not_json/ });
  const text = await runNode('dist/cli.js', redrive, env);
  t.equal(text.code, 2);
  t.match(text.stderr, /^cli: data error: the corrected value is still not acceptable: not_json/, 'as text without');
});
