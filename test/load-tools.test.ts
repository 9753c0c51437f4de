// The load test and the benchmark, run small: they must run from a clean state, verify what
// they measured, and write their reports. (Their figures come from full runs, not from here.)
import t from 'tap';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runNode } from './helpers/fixtures.js';

t.test('load-test in catch-up and live mode verifies the ledger and writes a JSON report and an SVG chart', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-load-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const mode of [['--mode', 'catch-up', '--transactions', '3000'], ['--mode', 'live', '--rate', '500', '--duration', '3', '--warmup', '1']]) {
    const result = await runNode('dist/tools/load-test.js', [...mode, '--branches', '2', '--customers', '20', '--report-dir', dir], {}, 240_000);
    t.equal(result.code, 0, `${mode[1]} run succeeds`, { stdout: result.stdout, stderr: result.stderr.slice(-2000) });
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
    t.ok(report.totals.transactionsPerSecond > 0 && report.totals.ingesterCpuSeconds > 0 && report.totals.ingesterPeakRssMB > 0, `${file}: figures measured`);
    t.equal(report.branches.length, 2);
    t.ok(report.samples.length > 0, `${file}: samples over time`);
    if (report.settings.mode === 'live') {
      t.equal(report.totals.afterWarmup.warmupSeconds, 1, 'live: the warm-up is recorded');
      t.ok(report.totals.afterWarmup.latencyMs.p99 > 0 && report.totals.afterWarmup.latencyMs.p99 <= report.totals.latencyMs.max, 'live: latency after the warm-up measured');
    }
  }
  const svg = await readFile(path.join(dir, files.find((f) => f.endsWith('.svg'))!), 'utf8');
  t.match(svg, /^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  t.match(svg, /<path d="M/, 'has throughput lines');
});

t.test('bench measures COPY, the naive consumer and the ingester on the same rows', async (t) => {
  const result = await runNode('dist/tools/bench.js', ['--branches', '2', '--customers', '20', '--transactions', '4000', '--naive-seconds', '2'], {}, 240_000);
  t.equal(result.code, 0, 'bench succeeds', { stderr: result.stderr.slice(-2000) });
  t.match(result.stdout, /^COPY\s+4000\s/m);
  t.match(result.stdout, /^naive\s+\d+\s/m);
  t.match(result.stdout, /^ingester\s+4000\s/m);
  t.match(result.stdout, /ingester\/COPY = \d+\.\d+ {3}ingester\/naive = \d+\.\d/);
  const reportPath = /report: (.*\.json)/.exec(result.stdout)?.[1];
  t.ok(reportPath, 'names its report');
  const report = JSON.parse(await readFile(reportPath!, 'utf8'));
  t.equal(report.ingester.verified, true, 'the ingester ledger was verified');
  t.ok(report.naive.rows > 0 && report.copy.rowsPerSecond > 0);
  await rm(reportPath!, { force: true });
});
