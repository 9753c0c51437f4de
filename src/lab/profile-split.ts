// npm run profile: runs a load test and, while its ingester works, samples the ingester's threads
// with Linux perf; then prints which parts spent its CPU (src/lab/profile/cost-split.ts): the
// binding and librdkafka, Prisma, node-postgres, V8's collector and compilers, the ingester's own
// folders. Writes the split to reports/profile-<time>.json.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { integerOption, parseFlags, type Problems } from '../config/options.js';
import { ConfigError } from '../core/errors.js';
import { runMain } from '../core/run-main.js';
import { bundleSources } from './profile/bundle-sources.js';
import { costSplit, ownerShares } from './profile/cost-split.js';
import type { PerfSample } from './profile/perf-samples.js';
import { waitForChild } from './profile/child-process.js';
import { PERF_NODE_ARGS, recordProcess, removeSymbolFile } from './profile/perf-record.js';
import { PROJECT_DIR } from './load/ingester-process.js';
import { machine } from './load/machine.js';
import { reportStamp } from './load/report-stamp.js';

const HELP = `Usage: npm run profile -- [--after 5] [--seconds 10] [--frequency 999] [--report-dir reports] -- <load-test arguments>

Runs \`npm run load-test\` with the arguments after "--" (build first), and --after seconds after
its ingester process starts samples every thread of it with Linux perf for --seconds, with call
stacks. Then prints each part's share of the sampled CPU, and writes it to
reports/profile-<time>.json. In catch-up mode the ingester starts after the backlog is produced;
in live mode give the warm-up in --after. With --supervisors, the first ingester started is the
one profiled.

Needs perf (Debian's linux-perf) and the right to profile the ingester (perf_event_paranoid 2
or below for one's own processes).`;

runMain('profile', async () => {
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const flags = parseFlags(split >= 0 ? argv.slice(0, split) : argv, {
    after: { type: 'string' },
    seconds: { type: 'string' },
    frequency: { type: 'string' },
    'report-dir': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (flags.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const problems: Problems = [];
  const after = integerOption(problems, 'after', flags.after, 5, { min: 0, max: 3600 });
  const seconds = integerOption(problems, 'seconds', flags.seconds, 10, { min: 1, max: 600 });
  const frequency = integerOption(problems, 'frequency', flags.frequency, 999, { min: 1, max: 10_000 });
  if (problems.length > 0) throw new ConfigError(problems);
  const loadTestArgs = split >= 0 ? argv.slice(split + 1) : [];

  const nodeArgs = [process.env.ZIPBANK_LAB_NODE_ARGS ?? '', ...PERF_NODE_ARGS].join(' ').trim();
  const loadTest = spawn(process.execPath, ['dist/lab/load-test.js', ...loadTestArgs], {
    cwd: PROJECT_DIR,
    stdio: 'inherit',
    env: { ...process.env, ZIPBANK_LAB_NODE_ARGS: nodeArgs },
  });
  const exited = new Promise<number>((resolve) => loadTest.once('exit', (code) => resolve(code ?? 1)));
  const gone = new AbortController();
  void exited.then(() => gone.abort());

  // The first ingester the load test starts (with --supervisors, the first pass's).
  const ingester = await waitForChild(loadTest.pid!, 'dist/main.cjs', gone.signal);
  let samples: PerfSample[];
  let loadTestCode: number;
  try {
    await sleep(after * 1000);
    samples = await recordProcess(ingester, seconds, frequency);
    loadTestCode = await exited;
  } finally {
    await removeSymbolFile(ingester);
  }

  const shares = costSplit(samples, bundleSources());
  const owners = ownerShares(shares);
  const percent = (share: number) => `${(100 * share).toFixed(1).padStart(5)} %`;
  process.stdout.write(`\nprofile: ${samples.length} samples of the ingester's threads over ${seconds} s\n`);
  for (const entry of shares) process.stdout.write(`${percent(entry.share)}  ${entry.name} (${entry.owner})\n`);
  process.stdout.write(
    `by owner: the design card's parts ${percent(owners.card)}, V8's runtime ${percent(owners.runtime)}, ` +
      `the ingester's own code ${percent(owners.own)}, other ${percent(owners.other)}\n`,
  );
  const reportDir = path.resolve(PROJECT_DIR, flags['report-dir'] ?? 'reports');
  const stamp = reportStamp();
  const file = path.join(reportDir, `profile-${stamp}.json`);
  await mkdir(reportDir, { recursive: true });
  const report = {
    loadTestArgs,
    after,
    seconds,
    frequency,
    samples: samples.length,
    machine: machine(),
    shares,
    owners,
  };
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`report: ${file}\n`);
  if (samples.length === 0) throw new Error('perf recorded no samples of the ingester');
  return loadTestCode;
});
