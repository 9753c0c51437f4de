// --branches-per-thread k: k branches share a worker thread and its one Postgres connection (the
// default, 1, is a thread per branch). Against the real broker and Postgres: every branch still
// posts exactly once; the supervisor runs branches/k threads and branches/k connections; a thread
// that dies takes exactly its own branches with it, and they are restarted without a loss.
import t from 'tap';
import { json, sendRecords, withDatabase, withTopics, type TestTopics } from './helpers/fixtures.js';
import { count, ledgerInvariants, sql, SupervisorProcess, waitFor } from './helpers/supervisor.js';

const BRANCHES = 4;

/** A customer per branch, then `deposits` deposits of 1.00 each. */
function customersAndDeposits(topics: TestTopics, deposits: number): [string, number, Buffer][] {
  const records: [string, number, Buffer][] = [];
  for (let branch = 0; branch < BRANCHES; branch++) {
    records.push([
      topics.customersTopic,
      branch,
      json({ custid: 100 + branch, createdate: 1587398219, fname: 'Ada', lname: `Branch${branch}` }),
    ]);
    for (let i = 0; i < deposits; i++)
      records.push([
        topics.transactionsTopic,
        branch,
        json({ custid: 100 + branch, type: 'dep', date: 1587398300 + i, amt: 100 }),
      ]);
  }
  return records;
}

/** The thread each branch runs on, from the last 'branch worker started' line of each. */
function threadsOfBranches(supervisor: SupervisorProcess): Map<number, number> {
  const started = supervisor.logs().filter((l) => l.msg === 'branch worker started');
  return new Map(started.map((l) => [Number(l.branch), Number(l.thread)]));
}

async function supervisorConnections(url: string): Promise<number> {
  const [row] = await sql<{ n: string }>(
    url,
    'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
  );
  return Number(row?.n ?? 0);
}

t.test('two branches to a thread: half the threads and connections, every record once', async (t) => {
  const topics = await withTopics(t, BRANCHES);
  const url = await withDatabase(t);
  await sendRecords(customersAndDeposits(topics, 50));
  // Started as in production: a Kafka call thread per branch (the pacing a deployment gets).
  const supervisor = new SupervisorProcess(
    t,
    topics,
    url,
    ['--partitions', `0-${BRANCHES - 1}`, '--branches-per-thread', '2', '--linger-ms', '20'],
    {},
    { withoutTestHooks: true },
  );
  await waitFor(
    'all posted',
    () => count(url, '"transaction"'),
    (n) => n === BRANCHES * 50,
    60_000,
  );
  const workers = supervisor.logs().find((l) => l.msg === 'branch workers');
  t.match(
    workers,
    { branches: BRANCHES, branchesPerThread: 2, workerThreads: 2, idleWaitMs: 1000, fetchWaitMs: 50 },
    'the supervisor logs its threads and the consumer pacing',
  );
  const threads = threadsOfBranches(supervisor);
  t.equal(threads.size, BRANCHES, 'every branch started');
  const perThread = new Map<number, number>();
  for (const thread of threads.values()) perThread.set(thread, (perThread.get(thread) ?? 0) + 1);
  t.same([...perThread.values()].sort(), [2, 2], `two threads, two branches each (${JSON.stringify([...threads])})`);
  t.equal(
    await waitFor(
      'the connections settle',
      () => supervisorConnections(url),
      (n) => n <= 2,
      10_000,
    ),
    2,
    'one Postgres connection per thread',
  );
  for (let branch = 0; branch < BRANCHES; branch++)
    t.equal(await count(url, '"transaction"', `kafka_partition = ${branch}`), 50, `branch ${branch} posted its 50`);
  t.same(
    await ledgerInvariants(url),
    { duplicates: 0, balanceMismatches: 0, netCents: BRANCHES * 50 * 100 },
    'no duplicate, balances equal the ledger',
  );
  t.equal((await supervisor.kill('SIGTERM')).code, 0, 'it stops cleanly');
  t.equal(await supervisorConnections(url), 0, 'and closes its connections');
});

t.test('a shared thread that dies restarts its own branches only; nothing is lost', async (t) => {
  const topics = await withTopics(t, BRANCHES);
  const url = await withDatabase(t);
  await sendRecords(customersAndDeposits(topics, 20));
  // Branch 1's thread exhausts its heap after its first batch.
  const supervisor = new SupervisorProcess(
    t,
    topics,
    url,
    ['--partitions', `0-${BRANCHES - 1}`, '--branches-per-thread', '2', '--worker-heap-mb', '64', '--linger-ms', '20'],
    { ZIPBANK_FAULT_HEAP_BRANCH: '1:1' },
  );
  await waitFor(
    'branch 1 hit its heap limit and was restarted',
    async () => supervisor.logs().filter((l) => l.msg === 'restarting branch worker' && l.branch === 1).length,
    (n) => n >= 1,
    60_000,
  );
  t.match(
    JSON.stringify(supervisor.logs().find((l) => l.msg === 'branch worker died' && l.branch === 1)?.err),
    /ERR_WORKER_OUT_OF_MEMORY/,
    'the thread was ended by its heap limit',
  );
  // The fault fires after each run's first batch, so branch 1 (and its thread's other branch)
  // may die again until its records are in; each run commits whole batches, none twice.
  await waitFor(
    'every branch posted all its records',
    () => count(url, '"transaction"'),
    (n) => n === BRANCHES * 20,
    90_000,
  );
  t.equal(supervisor.child.exitCode, null, 'the process is alive');
  for (let branch = 0; branch < BRANCHES; branch++)
    t.equal(await count(url, '"transaction"', `kafka_partition = ${branch}`), 20, `branch ${branch} posted its 20`);
  // A branch whose thread ran out of heap died of it too: that names the branch that shared
  // branch 1's thread, however often the pair died and where they were started again.
  const diedOfTheHeap = [
    ...new Set(
      supervisor
        .logs()
        .filter((l) => l.msg === 'branch worker died' && /ERR_WORKER_OUT_OF_MEMORY/.test(JSON.stringify(l.err)))
        .map((l) => Number(l.branch)),
    ),
  ].sort();
  const sharing = diedOfTheHeap.filter((branch) => branch !== 1);
  t.equal(sharing.length, 1, `one other branch shared branch 1's thread and died with it (${sharing.join(', ')})`);
  const restarted = [
    ...new Set(
      supervisor
        .logs()
        .filter((l) => l.msg === 'restarting branch worker')
        .map((l) => Number(l.branch)),
    ),
  ].sort();
  t.same(
    restarted,
    [1, sharing[0]].sort(),
    `branch 1 and the branch of its thread were restarted, the other thread's were not (restarted: ${restarted.join(', ')})`,
  );
  const summary = await ledgerInvariants(url);
  t.equal(summary.duplicates, 0, 'no record posted twice');
  t.equal(summary.balanceMismatches, 0, 'balances equal the ledger');
  t.equal((await supervisor.kill('SIGTERM')).code, 0, 'it stops cleanly');
});
