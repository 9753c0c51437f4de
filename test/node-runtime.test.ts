// The runtime the image ships is the one the tests run on, and an older `node` is refused with
// one line that says how to run it instead (src/core/node-runtime.cts).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import nodeRuntime from '../src/core/node-runtime.cjs';

// CommonJS seen from an ES module: its exports come as the default.
const { olderNodeProblem, REQUIRED_NODE_MAJOR } = nodeRuntime;

t.test('the tests run on the Node line the image ships', async (t) => {
  t.equal(Number(process.versions.node.split('.')[0]), REQUIRED_NODE_MAJOR, `this is Node ${process.versions.node}`);
});

t.test('an older Node gets one line naming the command to use', async (t) => {
  const line = olderNodeProblem('20.20.2', '/app/dist/supervisor.js', ['--partitions', '0-7']);
  t.match(line, /this is Node 20\.20\.2; the ingester runs on Node 24/);
  t.match(line, /`npm start -- --partitions 0-7`/);
  t.notMatch(line, /\n/, 'one line');
  t.match(olderNodeProblem('22.1.0', '/app/dist/cli.js', ['status']), /`npm run cli -- status`/);
  t.equal(olderNodeProblem('24.22.3', '/app/dist/main.cjs', []), undefined);
  t.equal(olderNodeProblem('25.0.0', '/app/dist/main.cjs', []), undefined);
});

// The design card's command on the machine's own Node, where that Node is older (Debian's 20
// here): one line and exit 2, never a stack trace about a module version.
const systemNode = '/usr/bin/node';
const systemMajor = existsSync(systemNode)
  ? Number(spawnSync(systemNode, ['-p', 'process.versions.node.split(".")[0]']).stdout.toString())
  : REQUIRED_NODE_MAJOR;
t.test(
  'node dist/supervisor.js on an older system Node',
  { skip: systemMajor >= REQUIRED_NODE_MAJOR ? `the system Node is ${systemMajor}` : false },
  async (t) => {
    for (const entry of ['dist/supervisor.js', 'dist/main.cjs', 'dist/cli.js']) {
      const run = spawnSync(systemNode, [entry, '--partitions', '0-7'], { encoding: 'utf8', timeout: 20_000 });
      t.equal(run.status, 2, `${entry}: exit 2`);
      const lines = run.stderr.trim().split('\n');
      t.equal(lines.length, 1, `${entry}: one line`);
      t.match(lines[0], /the ingester runs on Node 24.*npm (start|run cli) --/, entry);
      t.notMatch(run.stderr, /NODE_MODULE_VERSION|at Module/, 'no stack trace');
    }
  },
);
