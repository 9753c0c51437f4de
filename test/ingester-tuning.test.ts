// The ingester settings the load test and the bench pass on: pure argument handling, no I/O.
import t from 'tap';
import { ingesterTuningArgs } from '../src/lab/load/ingester-tuning.js';

t.test("given settings become the ingester's flags, in a fixed order", async (t) => {
  const problems: string[] = [];
  const args = ingesterTuningArgs(problems, {
    'worker-young-mb': '24',
    'batch-size': '5000',
    'branches-per-thread': '2',
  });
  t.same(args, ['--batch-size', '5000', '--branches-per-thread', '2', '--worker-young-mb', '24']);
  t.same(problems, []);
});

t.test('no settings: no flags, so the ingester runs on its defaults', async (t) => {
  const problems: string[] = [];
  t.same(ingesterTuningArgs(problems, {}), []);
  t.same(problems, []);
});

t.test('a value the ingester would refuse is reported before anything runs, in its words', async (t) => {
  const problems: string[] = [];
  ingesterTuningArgs(problems, { 'batch-size': '0', 'linger-ms': 'soon' });
  t.equal(problems.length, 2, 'both bad values reported');
  t.match(problems.join('\n'), /batch-size/);
  t.match(problems.join('\n'), /linger-ms/);
});
