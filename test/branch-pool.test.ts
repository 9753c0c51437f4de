// The supervisor's branch pool against the real broker and database, without a supervisor
// process: a branch the group gives back while its worker is still stopping (a member that
// thaws) must end with a running worker; BranchPool.start used to drop such a start.
import t from 'tap';
import { createLogger } from '../src/core/log.js';
import { compileQueryCompilerModule } from '../src/db/query-compiler-module.js';
import { consumerPacing } from '../src/kafka/consumer-pacing.js';
import { BranchPool } from '../src/supervisor/branch-pool.js';
import { BranchStatus } from '../src/supervisor/branch-status.js';
import { branchZeroConfig, withDatabase, withTopics } from './helpers/fixtures.js';
import { waitFor } from './helpers/supervisor.js';

t.test('a start while the branch still stops ends with a running worker', async (t) => {
  const databaseUrl = await withDatabase(t);
  const topics = await withTopics(t, 1);
  const config = branchZeroConfig(databaseUrl, topics);
  const status = new BranchStatus([0]);
  let readyEvents = 0;
  const record = status.record.bind(status);
  status.record = (event) => {
    if (event.type === 'ready') readyEvents++;
    record(event);
  };
  const pool = new BranchPool({
    config,
    log: createLogger('warn'),
    status,
    branches: { min: 1, max: 1 },
    pacing: consumerPacing(1, 68, config.lingerMs),
    queryCompilerModule: await compileQueryCompilerModule(),
    workerFile: new URL('../dist/worker/branch-worker.bundle.js', import.meta.url).href,
  });
  t.teardown(async () => {
    pool.stopAll();
    await pool.destroy();
  });

  pool.start(0);
  await waitFor(
    'the first worker ready',
    async () => readyEvents,
    (n) => n === 1,
    60_000,
  );

  // Revoked, and assigned again before the worker has stopped.
  const stopping = pool.stop(0);
  pool.start(0);
  await stopping;
  await waitFor(
    'a second worker ready',
    async () => readyEvents,
    (n) => n === 2,
    60_000,
  ).catch(() => undefined);
  t.equal(readyEvents, 2, 'a new worker started once the old one had stopped');
  t.same(pool.running, [0], 'and the branch runs');
  t.same(status.readiness.notReady(), [], 'ready');

  // Revoked again while stopping: the pending start is withdrawn.
  const again = pool.stop(0);
  pool.start(0);
  await pool.stop(0);
  await again;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  t.same(pool.running, [], 'a stop after the start wins: nothing runs');
});
