// The bound on a call that may never return (src/core/deadline.ts): pure logic, with timers.
import t from 'tap';
import { withDeadline } from '../src/core/deadline.js';

t.test('a call that returns in time gives its value; one that does not is rejected with the late error', async (t) => {
  t.equal(await withDeadline(Promise.resolve(7), 1_000, () => new Error('late')), 7, 'in time: its value');
  const never = new Promise<number>(() => undefined);
  const started = Date.now();
  await t.rejects(
    withDeadline(never, 50, () => new Error('no answer in 50 ms')),
    /no answer in 50 ms/,
  );
  t.ok(Date.now() - started < 1_000, 'rejected at the bound, not later');
  await t.rejects(
    withDeadline(Promise.reject(new Error('own failure')), 1_000, () => new Error('late')),
    /own failure/,
    "the call's own failure comes through",
  );
});
