// The one table from error code to class, and the one retry loop that reads it: pure logic,
// tested with actions that fail on cue (src/core/errors.ts, src/core/retry.ts).
import t from 'tap';
import { Backoff } from '../src/core/backoff.js';
import { classOf, ERROR_CODES, IngesterError, type ErrorCode } from '../src/core/errors.js';
import { retry, RetryPolicy, type RetryFailure } from '../src/core/retry.js';
import { requestStop } from '../src/core/stop-flag.js';
import { isStop, StoppedError, stopSignal } from '../src/core/stop-signal.js';
import { classify, DatabaseError, toDatabaseError } from '../src/db/database-error.js';

const newStop = () => new Int32Array(new SharedArrayBuffer(4));
const running = () => new AbortController().signal;
/** Backoff of 1 ms, so that the tests do not wait. */
const fast = () => new Backoff(1, 1);

t.test('every code has a class, and the codes that must be waited out are', async (t) => {
  const codes = Object.values(ERROR_CODES) as ErrorCode[];
  t.ok(codes.length >= 15, 'the closed list');
  for (const code of codes) t.ok(classOf(code), `${code} has a class`);
  t.equal(classOf('DATABASE_UNAVAILABLE'), 'retry');
  t.equal(classOf('KAFKA_UNAVAILABLE'), 'retry');
  t.equal(classOf('DATABASE_SCHEMA'), 'pause');
  t.equal(classOf('DATABASE_REJECTED'), 'isolate');
  t.equal(classOf('LEASE_LOST'), 'standby');
  t.equal(classOf('KAFKA_OFFSET_RESET'), 'recheck');
  t.equal(classOf('DATABASE_NOT_MIGRATED'), 'exit');
  t.equal(new IngesterError('KAFKA_UNAVAILABLE', 'x').canRetry, true);
  t.equal(new IngesterError('KAFKA_ERROR', 'x').canRetry, false);
});

t.test('a DatabaseError takes its class from its failure', async (t) => {
  t.equal(new DatabaseError('outage', 'm', undefined, null).errorClass, 'retry');
  t.equal(new DatabaseError('schema', 'm', '42703', null).errorClass, 'pause');
  t.equal(new DatabaseError('data', 'm', '23514', null).errorClass, 'isolate');
  t.equal(new DatabaseError('unknown', 'm', 'XX000', null).errorClass, 'pause');
});

/** What Prisma's pg adapter throws for a server error with this SQLSTATE. */
const serverError = (code: string) => ({
  meta: { driverAdapterError: { cause: { originalCode: code, originalMessage: `error ${code}` } } },
});

t.test(
  'a SQLSTATE is sorted by its class; one this build does not know is named, not retried as an outage',
  async (t) => {
    const cases: [string, string, string][] = [
      ['08006', 'outage', 'DATABASE_UNAVAILABLE'],
      ['40P01', 'outage', 'DATABASE_UNAVAILABLE'],
      ['57014', 'outage', 'DATABASE_UNAVAILABLE'],
      ['25006', 'outage', 'DATABASE_UNAVAILABLE'],
      ['3D000', 'outage', 'DATABASE_UNAVAILABLE'],
      ['28P01', 'outage', 'DATABASE_UNAVAILABLE'],
      ['22003', 'data', 'DATABASE_REJECTED'],
      ['23514', 'data', 'DATABASE_REJECTED'],
      ['42703', 'schema', 'DATABASE_SCHEMA'],
      ['XX000', 'unknown', 'DATABASE_UNKNOWN'],
      ['P0001', 'unknown', 'DATABASE_UNKNOWN'],
    ];
    for (const [state, failure, code] of cases) {
      t.equal(classify(serverError(state)), failure, `${state} is ${failure}`);
      t.equal(toDatabaseError(serverError(state)).code, code, `${state} becomes ${code}`);
    }
    const unknown = toDatabaseError(serverError('XX000'));
    t.match(unknown.message, /SQLSTATE unknown to this build: XX000/, 'the message says the state is unknown');
    t.equal(unknown.errorClass, 'pause', 'waited for with the branch not ready, not retried as an outage');
    t.equal(classOf('DATABASE_REFUSING'), 'pause', 'a database refusing known rows pauses the branch');
  },
);

/** An action that throws the given errors in turn, then resolves 'done'. */
function failing(errors: Error[]): { action: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    action: async () => {
      const err = errors[calls++];
      if (err) throw err;
      return 'done';
    },
    calls: () => calls,
  };
}

