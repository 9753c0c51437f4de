// The branch worker's pure parts, without a broker or a database: the chores' table of
// intervals, the fault-injection seam, and the order in which a branch's events leave.
import t from 'tap';
import { MessageChannel } from 'node:worker_threads';
import { Chores } from '../src/worker/chores.js';
import { FaultInjector } from '../src/worker/fault-injection.js';
import { BranchEvents } from '../src/worker/branch-events.js';
import type { WorkerEvent } from '../src/worker/protocol.js';

t.test('a chore is due once its interval has passed since it last ran', async (t) => {
  const chores = new Chores({ health: 2_000, stats: 10_000 }, { stats: 1_000 });
  t.ok(chores.due('health', 1_000), 'never run: due at once');
  t.notOk(chores.due('stats', 5_000), 'counted from the start it was given');
  t.ok(chores.due('stats', 11_000));
  chores.ran('health', 1_000);
  t.notOk(chores.due('health', 2_999));
  t.ok(chores.due('health', 3_000));
  t.equal(chores.sinceLastRun('health', 3_500), 2_500);
});

/** A collection that counts its calls and hands over one record-less batch each time. */
function countingCollection(): { collect: () => Promise<never[]>; calls: () => number } {
  let calls = 0;
  return {
    collect: async () => {
      calls++;
      return [];
    },
    calls: () => calls,
  };
}

t.test('the fault seam is inert unless a variable names the branch', async (t) => {
  const signal = new AbortController().signal;
  const none = new FaultInjector(3, {});
  const { collect } = countingCollection();
  t.equal(none.collection(collect, 10, signal), collect, 'the collection is not even wrapped');
  for (let batches = 1; batches < 100; batches++) none.afterBatch(batches, () => t.fail('no fault fires'));
  const otherBranch = new FaultInjector(3, { ZIPBANK_FAULT_CRASH_BRANCH: '4:1' });
  t.doesNotThrow(() => otherBranch.afterBatch(10, () => undefined));
});

t.test('a crash fault fails the branch from its batch on; a deaf fault fires once', async (t) => {
  const crash = new FaultInjector(2, { ZIPBANK_FAULT_CRASH_BRANCH: '2:3' });
  t.doesNotThrow(() => crash.afterBatch(2, () => undefined));
  t.throws(() => crash.afterBatch(3, () => undefined), /branch 2 fails after 3 batches/);

  const signal = new AbortController().signal;
  const warnings: string[] = [];
  const deaf = new FaultInjector(1, { ZIPBANK_FAULT_DEAF_BRANCH: '1:2' });
  const first = countingCollection();
  const collect = deaf.collection(first.collect, 5, signal);
  deaf.afterBatch(1, (m) => warnings.push(m));
  await collect();
  t.equal(first.calls(), 1, 'before the fault, the consumer is asked');
  for (let batches = 2; batches <= 5; batches++) deaf.afterBatch(batches, (m) => warnings.push(m));
  t.same(await collect(), [], 'deaf: nothing is delivered');
  t.equal(first.calls(), 1, 'and the consumer is no longer asked');
  t.match(warnings, [/ZIPBANK_FAULT_DEAF_BRANCH/]);
  t.equal(warnings.length, 1, 'fired once');
  const second = countingCollection();
  const next = deaf.collection(second.collect, 5, signal);
  for (let batches = 6; batches <= 8; batches++) deaf.afterBatch(batches, (m) => warnings.push(m));
  await next();
  t.equal(second.calls(), 1, 'the consumer that replaces it works');
});

t.test('committed batches leave ahead of any later event', async (t) => {
  const channel = new MessageChannel();
  const received: WorkerEvent[] = [];
  channel.port1.on('message', (event: WorkerEvent) => received.push(event));
  const events = new BranchEvents(channel.port2, 5);
  const batch = {
    records: 10,
    customersCreated: 1,
    posted: 9,
    parked: 0,
    postedToDefaultPartition: 0,
    rejectedByReason: {},
    writeSeconds: 0.01,
    transactionsNextOffset: 9,
  };
  // The first report goes at once; the next two wait for the report interval or another event.
  events.batchCommitted(batch);
  events.batchCommitted({ ...batch, transactionsNextOffset: 19 });
  events.batchCommitted({ ...batch, transactionsNextOffset: 29 });
  events.emit({ type: 'lag', partition: 5, lag: { e: 0 }, seconds: { e: 0 }, committedAtMs: {}, headroom: {} });
  events.close();
  await new Promise((resolve) => setTimeout(resolve, 50));
  channel.port1.close();
  t.same(
    received.map((e) => e.type),
    ['batches', 'batches', 'lag'],
    'the pending batches are sent before the event, in one report',
  );
  const reports = received.filter((e) => e.type === 'batches');
  t.same(
    reports.map((r) => r.sizes),
    [[10], [10, 10]],
  );
  t.equal(reports[1]?.transactionsNextOffset, 29, 'the last committed offset');
});
