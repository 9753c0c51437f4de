// Guarantee 3, second half: a database outage is not bad input. The branch pauses, retries with
// backoff and resumes, rejecting nothing and without a worker dying.
import t from 'tap';
import { runNode, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, SupervisorProcess, waitFor } from './helpers/supervisor.js';
import { TcpProxy } from './helpers/tcp-proxy.js';

t.test(
  'a database outage pauses the branches, which resume afterwards without losing or rejecting anything',
  async (t) => {
    const topics = await withTopics(t, 2);
    const url = await withDatabase(t);
    const { proxy, url: proxiedUrl } = await TcpProxy.forDatabase(t, url);
    const produce = (seed: number, first: number) =>
      runNode('dist/lab/produce.js', [
        '--branches',
        '2',
        '--customers',
        '10',
        '--transactions',
        '2000',
        '--seed',
        String(seed),
        '--first-custid',
        String(first),
        '--customers-topic',
        topics.customersTopic,
        '--transactions-topic',
        topics.transactionsTopic,
      ]);

    t.equal((await produce(1, 1)).code, 0);
    const supervisor = new SupervisorProcess(t, topics, proxiedUrl, ['--partitions', '0-1', '--batch-size', '200']);
    await waitFor(
      'first load ingested',
      () => count(url, '"transaction"'),
      (n) => n === 2000,
    );

    await proxy.down();
    t.equal((await produce(2, 100)).code, 0, 'more records arrive during the outage');
    const retrying = (l: Record<string, unknown>) => /^could not write batch, retrying: /.test(String(l.msg));
    await waitFor(
      'the workers notice the outage',
      async () => supervisor.logs().filter(retrying).length,
      (n) => n >= 2,
      30_000,
    );
    const first = supervisor.logs().find(retrying);
    t.match(
      first?.msg,
      /cannot reach the database server at 127\.0\.0\.1:\d+/,
      'the log line says what is unreachable',
    );
    t.notMatch(JSON.stringify(first), /PrismaClient|\n\s+at /, 'one line, no Prisma stack');
    t.equal(await count(url, '"transaction"'), 2000, 'nothing is written while the database is unreachable');

    await proxy.up();
    await waitFor(
      'second load ingested after the outage',
      () => count(url, '"transaction"'),
      (n) => n === 4000,
      90_000,
    );
    t.equal(await count(url, 'rejected_event'), 0, 'nothing was rejected because of the outage');
    const invariants = await ledgerInvariants(url);
    t.equal(invariants.duplicates, 0);
    t.equal(invariants.balanceMismatches, 0);
    t.notOk(
      supervisor.logs().some((l) => l.msg === 'branch worker died'),
      'no worker died',
    );
    const retries = supervisor
      .logs()
      .filter(retrying)
      .map((l) => Number(l.delayMs));
    t.ok(
      retries.every((d) => d >= 200),
      `retries wait (${retries.slice(0, 6).join(', ')} ms ...)`,
    );
    const { code } = await supervisor.kill('SIGTERM');
    t.equal(code, 0);
  },
);