t.test('retry waits out the retry and pause classes and reports each failure', async (t) => {
  const { action, calls } = failing([
    new IngesterError('DATABASE_UNAVAILABLE', 'down'),
    new IngesterError('DATABASE_UNAVAILABLE', 'down'),
    new IngesterError('DATABASE_SCHEMA', 'no column'),
  ]);
  const failures: RetryFailure[] = [];
  let recovered: number | undefined;
  const value = await retry(action, {
    signal: running(),
    backoff: fast(),
    observer: {
      failed: (_what, f) => {
        failures.push(f);
      },
      recovered: (_what, attempts) => {
        recovered = attempts;
      },
    },
  });
  t.equal(value, 'done');
  t.equal(calls(), 4);
  t.same(
    failures.map((f) => [f.errorClass, f.attempt, f.repeated]),
    [
      ['retry', 1, false],
      ['retry', 2, true],
      ['pause', 3, false],
    ],
    'classes, attempts, and the repeat of the same message marked',
  );
  t.equal(recovered, 3, 'recovery reported with the attempts it took');
});

t.test('retry rethrows every other class at once', async (t) => {
  for (const code of ['DATABASE_REJECTED', 'LEASE_LOST', 'KAFKA_ERROR', 'KAFKA_OFFSET_RESET'] as const) {
    const { action, calls } = failing([new IngesterError(code, code)]);
    await t.rejects(retry(action, { signal: running(), backoff: fast() }), { code }, `${code} is rethrown`);
    t.equal(calls(), 1, `${code} is not tried again`);
  }
});

t.test('an error that is not an IngesterError is a bug unless classify says otherwise', async (t) => {
  const bug = failing([new TypeError('undefined is not a function')]);
  await t.rejects(retry(bug.action, { signal: running(), backoff: fast() }), TypeError);
  const outage = failing([new Error('socket hang up')]);
  const value = await retry(outage.action, {
    signal: running(),
    backoff: fast(),
    classify: (thrown) => new IngesterError('DATABASE_UNAVAILABLE', String(thrown)),
  });
  t.equal(value, 'done', 'classified as an outage, so waited out');
});

t.test('retry throws the StoppedError when the shared stop flag is raised while it waits', async (t) => {
  const stop = newStop();
  const { signal } = stopSignal(stop);
  const { action, calls } = failing(Array.from({ length: 100 }, () => new IngesterError('KAFKA_UNAVAILABLE', 'down')));
  const started = Date.now();
  const stopped = await retry(action, {
    signal,
    backoff: new Backoff(60_000, 60_000),
    observer: { failed: () => requestStop(stop) },
  }).catch((err: unknown) => err);
  t.type(stopped, StoppedError);
  t.ok(isStop(stopped), 'isStop says it was a stop');
  t.equal((stopped as IngesterError).errorClass, 'stop');
  t.equal(calls(), 1);
  t.ok(Date.now() - started < 5_000, 'the 60 s backoff was not waited out');
});

t.test('a stop requested before a call: the action is not run', async (t) => {
  const controller = new AbortController();
  controller.abort(new StoppedError());
  let ran = false;
  const policy = new RetryPolicy({ signal: controller.signal });
  await t.rejects(
    policy.run('do it', async () => {
      ran = true;
    }),
    StoppedError,
  );
  t.notOk(ran);
  t.notOk(isStop(new IngesterError('KAFKA_UNAVAILABLE', 'down')), 'an outage is not a stop');
  t.notOk(isStop(new Error('bug')), 'nor is a bug');
});

t.test('a stop signal follows a flag raised before it was made, too', async (t) => {
  const stop = newStop();
  requestStop(stop);
  t.ok(stopSignal(stop).signal.aborted);
  t.notOk(stopSignal(newStop()).signal.aborted);
});

t.test('a disposed stop signal no longer follows its flag', async (t) => {
  const stop = newStop();
  const watched = stopSignal(stop);
  const disposed = stopSignal(stop);
  disposed.dispose();
  requestStop(stop);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.ok(watched.signal.aborted, 'the signal in use is aborted');
  t.notOk(disposed.signal.aborted, 'the disposed one is left alone');
});

t.test('the policy reports each retried call to its observer by name', async (t) => {
  const { action } = failing([new IngesterError('DATABASE_UNAVAILABLE', 'down')]);
  const seen: string[] = [];
  const policy = new RetryPolicy({
    signal: running(),
    observer: {
      trying: (what) => seen.push(`trying ${what}`),
      failed: (what) => {
        seen.push(`failed ${what}`);
      },
      recovered: (what) => {
        seen.push(`recovered ${what}`);
      },
      settled: (what) => seen.push(`settled ${what}`),
    },
  });
  t.equal(await policy.run('write batch', action), 'done');
  t.same(seen, [
    'trying write batch',
    'failed write batch',
    'trying write batch',
    'recovered write batch',
    'settled write batch',
  ]);
});
