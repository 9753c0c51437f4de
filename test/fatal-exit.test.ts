// An exception nothing caught in the supervisor ends the process at once, with a fatal log line,
// instead of leaving it printed and hanging (Node's own exit path once never returned while
// worker threads held librdkafka handles). Nothing is lost: a new supervisor posts every record.
import t from 'tap';
import { json, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { count, SupervisorProcess, waitFor } from './helpers/supervisor.js';

t.test('an uncaught exception ends the supervisor at once and loses nothing', async (t) => {
  const topics = await withTopics(t, 2);
  const url = await withDatabase(t);
  const { customersTopic: C, transactionsTopic: E } = topics;
  const deposits = (partition: number, from: number, n: number) =>
    Array.from({ length: n }, (_, i): [string, number, Buffer] => [
      E,
      partition,
      json({ custid: 1, type: 'dep', date: 1587398300 + from + i, amt: 100 }),
    ]);
  await sendRecords([
    [C, 0, json({ custid: 1, createdate: 1587398219, fname: 'Ada', lname: 'Lovelace' })],
    ...deposits(0, 0, 5),
    ...deposits(1, 0, 5),
  ]);

  const failing = new SupervisorProcess(t, topics, url, ['--partitions', '0-1'], {
    ZIPBANK_FAULT_SUPERVISOR_THROW_MS: '3000',
  });
  await waitFor(
    'both branch workers started',
    async () => failing.logs().filter((l) => l.msg === 'branch worker started').length,
    (n) => n === 2,
    60_000,
  );
  const timeout = new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 30_000).unref());
  const exit = await Promise.race([failing.exited, timeout]);
  t.not(exit, 'hung', 'the process ended within 30 s of the exception');
  t.same(exit, { code: null, signal: 'SIGKILL' }, "it ended itself with SIGKILL, past Node's exit path");
  const fatal = failing.logs().find((l) => l.level === 'fatal');
  t.match(fatal?.msg, /uncaught exception/, 'one fatal line says why');
  t.match(
    (fatal?.err as { message?: string } | undefined)?.message,
    /injected supervisor fault/,
    'and carries the exception',
  );

  await sendRecords([...deposits(0, 5, 5), ...deposits(1, 5, 5)]);
  const next = new SupervisorProcess(t, topics, url, ['--partitions', '0-1']);
  await waitFor(
    'every deposit posted once',
    () => count(url, '"transaction"'),
    (n) => n === 20,
    60_000,
  );
  t.equal(await count(url, '"transaction"'), 20, 'all 20 deposits, none twice');
  t.equal((await next.kill('SIGTERM')).code, 0, 'the new supervisor stops cleanly');
});
