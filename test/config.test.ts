import t from 'tap';
import { parsePartitionList } from '../src/core/partition-list.js';
import { readFileSync } from 'node:fs';
import { HELP, loadConfig } from '../src/config/ingester-config.js';
import { INTEGER_SETTINGS, settingsMarkdown, TEXT_SETTINGS } from '../src/config/settings.js';
import { ConfigError } from '../src/core/errors.js';
import { assembleBatch } from '../src/ingest/batch.js';
import { runNode } from './helpers/fixtures.js';
import { threadsFor } from '../src/supervisor/branch-pool.js';
import { consumerPacing, emptyWaitMs } from '../src/kafka/consumer-pacing.js';

t.test('partition lists', async (t) => {
  t.same(parsePartitionList('0-7').partitions, [0, 1, 2, 3, 4, 5, 6, 7]);
  t.same(parsePartitionList('0,3,5').partitions, [0, 3, 5]);
  t.same(parsePartitionList('2-4,7').partitions, [2, 3, 4, 7]);
  t.same(parsePartitionList('3,1-2,3').partitions, [1, 2, 3], 'sorted and unique');
  t.equal(parsePartitionList('4-2').problems.length, 1, 'backwards range');
  t.equal(parsePartitionList('a,1').problems.length, 1, 'not a number');
  t.equal(parsePartitionList('').problems.length, 1, 'empty');
});

t.test('configuration reports every bad value in one error', async (t) => {
  const error = t.throws(() =>
    loadConfig([
      '--partitions',
      '3-1',
      '--batch-size',
      '0',
      '--linger-ms',
      'soon',
      '--log-level',
      'chatty',
      '--database-url',
      'mysql://x/y',
    ]),
  );
  t.ok(error instanceof ConfigError);
  t.equal((error as ConfigError).problems.length, 5, (error as ConfigError).message);
  const ok = loadConfig(['--partitions', '2-4,7', '--batch-size', '100']);
  t.ok(!ok.help && Object.isFrozen(ok.config), 'configuration is frozen');
  if (!ok.help) t.same(ok.config.partitions, [2, 3, 4, 7]);
});

t.test(
  'branches per thread: 1 by default, from the flag or BRANCHES_PER_THREAD; the threads and the consumer pacing that follow',
  async (t) => {
    const byDefault = loadConfig([]);
    if (!byDefault.help)
      t.equal(byDefault.config.branchesPerThread, 1, 'a thread per branch by default (the design card)');
    const flagged = loadConfig(['--branches-per-thread', '8']);
    if (!flagged.help) t.equal(flagged.config.branchesPerThread, 8);
    process.env.BRANCHES_PER_THREAD = '4';
    try {
      const fromEnv = loadConfig([]);
      if (!fromEnv.help) t.equal(fromEnv.config.branchesPerThread, 4, 'from the environment');
    } finally {
      delete process.env.BRANCHES_PER_THREAD;
    }
    t.throws(() => loadConfig(['--branches-per-thread', '0']), /branches-per-thread/, '0 is refused');
    t.same(
      [1, 8, 9, 64].map((n) => threadsFor(n, 8)),
      [1, 1, 2, 8],
      'threads: branches / k, rounded up',
    );
    t.same(
      [1, 8, 16, 64, 80, 256].map(emptyWaitMs),
      [50, 50, 100, 400, 500, 500],
      'empty asks spaced out as branches grow, within 50..500 ms',
    );
    t.same(
      consumerPacing(64, 68, 0),
      { fetchWaitMs: 400, idleWaitMs: 1000 },
      '64 branches with call threads of their own: the broker waits 400 ms, a consume call 1 s',
    );
    t.same(
      consumerPacing(8, 68, 0),
      { fetchWaitMs: 50, idleWaitMs: 1000 },
      '8 branches keep the 50 ms fetch wait; a consume call still waits 1 s for a first record',
    );
    t.same(
      consumerPacing(64, 4, 0),
      { fetchWaitMs: 400, idleWaitMs: 50 },
      'branches sharing call threads wait 50 ms, not the whole idle wait, so a thread is not held',
    );
    t.equal(consumerPacing(64, 4, 200).idleWaitMs, 200, 'or the linger time when that is longer');
    t.equal(consumerPacing(8, 68, 2000).idleWaitMs, 2000, 'nor less than it');
  },
);

