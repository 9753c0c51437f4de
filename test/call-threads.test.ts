// The binding's blocking calls (consume among them) run on libuv's thread pool: the supervisor
// entry sizes it before the pool's first use (src/main.cts, src/kafka/call-threads.cts).
import t from 'tap';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import callThreads from '../src/kafka/call-threads.cjs';
import { withDatabase, withTopics } from './helpers/fixtures.js';
import { SupervisorProcess, waitFor } from './helpers/supervisor.js';

// A CommonJS module (for the entry's sake): its exports come as one object here.
const { branchesWithoutCallThread, poolSize, sizeCallThreads } = callThreads;
t.test('the entry gives the pool a thread for each of 64 branches unless a size is given', async (t) => {
  const sized = (value: string | undefined, execArgv: string[] = [], nodeOptions?: string) => {
    const env: NodeJS.ProcessEnv = {
      ...(value === undefined ? {} : { UV_THREADPOOL_SIZE: value }),
      ...(nodeOptions === undefined ? {} : { NODE_OPTIONS: nodeOptions }),
    };
    sizeCallThreads(env, execArgv);
    return env.UV_THREADPOOL_SIZE;
  };
  t.equal(sized(undefined), '68');
  t.equal(sized(''), '68', 'empty: libuv would take 1 thread');
  t.equal(sized('many'), '68', 'not a number: libuv would take 1 thread');
  t.equal(sized('0'), '68');
  t.equal(sized('12'), '12', 'a size given is kept');
  t.equal(
    sized(undefined, ['--import=./tracing.mjs']),
    undefined,
    'an ES module preloaded: the pool is in use already',
  );
  t.equal(
    sized(undefined, [], '--max-old-space-size=512 --loader ./hooks.mjs'),
    undefined,
    'the same from NODE_OPTIONS',
  );
  t.equal(sized(undefined, [], '"--import=file:///hooks.mjs"'), undefined, 'quoted');
  t.equal(
    sized(undefined, [], '--max-old-space-size=512 --require ./agent.cjs'),
    '68',
    'CommonJS preloads are read synchronously',
  );
  t.equal(poolSize(undefined), 4, "libuv's default");
  t.equal(poolSize(''), 1, 'as libuv reads it (atoi)');
  t.equal(poolSize('5000'), 1024, "libuv's upper bound");
  t.equal(branchesWithoutCallThread(64, 68), 0);
  t.equal(branchesWithoutCallThread(12, 8), 8, 'four of the eight threads are counted for Node itself');
});

/** Threads of a process that are not librdkafka's (those are named rdk:...). */
function nodeThreads(pid: number): number {
  return readdirSync(`/proc/${pid}/task`).filter((task) => {
    try {
      return !readFileSync(`/proc/${pid}/task/${task}/comm`, 'utf8').startsWith('rdk:');
    } catch {
      return false; // the thread ended meanwhile
    }
  }).length;
}

t.test('the supervisor runs with the pool its entry sized, and warns when branches must share it', async (t) => {
  const topics = await withTopics(t, 12);
  const url = await withDatabase(t);
  // The same supervisor three times: sized by its entry (68 threads), given 8, and with tap's
  // --import hook, which uses the pool before the entry runs (libuv's 4). The first two have the
  // same other threads, so their thread counts differ by 60; had anything used the pool before
  // the entry set the size, the first would have had 4 as well. (The hook has threads of its
  // own: the third is not counted.)
  const runs: {
    name: string;
    env: Record<string, string>;
    withoutTestHooks: boolean;
    threads: number;
    sharing: number;
  }[] = [
    { name: 'sized by the entry', env: {}, withoutTestHooks: true, threads: 68, sharing: 0 },
    { name: 'given 8', env: { UV_THREADPOOL_SIZE: '8' }, withoutTestHooks: true, threads: 8, sharing: 8 },
    { name: 'an ES module preloaded', env: {}, withoutTestHooks: false, threads: 4, sharing: 12 },
  ];
  const counts: number[] = [];
  for (const run of runs) {
    const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0-11'], run.env, {
      withoutTestHooks: run.withoutTestHooks,
    });
    await waitFor(
      '12 branches started',
      async () => supervisor.logs().filter((l) => l.msg === 'branch worker started').length,
      (n) => n === 12,
      90_000,
    );
    t.equal(
      supervisor.logs().find((l) => l.msg === 'supervisor started')?.kafkaCallThreads,
      run.threads,
      `${run.name}: the size is logged at start`,
    );
    const warning = supervisor.logs().find((l) => String(l.msg).includes('no Kafka call thread of their own'));
    if (run.sharing === 0) t.equal(warning, undefined, `${run.name}: no warning with a thread per branch`);
    else
      t.match(
        warning?.msg,
        new RegExp(`^${run.sharing} of up to 12 branches .* UV_THREADPOOL_SIZE=16`),
        `${run.name}: the warning says how many share and what to set`,
      );
    counts.push(nodeThreads(supervisor.child.pid!));
    t.equal((await supervisor.kill('SIGTERM')).code, 0);
  }
  const difference = counts[0]! - counts[1]!;
  t.ok(
    Math.abs(difference - 60) <= 3,
    `68 pool threads against 8: ${counts[0]} threads against ${counts[1]} (difference ${difference}, 60 expected)`,
  );
});

t.test('node dist/supervisor.js is the same sized supervisor, signals and all', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  // With tap's --import hook left in: the entry starts itself again with the size set from the
  // process's start, so even a preloaded ES module cannot leave it at libuv's 4.
  for (const withoutTestHooks of [true, false]) {
    const supervisor = new SupervisorProcess(
      t,
      topics,
      url,
      ['--partitions', '0'],
      {},
      {
        entry: 'dist/supervisor.js',
        withoutTestHooks,
      },
    );
    await waitFor(
      'the branch started',
      async () => supervisor.logs().filter((l) => l.msg === 'branch worker started').length,
      (n) => n === 1,
      60_000,
    );
    const started = supervisor.logs().find((l) => l.msg === 'supervisor started');
    t.equal(started?.kafkaCallThreads, 68, 'the pool is sized as by dist/main.cjs');
    const warning = supervisor.logs().find((l) => String(l.msg).includes('no Kafka call thread of their own'));
    t.equal(warning, undefined, 'and no branch is warned about');
    t.equal(
      nodeThreads(Number(started?.pid)) - nodeThreads(supervisor.child.pid!) > 60,
      true,
      'the supervisor process holds the 68 pool threads',
    );
    const exit = await supervisor.kill('SIGTERM');
    t.equal(exit.code, 0, 'SIGTERM reaches the supervisor, which stops cleanly; its exit code comes back');
    t.ok(supervisor.logs().some((l) => l.msg === 'supervisor stopped cleanly'));
  }

  // The entry's own process killed without a word: the supervisor it started stops by itself.
  const orphaned = new SupervisorProcess(
    t,
    topics,
    url,
    ['--partitions', '0'],
    {},
    {
      entry: 'dist/supervisor.js',
      withoutTestHooks: true,
    },
  );
  await waitFor(
    'the branch started',
    async () => orphaned.logs().filter((l) => l.msg === 'branch worker started').length,
    (n) => n === 1,
    60_000,
  );
  const pid = Number(orphaned.logs().find((l) => l.msg === 'supervisor started')?.pid);
  t.not(pid, orphaned.child.pid, 'the supervisor runs in the process the entry started');
  await orphaned.kill('SIGKILL');
  await waitFor(
    'the orphaned supervisor to stop',
    async () => existsSync(`/proc/${pid}`),
    (alive) => !alive,
    40_000,
  );
  t.pass('it stopped within its shutdown bound');
});
