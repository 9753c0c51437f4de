// Issue 25, point 7: a partition leader lost under load. On a three-node KRaft cluster
// (replication factor 3, min.insync.replicas 2) the broker that leads the branch's partitions is
// killed while a steady stream flows: the branch goes on after a bounded pause, every record is
// posted exactly once, and the fetch-stall check does not take the leader change for a consumer
// that stopped fetching.
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { json, kafkaScript, privateCluster, uniqueName, withDatabase } from './helpers/fixtures.js';
import { count, ledgerInvariants, sample, SupervisorProcess, sql, waitFor } from './helpers/supervisor.js';
import { ConfirmedProducer } from '../src/kafka/confirmed-producer.js';
import { ensureTopics } from '../src/kafka/ensure-topics.js';

const execFileAsync = promisify(execFile);

/** The node id leading partition 0 of a topic, from the cluster's metadata (kcat). */
async function leaderOf(brokers: string, topic: string): Promise<number> {
  const { stdout } = await execFileAsync('kcat', ['-L', '-b', brokers, '-t', topic, '-J']);
  const metadata = JSON.parse(stdout) as { topics: { partitions: { partition: number; leader: number }[] }[] };
  return metadata.topics[0]!.partitions.find((p) => p.partition === 0)!.leader;
}

t.test('the leader of the branch’s partitions is killed under a steady stream', async (t) => {
  const cluster = await privateCluster(t, 29092);
  const topics = {
    customersTopic: uniqueName('customers'),
    transactionsTopic: uniqueName('transactions'),
    partitions: 1,
  };
  const { customersTopic: C, transactionsTopic: E } = topics;
  await ensureTopics(cluster.brokers, [C, E], 1);
  const url = await withDatabase(t);
  const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0', '--brokers', cluster.brokers]);

  const producer = await ConfirmedProducer.connect(cluster.brokers, 'steady-stream');
  t.teardown(() => producer.close());
  await producer.send(C, 0, 'k', json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' }));
  let sent = 0;
  const stream = async (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      await producer.send(E, 0, 'k', json({ custid: 1, type: 'dep', date: 1587398300 + sent, amt: 100 }));
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  await stream(6_000);
  await waitFor(
    'the stream is posted as it flows',
    () => count(url, '"transaction"'),
    (n) => n > 0,
  );

  const leader = await leaderOf(cluster.brokers, E);
  const killedAt = Date.now();
  t.equal((await kafkaScript(['kill', String(leader)], cluster.env)).code, 0, `node ${leader}, the leader, killed`);
  await stream(15_000);
  await producer.confirmAll(120_000);
  t.not(await leaderOf(cluster.brokers, E), leader, 'another node leads the partition now');

  await waitFor(
    'every record of the stream posted',
    () => count(url, '"transaction"'),
    (n) => n === sent,
    120_000,
  );
  const invariants = await ledgerInvariants(url);
  t.equal(invariants.duplicates, 0, 'nothing posted twice');
  t.equal(invariants.balanceMismatches, 0);
  t.equal(await count(url, 'rejected_event'), 0, 'nothing rejected');

  // The pause: the longest wait between two consecutive ledger rows from the last one before the kill.
  const [gap] = await sql<{ seconds: number }>(
    url,
    `SELECT coalesce(max(next - posted), 0)::float8 AS seconds FROM (
       SELECT extract(epoch FROM posted_at) AS posted, extract(epoch FROM lead(posted_at) OVER (ORDER BY kafka_offset)) AS next
         FROM "transaction"
        WHERE posted_at >= (SELECT max(posted_at) FROM "transaction" WHERE posted_at < to_timestamp($1 / 1000.0))) p`,
    [killedAt],
  );
  t.ok((gap?.seconds ?? 99) < 30, `the branch went on after a bounded pause (${gap?.seconds.toFixed(1)} s)`);
  const metrics = (await supervisor.get('/metrics')).text;
  t.equal(sample(metrics, 'zipbank_kafka_fetch_stalls_total{branch="0"}'), 0, 'no fetch stall counted');
  t.notOk(
    supervisor.logs().some((l) => /the Kafka consumer stopped fetching/.test(String(l.msg))),
    'the leader change is not taken for a stalled consumer',
  );
  t.notOk(
    supervisor.logs().some((l) => l.msg === 'branch worker died'),
    'no worker died',
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0);
});
