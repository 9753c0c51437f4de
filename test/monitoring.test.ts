// Issue 12: the alert rules pass promtool and its unit tests; a real Prometheus scraping a real
// supervisor under load sees per-branch throughput, lag going to zero, and the quarantine alert
// firing for the branch fed bad records only; metric names pass `promtool check metrics`; every
// dashboard query parses and names only metrics the supervisor exports.
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { json, PROJECT_DIR, runNode, sendRecords, withDatabase, withTopics } from './helpers/fixtures.js';
import { SupervisorProcess, waitFor } from './helpers/supervisor.js';
import { PrometheusServer } from './helpers/prometheus.js';

const execFileAsync = promisify(execFile);
const MONITORING = path.join(PROJECT_DIR, 'k8s/monitoring');
const RULES = path.join(MONITORING, 'zipbank-alerts.rules.yml');

t.test(
  'the alert rules pass promtool check and promtool test, and the PrometheusRule holds the same groups',
  async (t) => {
    const checked = await execFileAsync('promtool', ['check', 'rules', RULES]);
    t.match(checked.stdout, /SUCCESS: 18 rules found/);
    const tested = await execFileAsync('promtool', ['test', 'rules', 'zipbank-alerts.test.yml'], { cwd: MONITORING });
    t.match(tested.stdout, /SUCCESS/, 'every alert fires on its series and stays quiet on the others');
    const rules = parse(await readFile(RULES, 'utf8')) as {
      groups: { rules: { alert: string; annotations: Record<string, string>; labels: Record<string, string> }[] }[];
    };
    const operator = parse(await readFile(path.join(MONITORING, 'prometheusrule.yaml'), 'utf8')) as {
      kind: string;
      spec: unknown;
    };
    t.equal(operator.kind, 'PrometheusRule');
    t.same(operator.spec, rules, 'the PrometheusRule carries exactly the rules file');
    const tests = await readFile(path.join(MONITORING, 'zipbank-alerts.test.yml'), 'utf8');
    const runbook = await readFile(path.join(PROJECT_DIR, 'docs/runbook.md'), 'utf8');
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      const anchor = rule.alert.toLowerCase();
      t.equal(rule.annotations.runbook, `docs/runbook.md#${anchor}`, `${rule.alert}: a runbook annotation`);
      t.ok(runbook.includes(`\n## ${anchor}\n\n**${rule.alert}**`), `${rule.alert}: its runbook section`);
      t.ok(rule.annotations.summary && rule.annotations.description, `${rule.alert}: summary and description`);
      t.match(rule.labels.severity, /^(critical|warning)$/, `${rule.alert}: a severity`);
      t.match(
        rule.annotations.description,
        /`(node dist\/cli\.js|npm run|kubectl)[^`]*`/,
        `${rule.alert}: names the command to run next`,
      );
      t.match(
        tests,
        new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts: \\[\\]`),
        `${rule.alert}: a unit test where it must not fire`,
      );
      t.match(
        tests,
        new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`),
        `${rule.alert}: a unit test where it fires`,
      );
    }
  },
);

/** The job label the shipped PodMonitor gives the pods' series: the value of its jobLabel there. */
async function shippedJob(): Promise<string> {
  const monitor = parse(await readFile(path.join(MONITORING, 'podmonitor.yaml'), 'utf8')) as {
    spec: { jobLabel: string };
  };
  const deployment = parse(await readFile(path.join(PROJECT_DIR, 'k8s/base/deployment.yaml'), 'utf8')) as {
    spec: { template: { metadata: { labels: Record<string, string> } } };
  };
  return deployment.spec.template.metadata.labels[monitor.spec.jobLabel] ?? '(the pods lack the jobLabel)';
}

t.test('the shipped scrape wiring gives the series the job label the rules match', async (t) => {
  const monitor = parse(await readFile(path.join(MONITORING, 'podmonitor.yaml'), 'utf8')) as {
    kind: string;
    spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string }[] };
  };
  const deployment = parse(await readFile(path.join(PROJECT_DIR, 'k8s/base/deployment.yaml'), 'utf8')) as {
    spec: {
      template: {
        metadata: { labels: Record<string, string> };
        spec: { containers: { ports: { name: string }[] }[] };
      };
    };
  };
  t.equal(monitor.kind, 'PodMonitor');
  const podLabels = deployment.spec.template.metadata.labels;
  for (const [key, value] of Object.entries(monitor.spec.selector.matchLabels))
    t.equal(podLabels[key], value, `the PodMonitor selects the ingester pods (${key})`);
  const ports = deployment.spec.template.spec.containers.flatMap((c) => c.ports.map((p) => p.name));
  for (const endpoint of monitor.spec.podMetricsEndpoints) {
    t.ok(ports.includes(endpoint.port), `the pods have the ${endpoint.port} port it scrapes`);
    t.equal(endpoint.path, '/metrics');
  }
  const job = await shippedJob();
  const rules = await readFile(RULES, 'utf8');
  const jobs = [...rules.matchAll(/job="([^"]+)"/g)].map((m) => m[1]);
  t.ok(jobs.length >= 2, 'the rules match on job (the down and the absent alerts)');
  for (const matched of jobs) t.equal(matched, job, `the rules' job="${matched}" is the job the PodMonitor gives`);
});

