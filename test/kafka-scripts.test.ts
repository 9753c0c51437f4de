// The local broker scripts, exercised on a second broker of their own (own folder, own ports),
// so the shared broker the other tests use is never disturbed.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { kafkaScript, privateBroker, runNode, uniqueName, BROKERS } from './helpers/fixtures.js';
import { TopicAdmin } from '../src/kafka/topic-admin.js';

t.test('kafka:start, status and stop are idempotent and recover from a crash', async (t) => {
  const { env } = await privateBroker(t, 19092);
  const dir = env.KAFKA_DIR!;

  const stopped = await kafkaScript('status', env);
  t.equal(stopped.code, 3, 'status exits 3 before the first start');
  t.match(stopped.out, /not running/);

  const first = await kafkaScript('start', env);
  t.equal(first.code, 0, 'first start succeeds', { out: first.out });
  t.match(
    first.out,
    new RegExp(`running on 127\\.0\\.0\\.1:19092 .*log: ${dir}/logs/server\\.log`),
    'start says where the log is',
  );

  const second = await kafkaScript('start', env);
  t.equal(second.code, 0);
  t.match(second.out, /already running/, 'a second start does nothing');
  const pid = Number(await readFile(path.join(dir, 'kafka.pid'), 'utf8'));
  t.match(second.out, new RegExp(`pid ${pid}\\b`), 'the same broker is still the one running');

  const admin = await TopicAdmin.connect('127.0.0.1:19092');
  const topic = uniqueName('crash-check');
  t.equal(await admin.createTopic(topic, 2), true, 'the broker serves clients');
  await admin.close();

  // A crash: the broker dies without cleaning up, leaving its pid file and lock behind.
  process.kill(pid, 'SIGKILL');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const afterCrash = await kafkaScript('status', env);
  t.equal(afterCrash.code, 3, 'status sees the crashed broker as stopped');

  const recovered = await kafkaScript('start', env);
  t.equal(recovered.code, 0, 'start after a crash succeeds', { out: recovered.out });
  const again = await TopicAdmin.connect('127.0.0.1:19092');
  t.equal(await again.partitionCount(topic), 2, 'the data written before the crash is still there');
  await again.close();

  const stop = await kafkaScript('stop', env);
  t.equal(stop.code, 0);
  t.match(stop.out, /stopped/);
  const stopAgain = await kafkaScript('stop', env);
  t.equal(stopAgain.code, 0, 'a second stop is fine');
  t.match(stopAgain.out, /not running/);
});

t.test('topics:create is idempotent, honours flags and environment, and reports too few partitions', async (t) => {
  const customersTopic = uniqueName('it-customers');
  const transactionsTopic = uniqueName('it-events');
  t.teardown(async () => {
    const admin = await TopicAdmin.connect(BROKERS);
    await admin.deleteTopic(customersTopic);
    await admin.deleteTopic(transactionsTopic);
    await admin.close();
  });
  const env = { KAFKA_BROKERS: BROKERS, CUSTOMERS_TOPIC: customersTopic, PARTITIONS: '3' };
  const created = await runNode('dist/setup/create-topics.js', ['--transactions-topic', transactionsTopic], env);
  t.equal(created.code, 0, 'creates', { stderr: created.stderr });
  t.match(created.stdout, new RegExp(`${customersTopic}: created, 3 partitions`));
  t.match(created.stdout, new RegExp(`${transactionsTopic}: created, 3 partitions`));

  const again = await runNode('dist/setup/create-topics.js', ['--transactions-topic', transactionsTopic], env);
  t.equal(again.code, 0, 'a second run succeeds');
  t.match(again.stdout, new RegExp(`${customersTopic}: exists, 3 partitions`));

  const admin = await TopicAdmin.connect(BROKERS);
  t.equal(await admin.partitionCount(customersTopic), 3);
  t.equal(await admin.partitionCount(transactionsTopic), 3);
  await admin.close();

  const tooFew = await runNode(
    'dist/setup/create-topics.js',
    ['--transactions-topic', transactionsTopic, '--partitions', '8'],
    env,
  );
  t.equal(tooFew.code, 1, 'asking for more partitions than exist fails');
  t.match(tooFew.stderr, /KAFKA_TOPIC_MISMATCH/);
  t.match(tooFew.stderr, new RegExp(`${customersTopic} has 3 partitions, 8 were asked for`));
});