t.test('the supervisor exits 2 naming every bad value, and --help lists the options', async (t) => {
  const bad = await runNode('dist/main.cjs', ['--partitions', 'x', '--batch-size=-1'], { LINGER_MS: 'never' });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /partitions: "x"/);
  t.match(bad.stderr, /batch-size/);
  t.match(bad.stderr, /linger-ms must be a whole number/);
  const help = await runNode('dist/main.cjs', ['--help']);
  t.equal(help.code, 0);
  for (const flag of [
    '--partitions',
    '--brokers',
    '--database-url',
    '--customers-topic',
    '--transactions-topic',
    '--batch-size',
    '--linger-ms',
    '--branches-per-thread',
    '--log-level',
  ]) {
    t.match(help.stdout, flag, `help lists ${flag}`);
  }
});

t.test('a batch splits customers, transactions and rejections, and tracks next offsets', async (t) => {
  const topics = { customers: 'c', transactions: 'e' };
  const rec = (topic: string, offset: number, value: unknown) => ({
    topic,
    partition: 0,
    offset,
    key: null,
    value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  });
  const batch = assembleBatch(
    [
      rec('e', 11, { custid: 1, type: 'dep', date: 5, amt: 3 }),
      rec('c', 4, { custid: 1, createdate: 1, fname: 'A', lname: 'B' }),
      rec('e', 10, { custid: 1, type: 'W', date: 4, amt: 2 }),
      rec('c', 5, { custid: 1, createdate: 1, fname: 'A', lname: 'B' }),
      rec('c', 6, { custid: 1, createdate: 1, fname: 'Other', lname: 'B' }),
      rec('e', 12, 'garbage'),
    ],
    topics,
    1000,
  );
  t.equal(batch.customers.length, 1, 'an identical repeat is not a second customer');
  t.same(
    batch.transactions.map((x) => x.offset),
    [10, 11],
    'transactions in offset order',
  );
  t.same(
    batch.rejected.map((r) => [r.source.offset, r.reason]),
    [
      [6, 'customer_conflict'],
      [12, 'not_json'],
    ],
  );
  t.same(Object.fromEntries(batch.nextOffsets), { c: 7, e: 13 });
});

t.test('one table of settings feeds loadConfig, --help and the README', async (t) => {
  const loaded = loadConfig([]);
  if (loaded.help) throw new Error('unexpected --help');
  for (const [field, setting] of Object.entries(INTEGER_SETTINGS)) {
    t.equal(loaded.config[field as keyof typeof INTEGER_SETTINGS], setting.default, `${field}: the table's default`);
    t.match(HELP, `--${setting.flag} <n>`, `--help lists --${setting.flag}`);
    t.match(
      HELP,
      `${setting.variable}, default ${setting.default})`,
      `--help gives ${setting.variable} and its default`,
    );
  }
  const viaFlag = loadConfig(['--batch-size', '77']);
  t.equal(viaFlag.help === false && viaFlag.config.batchSize, 77, 'a flag from the table is read');
  const tooSmall = (() => {
    try {
      loadConfig(['--batch-size', '0']);
    } catch (err) {
      return (err as ConfigError).problems;
    }
  })();
  t.match(tooSmall, [/batch-size must be between 1 and 50000/], "the table's bounds are enforced");
  for (const setting of Object.values(TEXT_SETTINGS)) t.match(HELP, `--${setting.flag} <`);

  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('\n', readme.indexOf('<!-- settings table:')) + 1;
  const end = readme.indexOf('<!-- end of settings table -->');
  t.ok(start > 0 && end > start, 'the README has the settings table markers');
  t.equal(
    readme.slice(start, end).trim(),
    settingsMarkdown(),
    'the README table is the generated one (npm run docs:config)',
  );
});
