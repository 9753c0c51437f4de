// The load test and the benchmark, run small: they must run from a clean state, verify what
// they measured, and write their reports. (Their figures come from full runs, not from here.)
import t from 'tap';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runNode } from './helpers/fixtures.js';

const execFileAsync = promisify(execFile);
/** What the helpers below use of a test. */
type Asserts = Pick<typeof t, 'equal' | 'teardown'>;

/** A folder for a run's reports, removed when the test ends. */
async function reportDir(t: Asserts): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-load-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The load test with its reports in `dir`; it must exit 0. */
async function runLoadTest(t: Asserts, args: string[], dir: string, timeoutMs: number) {
  const result = await runNode('dist/lab/load-test.js', [...args, '--report-dir', dir], {}, timeoutMs);
  t.equal(result.code, 0, `${args.join(' ')} succeeds`, { stdout: result.stdout, stderr: result.stderr.slice(-2000) });
  return result;
}

t.test(
  'load-test in catch-up and live mode verifies the ledger and writes a JSON report and an SVG chart',
  async (t) => {
    const dir = await reportDir(t);
    for (const mode of [
      ['--mode', 'catch-up', '--transactions', '20000'],
      ['--mode', 'live', '--rate', '500', '--duration', '3', '--warmup', '1'],
    ]) {
      const result = await runLoadTest(t, [...mode, '--branches', '2', '--customers', '20'], dir, 240_000);
      t.match(result.stdout, /verified: all \d+ transactions in the ledger exactly once/);
      t.match(result.stdout, /^\s+total\s+\d+/m, 'prints a total row');
    }
    const files = await readdir(dir);
    const reports = files.filter((f) => f.endsWith('.json'));
    t.equal(reports.length, 2, 'one JSON report per run');
    t.equal(files.filter((f) => f.endsWith('.svg')).length, 2, 'one chart per run');
    for (const file of reports) {
      const report = JSON.parse(await readFile(path.join(dir, file), 'utf8'));
      t.equal(report.verification.ok, true, `${file}: verification recorded`);
      t.equal(report.totals.rowsWritten, report.settings.transactions, `${file}: every transaction written`);
      t.ok(
        report.totals.transactionsPerSecond > 0 &&
          report.totals.ingesterCpuSeconds > 0 &&
          report.totals.ingesterPeakRssMB > 0,
        `${file}: figures measured`,
      );
      t.equal(report.branches.length, 2);
      t.ok(report.samples.length > 0, `${file}: samples over time`);
      if (report.settings.mode === 'live') {
        t.equal(report.totals.afterWarmup.warmupSeconds, 1, 'live: the warm-up is recorded');
        t.ok(
          report.totals.afterWarmup.latencyMs.p99 > 0 &&
            report.totals.afterWarmup.latencyMs.p99 <= report.totals.latencyMs.max,
          'live: latency after the warm-up measured',
        );
        t.ok(
          report.totals.afterWarmup.cpuSplit?.cpuSeconds.ingester > 0,
          'live: the CPU split after the warm-up measured',
        );
        t.equal(report.totals.withStartUp, null, 'live: no catch-up rate with start-up');
      } else {
        const w = report.totals.withStartUp;
        t.ok(w.seconds > 0, `catch-up: timed from the supervisor's start (${w.seconds} s)`);
        t.equal(
          w.transactionsPerSecond,
          report.settings.transactions / w.seconds,
          'catch-up: every transaction over it',
        );
        for (const b of report.branches)
          t.ok(
            b.whileActive.transactionsPerSecond > 0,
            `catch-up: branch ${b.branch} timed from its first commit to its last`,
          );
        const share = report.totals.slowestBranchShareWhileActive;
        t.ok(share > 0 && share <= 1, `catch-up: the slowest branch while active over the mean (${share})`);
      }
    }
    for (const file of reports) {
      const report = JSON.parse(await readFile(path.join(dir, file), 'utf8'));
      const svg = await readFile(path.join(dir, file.replace(/\.json$/, '.svg')), 'utf8');
      const mode = report.settings.mode as string;
      t.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      t.ok(report.machine.cpus >= 1, `${mode}: machine.cpus filled (${report.machine.cpus})`);
      // Sampled every 100 ms from the start, not once a second after it.
      t.equal(report.samples[0].seconds, 0, `${mode}: a sample at the start`);
      const gaps = report.samples
        .slice(1)
        .map((s: { seconds: number }, i: number) => s.seconds - report.samples[i].seconds);
      t.ok(Math.max(...gaps) < 1, `${mode}: samples at most a second apart (${report.samples.length} samples)`);
      const panels = [...svg.matchAll(/<g class="panel" data-title="([^"]*)">/g)].map((m) => m[1]);
      t.equal(panels.length, 3, `${mode}: three panels`);
      t.match(panels[0], /rows committed per branch \(cumulative\)/);
      t.match(panels[1], /total throughput/);
      t.match(
        panels[2],
        mode === 'catch-up'
          ? /time in the backlog \+ write \(ms, log scale\)/
          : /produce-to-ledger latency \(ms, log scale\)/,
        `${mode}: latency named for what it is`,
      );
      // A catch-up of this size drains in well under a second: a few samples are all there is.
      const segments = mode === 'catch-up' ? 2 : 10;
      for (const name of ['branch 0', 'branch 1', 'all branches', 'p50', 'p99', 'max']) {
        const d = new RegExp(`<path d="([^"]*)" [^>]*data-series="${name}"`).exec(svg)?.[1] ?? '';
        const points = d.split(/[ML]/).filter(Boolean).length;
        const wanted = ['p50', 'p99', 'max'].includes(name) ? 4 : segments + 1;
        t.ok(points >= wanted, `${mode}: series ${name} drawn with ${points} points (at least ${wanted})`);
      }
      // Rendered as a picture, the way a person would open it.
      const png = path.join(dir, file.replace(/\.json$/, '.png'));
      await execFileAsync('rsvg-convert', ['-o', png, path.join(dir, file.replace(/\.json$/, '.svg'))]);
      const header = (await readFile(png)).subarray(0, 24);
      t.same([...header.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG', `${mode}: renders to PNG`);
      t.ok(
        header.readUInt32BE(16) >= 900 && header.readUInt32BE(20) >= 900,
        `${mode}: ${header.readUInt32BE(16)}x${header.readUInt32BE(20)} pixels`,
      );
    }
  },
);

t.test(
  'load-test --supervisors 2 runs the workload with one supervisor, then two sharing the branches through a consumer group, and compares them',
  async (t) => {
    const dir = await reportDir(t);
    const result = await runLoadTest(
      t,
      ['--mode', 'catch-up', '--transactions', '20000', '--branches', '4', '--customers', '40', '--supervisors', '2'],
      dir,
      360_000,
    );
    t.equal(
      result.stdout.match(/verified: all 20000 transactions in the ledger exactly once/g)?.length,
      2,
      'both passes verified',
    );
    const files = await readdir(dir);
    const passReport = async (suffix: string) =>
      JSON.parse(await readFile(path.join(dir, files.find((f) => f.endsWith(`-${suffix}.json`))!), 'utf8'));
    t.equal((await passReport('1sup')).settings.supervisors, 1, 'the baseline pass ran one supervisor');
    const scaled = await passReport('2sup');
    t.equal(scaled.settings.supervisors, 2, 'the second pass ran two');
    const logs = files.filter((f) => /-2sup-ingester-\d\.log$/.test(f));
    t.equal(logs.length, 2, 'one log per supervisor of the second pass');
    const assigned = await Promise.all(
      logs.map(async (f) =>
        (await readFile(path.join(dir, f), 'utf8')).includes('the consumer group assigned branches to this supervisor'),
      ),
    );
    t.same(assigned, [true, true], 'both joined the group');

    const comparison = await passReport('comparison');
    t.same(
      comparison.passes.map((p: { supervisors: number }) => p.supervisors),
      [1, 2],
      'the comparison holds both passes',
    );
    t.equal(comparison.passes[0].throughputVsOneSupervisor, 1);
    t.equal(
      comparison.passes[1].transactionsPerSecond,
      scaled.totals.transactionsPerSecond,
      "its figures are the pass reports'",
    );
    t.match(result.stdout, /^comparison \(same workload/m, 'and it is printed');
    t.match(result.stdout, /^\s+2\s+\d+\s+\d+\.\d\d\s/m, 'with a row for two supervisors');
  },
);

t.test(
  'load-test --mode idle measures idle supervisors of a few branches and of more, and the cost of each added branch',
  async (t) => {
    const dir = await reportDir(t);
    const result = await runLoadTest(
      t,
      ['--mode', 'idle', '--branches', '3', '--baseline-branches', '1', '--settle', '2', '--duration', '4'],
      dir,
      180_000,
    );
    const name = (await readdir(dir)).find((f) => /^loadtest-idle-\d{8}t\d{6}\.json$/.test(f));
    t.ok(name, 'a JSON report is written');
    const report = JSON.parse(await readFile(path.join(dir, name!), 'utf8'));
    t.equal(report.mode, 'idle');
    t.ok(report.ok, 'no supervisor exited or lost a worker');
    t.same(
      report.passes.map((p: { branches: number }) => p.branches),
      [1, 3],
      'a pass of the baseline branches, then one of all',
    );
    const [few, many] = report.passes;
    for (const pass of report.passes) {
      t.ok(pass.seconds >= 3.9 && pass.seconds < 6, `${pass.branches}: measured for about 4 s (${pass.seconds})`);
      t.ok(pass.coreShare.ingester > 0, `${pass.branches}: the ingester's CPU is counted (${pass.coreShare.ingester})`);
      t.ok(pass.rssMB > 50, `${pass.branches}: its RSS is read (${pass.rssMB} MB)`);
      t.equal(pass.ingesterCoreSharePerBranch, pass.coreShare.ingester / pass.branches);
    }
    t.ok(many.rssMB > few.rssMB, `two more branch threads take memory (${few.rssMB} -> ${many.rssMB} MB)`);
    t.equal(report.marginal.rssMBPerAddedBranch, (many.rssMB - few.rssMB) / 2, 'the added cost is per added branch');
    t.equal(report.marginal.coreSharePerAddedBranch, (many.coreShare.ingester - few.coreShare.ingester) / 2);
    t.match(
      result.stdout,
      /^each branch added from 1 to 3: -?\d+\.\d{3} % of a core, \d+\.\d MB of RSS$/m,
      'and it is printed',
    );
    const refused = await runNode('dist/lab/load-test.js', ['--mode', 'idle', '--supervisors', '2'], {}, 30_000);
    t.equal(refused.code, 2, 'idle mode with --supervisors is refused as bad configuration');
    t.match(refused.stderr, /drop --supervisors/, 'saying what to change');
  },
);

t.test(
  'load-test --peer runs the JDBC sink on the same live stream after the ingester and prints both side by side',
  async (t) => {
    const dir = await reportDir(t);
    const result = await runLoadTest(
      t,
      [
        ...['--mode', 'live', '--rate', '400', '--duration', '12', '--warmup', '4'],
        ...['--branches', '2', '--customers', '20', '--peer', '--peer-tasks', '1', '--peer-fetch-wait-ms', '20'],
      ],
      dir,
      420_000,
    );
    const file = (await readdir(dir)).find((f) => f.endsWith('-peer.json'));
    t.ok(file, 'the side-by-side report is written');
    const report = JSON.parse(await readFile(path.join(dir, file!), 'utf8'));
    t.equal(report.rate, 400);
    t.same(
      report.sides.map((s: { writer: string }) => s.writer),
      ['ingester', 'peer (1 tasks)'],
      'the ingester, then the peer',
    );
    for (const side of report.sides) {
      t.equal(side.transactions, 4800, `${side.writer}: every produced transaction counted`);
      t.equal(side.verified, true, `${side.writer}: every one in its table once`);
      t.ok(side.cpuMicrosecondsPerTransaction.own > 0, `${side.writer}: its own CPU measured`);
      const { own, postgres, broker, total } = side.cpuMicrosecondsPerTransaction;
      t.ok(Math.abs(own + postgres + broker - total) < 1e-6, `${side.writer}: the total is the sum`);
      t.ok(side.postgresTransactionsPerSecond > 0, `${side.writer}: Postgres commits counted`);
      // Kafka's timestamp to the insert: the producer's 20 ms gathering is in it, seconds are not.
      t.ok(side.latencyMs.p50 > 0 && side.latencyMs.p50 < 5_000, `${side.writer}: p50 ${side.latencyMs.p50} ms`);
      t.ok(side.peakRssMB > 50, `${side.writer}: peak RSS read`);
    }
    t.ok(report.sides[0].batchCommitsPerSecond > 0, "the ingester's batch commits counted");
    const totals = report.sides.map(
      (s: { cpuMicrosecondsPerTransaction: { total: number } }) => s.cpuMicrosecondsPerTransaction.total,
    );
    t.ok(Math.abs(report.ratio - totals[0] / totals[1]) < 1e-9, 'the ratio is of the totals');
    t.match(result.stdout, /^side by side at 400 tx\/s/m, 'the table is printed');
    t.match(result.stdout, /^peer \(1 tasks\)\s+\d+\.\d/m, 'with a row for the peer');
    const refused = await runNode('dist/lab/load-test.js', ['--mode', 'catch-up', '--peer'], {}, 30_000);
    t.equal(refused.code, 2, '--peer outside live mode is refused');
    t.match(refused.stderr, /--peer compares one supervisor with the peer in live mode/);
    const tooShort = await runNode(
      'dist/lab/load-test.js',
      ['--mode', 'live', '--duration', '5', '--warmup', '5', '--peer'],
      {},
      30_000,
    );
    t.equal(tooShort.code, 2, '--peer with a run no longer than its warm-up is refused');
    t.match(tooShort.stderr, /after a warm-up shorter than --duration/);
  },
);

t.test(
  'bench measures COPY, the naive consumer, the ingester and the JDBC sink peer on the same rows (and into a prefilled ledger), runs twice, and splits the CPU by process',
  async (t) => {
    const result = await runNode(
      'dist/lab/bench.js',
      [
        '--branches',
        '2',
        '--customers',
        '20',
        '--transactions',
        '4000',
        '--naive-seconds',
        '2',
        '--runs',
        '2',
        '--batch-size',
        '500',
        '--prefilled-rows',
        '30000',
        '--peer',
        '--peer-tasks',
        '1',
      ],
      {},
      420_000,
    );
    t.equal(result.code, 0, 'bench succeeds', { stderr: result.stderr.slice(-2000) });
    t.match(result.stdout, /^1\s+\d+\s+\d+\s+\d+\s+\d\.\d\d\s/m, 'a row for run 1');
    t.match(result.stdout, /^2\s+\d+\s+\d+\s+\d+\s+\d\.\d\d\s/m, 'a row for run 2');
    t.match(result.stdout, /^median\s+\d+\s+\d+\s+\d+\s+\d\.\d\d/m, 'and their median');
    t.match(result.stdout, /^naive: \d+ rows in /m);
    t.match(
      result.stdout,
      /ingester\/COPY = \d+\.\d+ \(median of 2: \d\.\d\d, \d\.\d\d\) {3}ingester\/naive = \d+\.\d/,
    );
    const reportPath = /report: (.*\.json)/.exec(result.stdout)?.[1];
    t.ok(reportPath, 'names its report');
    const report = JSON.parse(await readFile(reportPath!, 'utf8'));
    t.teardown(() => rm(reportPath!, { force: true }));
    t.equal(report.verified, true, 'every ingester ledger was verified');
    t.match(result.stdout, /^ingester settings: --batch-size 500$/m, 'the ingester setting given is printed');
    t.same(report.settings.ingesterArgs, ['--batch-size', '500'], 'and kept in the report');
    const ingesterLog = await readFile(reportPath!.replace(/\.json$/, '-1-ingester.log'), 'utf8');
    t.match(ingesterLog, /"batchSize":500\b/, 'and the ingester ran with it');
    t.equal(report.runs.length, 2);
    t.ok(report.naive.rows > 0);
    for (const run of report.runs) {
      t.equal(run.ingester.rows, 4000);
      t.ok(run.copy.rowsPerSecond > 0 && run.ingester.rowsPerSecond > 0);
      t.ok(
        run.ingester.rowsPerSecondWithStartup < run.ingester.rowsPerSecond,
        'the figure with start-up is the lower one',
      );
      t.ok(run.ingester.cpu.cpuSeconds.ingester > 0, `run ${run.run}: the ingester's CPU is measured`);
      t.ok(run.ingester.cpu.cpuSeconds.postgres > 0, `run ${run.run}: and Postgres's, apart`);
      // 4,000 rows COPY in a few ms, under the 10 ms resolution of /proc: present, maybe zero.
      t.ok(
        Number.isFinite(run.copy.cpu.microsecondsPerRecord.postgres),
        `run ${run.run}: COPY's Postgres CPU per row is reported`,
      );
      t.equal(run.ingesterToCopy, run.ingester.rowsPerSecond / run.copy.rowsPerSecond, 'the ratio is within the run');
      t.equal(run.prefilled.ingester.ledger.rows, 30000, `run ${run.run}: a second drain into a prefilled ledger`);
      t.ok(
        run.prefilled.ingester.ledger.tableBytes > 0 && run.prefilled.ingester.ledger.indexBytes > 0,
        `run ${run.run}: with the ledger's table and index sizes`,
      );
      t.equal(run.prefilled.ingester.rows, 4000, `run ${run.run}: the same backlog`);
      t.equal(
        run.prefilled.toEmpty,
        run.prefilled.ingester.rowsPerSecond / run.ingester.rowsPerSecond,
        'its rate as a share of the empty-ledger run',
      );
      t.equal(run.peer.run.rows, 4000, `run ${run.run}: the peer drains the same transactions`);
      t.equal(run.peer.run.verified, true, `run ${run.run}: every one of them in its table`);
      t.equal(run.peer.run.tasks, 1, 'with the tasks asked for');
      t.ok(run.peer.run.cpu.cpuSeconds.ingester > 0, `run ${run.run}: the peer's CPU is measured`);
      t.equal(
        run.peer.ingesterToPeerWithStartup,
        run.ingester.rowsPerSecondWithStartup / run.peer.run.rowsPerSecondWithStartup,
        'the ingester against the peer, start-ups included',
      );
    }
    t.match(result.stdout, /^run 1 peer \(Debezium JDBC sink, 1 tasks\): \d+ rows\/s steady/m, 'the peer is printed');
    t.match(result.stdout, /^ingester\/peer, start-up included = \d+\.\d\d \(median of 2: /m);
    t.match(result.stdout, /^into a prefilled ledger \/ into an empty one = \d+\.\d\d \(median of 2: /m);
    const ratios = report.runs
      .map((r: { ingesterToCopy: number }) => r.ingesterToCopy)
      .sort((a: number, b: number) => a - b);
    t.equal(report.median.ingesterToCopy, (ratios[0] + ratios[1]) / 2, 'the median of two runs is their mean');
  },
);