t.test(
  'a real Prometheus scraping a supervisor under load: throughput per branch, lag to zero, quarantine alert for the bad branch only',
  async (t) => {
    const topics = await withTopics(t, 2);
    const url = await withDatabase(t);
    const supervisor = new SupervisorProcess(t, topics, url, ['--partitions', '0-1', '--linger-ms', '20']);
    const port = await supervisor.httpPort();
    // Scraped under the job label the shipped PodMonitor gives the pods, as in a cluster.
    const prometheus = await PrometheusServer.start(t, {
      job: await shippedJob(),
      targets: [`127.0.0.1:${port}`],
      ruleFiles: [RULES],
    });
    await waitFor(
      'Prometheus scrapes the supervisor',
      () => prometheus.query('up{job="zipbank-ingester"}'),
      (r) => r[0]?.value[1] === '1',
      30_000,
    );

    const produced = await runNode('dist/lab/produce.js', [
      '--branches',
      '2',
      '--customers',
      '20',
      '--transactions',
      '20000',
      '--rate',
      '4000',
      '--customers-topic',
      topics.customersTopic,
      '--transactions-topic',
      topics.transactionsTopic,
    ]);
    t.equal(produced.code, 0);
    await sendRecords([
      [topics.transactionsTopic, 1, Buffer.from('not json')],
      [topics.transactionsTopic, 1, json({ custid: 1, type: 'bonus', date: 1, amt: 1 })],
    ]);

    const throughput = await waitFor(
      'throughput of both branches',
      () => prometheus.query('max_over_time(sum by (branch) (rate(zipbank_records_consumed_total[5s]))[2m:1s])'),
      (r) => r.length === 2 && r.every((s) => Number(s.value[1]) > 0),
      30_000,
    );
    t.same(throughput.map((s) => s.metric.branch).sort(), ['0', '1'], 'per-branch throughput');
    await waitFor(
      'lag goes to zero on every branch and topic',
      () => prometheus.query('max by (branch, topic) (zipbank_consumer_lag)'),
      (r) => r.length === 4 && r.every((s) => s.value[1] === '0'),
      60_000,
    );
    const firing = await waitFor(
      'the quarantine alert fires',
      () => prometheus.query('ALERTS{alertname="ZipBankRecordsQuarantined", alertstate="firing"}'),
      (r) => r.length >= 2,
      30_000,
    );
    t.same([...new Set(firing.map((s) => s.metric.branch))], ['1'], 'for branch 1 only');
    t.same(firing.map((s) => s.metric.reason).sort(), ['not_json', 'unknown_type'], 'one per reason');
    t.same(
      await prometheus.query(
        'ALERTS{alertname=~"ZipBankBranchNotReady|ZipBankOffsetGap|ZipBankWriteFailures|ZipBankIngesterDown", alertstate="firing"}',
      ),
      [],
      'no other alert fires',
    );

    // The exposition passes promtool's lint: names, units, _total on counters.
    const scrape = (await supervisor.get('/metrics')).text;
    const lint = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('promtool', ['check', 'metrics']);
      let output = '';
      child.stdout.on('data', (c: Buffer) => (output += c.toString()));
      child.stderr.on('data', (c: Buffer) => (output += c.toString()));
      child.on('exit', (code) => resolve({ code, output }));
      child.stdin.end(scrape);
    });
    t.equal(lint.output.trim(), '', 'promtool check metrics reports nothing');
    t.equal(lint.code, 0);

    // The dashboard: a datasource and a branch variable; every query parses on this Prometheus and
    // names only metrics the supervisor exports.
    const dashboard = JSON.parse(await readFile(path.join(MONITORING, 'grafana-dashboard.json'), 'utf8')) as {
      templating: { list: { name: string; type: string }[] };
      panels: { title: string; targets: { expr: string }[] }[];
    };
    t.ok(
      dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'),
      'a datasource variable',
    );
    t.ok(
      dashboard.templating.list.some((v) => v.name === 'branch'),
      'a branch variable',
    );
    const exported = new Set(
      [...scrape.matchAll(/^# TYPE (\S+) (\S+)/gm)].flatMap(([, name, type]) =>
        type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
      ),
    );
    let queries = 0;
    for (const panel of dashboard.panels) {
      for (const target of panel.targets) {
        const expr = target.expr
          .replaceAll('$__rate_interval', '1m')
          .replaceAll('$job', '.*')
          .replaceAll('$branch', '.*');
        await t.resolves(prometheus.query(expr), `${panel.title}: the query parses and runs`);
        for (const [name] of expr.matchAll(/\b(?:zipbank|process)_[a-z_]+\b/g))
          t.ok(exported.has(name), `${panel.title}: ${name} is exported`);
        queries++;
      }
    }
    t.ok(queries >= 14, `${queries} dashboard queries checked`);
    // And the alert rules: every metric they name is one the supervisor exports.
    const rules = parse(await readFile(RULES, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    for (const rule of rules.groups.flatMap((g) => g.rules)) {
      for (const [name] of rule.expr.matchAll(/\bzipbank_[a-z_]+\b/g))
        t.ok(exported.has(name), `${rule.alert}: ${name} is exported`);
    }
    const titles = dashboard.panels.map((p) => p.title).join('\n');
    for (const topic of [
      'Throughput',
      'latency',
      'lag',
      'Parked',
      'Oldest parked',
      'Quarantined',
      'restarts',
      'memory',
      'CPU',
      'Lease ownership',
    ])
      t.match(titles, new RegExp(topic), `a panel for ${topic}`);
    t.equal((await supervisor.kill('SIGTERM')).code, 0);
  },
);
