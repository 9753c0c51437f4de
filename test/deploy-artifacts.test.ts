// Static checks of the container image definition and the Kubernetes manifests (no Docker engine
// or cluster exists here): they parse, validate against the Kubernetes schemas, and agree with
// the code (probe paths, metrics port, shutdown bound, configuration variables).
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, readdir } from 'node:fs/promises';
import { promisify } from 'node:util';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { parseAllDocuments } from 'yaml';
import { PROJECT_DIR } from './helpers/fixtures.js';
import { loadConfig } from '../src/config/ingester-config.js';
import { readKafkaConnection } from '../src/kafka/kafka-settings.js';
import { IMAGE_ENVIRONMENT } from '../src/lab/load/ingester-process.js';

t.test('the Dockerfile is multi-stage, ships only what runs, runs as non-root and starts the supervisor', async (t) => {
  const text = await readFile(path.join(PROJECT_DIR, 'Dockerfile'), 'utf8');
  const dockerfile = DockerfileParser.parse(text);
  const instructions = dockerfile.getInstructions();
  const froms = dockerfile.getFROMs();
  t.ok(froms.length >= 2, 'at least a build and a runtime stage');
  const runtimeStart = froms.at(-1)!.getRange().start.line;
  const runtime = instructions.filter((i) => i.getRange().start.line > runtimeStart);
  const keyword = (i: (typeof instructions)[number]) => i.getKeyword();
  const args = (i: (typeof instructions)[number]) => i.getArgumentsContent() ?? '';

  // The load tools measure the ingester with the image's environment: the two must agree.
  const envs = runtime
    .filter((i) => keyword(i) === 'ENV')
    .map(args)
    .join('\n');
  for (const [name, value] of Object.entries(IMAGE_ENVIRONMENT))
    t.match(
      envs,
      new RegExp(`\\b${name}=${value}\\b`),
      `the runtime stage sets ${name}=${value}, as the load tools do`,
    );

  const users = runtime.filter((i) => keyword(i) === 'USER').map(args);
  t.ok(
    users.length > 0 && !['root', '0'].includes(users.at(-1)!.trim()),
    `runtime stage runs as a non-root user (${users.at(-1)})`,
  );
  const entry = runtime.find((i) => keyword(i) === 'ENTRYPOINT');
  t.match(entry ? args(entry) : '', /"node",\s*"dist\/main\.cjs"/, 'starts node dist/main.cjs');
  const copies = runtime.filter((i) => keyword(i) === 'COPY').map((i) => i.getTextContent());
  t.ok(
    copies.length > 0 && copies.every((c) => c.includes('--from=build')),
    'the runtime stage copies only build outputs',
  );
  t.notOk(
    copies.some((c) => /\bsrc\b|\btest\b/.test(c)),
    'no sources or tests in the image',
  );
  t.notOk(
    instructions.some((i) => keyword(i) === 'ADD' && /https?:\/\//.test(args(i))),
    'no ADD from a URL',
  );
  for (const run of instructions.filter((i) => keyword(i) === 'RUN' && args(i).includes('apt-get install'))) {
    t.match(args(run), /--no-install-recommends/, 'apt installs stay minimal');
    t.match(args(run), /rm -rf \/var\/lib\/apt\/lists/, 'apt lists are removed');
  }
  const build = instructions
    .filter((i) => i.getRange().start.line < runtimeStart)
    .map((i) => `${keyword(i)} ${args(i)}`)
    .join('\n');
  t.match(build, /npm ci/, 'dependencies from the lock file');
  t.match(build, /npm run build/, 'builds dist/ and the Prisma client');
  t.match(build, /npm prune --omit=dev/, 'drops dev dependencies before the copy');

  // The runtime stage carries what the librdkafka binding links (checked with ldd in the build
  // stage) and the CA bundle: without them TLS to Kafka or Postgres cannot work in the image.
  const runtimeInstalls = runtime
    .filter((i) => keyword(i) === 'RUN')
    .map(args)
    .join('\n');
  for (const pkg of ['libssl3', 'zlib1g', 'ca-certificates'])
    t.match(runtimeInstalls, new RegExp(`apt-get install[^\n]*\\b${pkg}\\b`), `the runtime stage installs ${pkg}`);
  t.match(
    build,
    /ldd node_modules\/node-rdkafka\/build\/Release\/node-librdkafka\.node/,
    'the build stage lists what the binding links',
  );
  t.match(build, /grep -q 'not found'/, 'and fails when a library is missing');

  const ignore = (await readFile(path.join(PROJECT_DIR, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
  for (const entry of ['node_modules', '.git', '.kafka', 'dist', '.env'])
    t.ok(ignore.includes(entry), `.dockerignore excludes ${entry}`);
});

t.test('every Kubernetes manifest validates against its schema and agrees with the code', async (t) => {
  const dir = path.join(PROJECT_DIR, 'k8s/base');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
  const objects: Record<string, any>[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(path.join(dir, file), 'utf8'))) {
      t.same(doc.errors, [], `${file} is valid YAML`);
      const object = doc.toJS() as Record<string, any>;
      if (object.kind === 'Kustomization') {
        for (const resource of object.resources as string[])
          t.ok(files.includes(resource), `kustomization lists ${resource}, which exists`);
        continue;
      }
      await validateKubernetes(t, object, `${file}: ${object.metadata?.name}`);
      objects.push(object);
    }
  }
  const find = (kind: string) => objects.find((o) => o.kind === kind)!;
  const deployment = find('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const defaults = loadConfig([]);
  if (defaults.help) throw new Error('unexpected');

  t.same(container.args, ['--partitions', 'auto'], 'shares the branches through the consumer group');
  t.equal(deployment.spec.replicas, 3, 'three replicas');
  t.equal(find('PodDisruptionBudget').spec.maxUnavailable, 1, 'one pod at a time may go');
  t.equal(
    deployment.spec.strategy.rollingUpdate.maxUnavailable,
    0,
    'a rolling update adds a pod before it removes one',
  );
  const scaler = parseAllDocuments(
    await readFile(path.join(dir, '../autoscaling/keda-scaledobject.yaml'), 'utf8'),
  )[0]!.toJS() as Record<string, any>;
  t.equal(scaler.kind, 'ScaledObject');
  t.equal(scaler.spec.scaleTargetRef.name, deployment.metadata.name, 'KEDA scales the ingester Deployment');
  t.ok(scaler.spec.maxReplicaCount <= 8, 'capped at the number of branches');
  const trigger = scaler.spec.triggers[0];
  t.same(
    [trigger.type, trigger.metadata.consumerGroup, trigger.metadata.topic],
    ['kafka', find('ConfigMap').data.KAFKA_GROUP, find('ConfigMap').data.TRANSACTIONS_TOPIC],
    "on the group's lag on the transactions topic",
  );
  t.equal(container.livenessProbe.httpGet.path, '/healthz');
  t.equal(container.readinessProbe.httpGet.path, '/readyz');
  t.equal(container.ports[0].containerPort, defaults.config.metricsPort, 'metrics port matches the code');
  t.ok(
    pod.terminationGracePeriodSeconds * 1000 > Number(find('ConfigMap').data.SHUTDOWN_TIMEOUT_MS),
    'grace period longer than the shutdown bound',
  );
  t.ok(
    pod.securityContext.runAsNonRoot &&
      container.securityContext.readOnlyRootFilesystem &&
      container.securityContext.allowPrivilegeEscalation === false,
    'non-root, read-only',
  );
  t.ok(container.resources.requests && container.resources.limits, 'requests and limits');
  t.same(
    container.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.key,
    'DATABASE_URL',
    'database URL from a Secret',
  );
  const helpText = (await import('../src/config/ingester-config.js')).HELP;
  const configMap = find('ConfigMap').data as Record<string, string>;
  for (const key of Object.keys(configMap).filter((k) => !k.startsWith('KAFKA_CFG_')))
    t.match(helpText, `(${key}`, `ConfigMap key ${key} is a variable the supervisor reads`);
  const fromConfigMap = loadWithEnvironment(configMap, container.args);
  t.same(
    [fromConfigMap.livenessTimeoutMs, fromConfigMap.databaseResponseTimeoutMs],
    [Number(configMap.LIVENESS_TIMEOUT_MS), Number(configMap.DATABASE_RESPONSE_TIMEOUT_MS)],
    'the liveness and database response timeouts are set in the ConfigMap, and the supervisor accepts them together',
  );
  // KAFKA_CFG_* keys are librdkafka settings: librdkafka itself must accept each.
  const kafkaEnv = Object.fromEntries(Object.entries(configMap).filter(([k]) => k.startsWith('KAFKA_CFG_')));
  t.ok(Object.keys(kafkaEnv).length >= 3, 'the ConfigMap configures SASL_SSL');
  const problems: string[] = [];
  readKafkaConnection(problems, configMap.KAFKA_BROKERS!, undefined, kafkaEnv);
  t.same(problems, [], 'librdkafka accepts every KAFKA_CFG_ setting of the ConfigMap');
  t.equal(configMap.KAFKA_CFG_SECURITY_PROTOCOL, 'SASL_SSL');

  // Secrets: the SASL password and the CAs are files from Secrets; the Deployment never sees the owner's URL.
  const mounts = Object.fromEntries(
    (container.volumeMounts as { name: string; mountPath: string }[]).map((m) => [m.name, m.mountPath]),
  );
  const secretVolumes = Object.fromEntries(
    (pod.volumes as { name: string; secret?: { secretName: string } }[])
      .filter((v) => v.secret)
      .map((v) => [v.name, v.secret!.secretName]),
  );
  const passwordFile = container.env.find((e: any) => e.name === 'KAFKA_CFG_SASL_PASSWORD_FILE')?.value as string;
  const saslVolume = Object.entries(mounts).find(([, mountPath]) => passwordFile?.startsWith(`${mountPath}/`))?.[0];
  t.equal(
    saslVolume && secretVolumes[saslVolume],
    'zipbank-kafka-sasl',
    'the SASL password is a file from its own Secret',
  );
  const caVolume = Object.entries(mounts).find(([, mountPath]) =>
    configMap.KAFKA_CFG_SSL_CA_LOCATION!.startsWith(`${mountPath}/`),
  )?.[0];
  t.equal(caVolume && secretVolumes[caVolume], 'zipbank-ca', 'the CA file comes from the CA Secret');
  t.equal(pod.automountServiceAccountToken, false, 'no service account token in the ingester');
  const secretsUsed = JSON.stringify(pod);
  t.notMatch(secretsUsed, /zipbank-ingester-db-owner/, 'the Deployment never sees the schema owner');

  const policy = find('NetworkPolicy');
  t.same(policy.spec.policyTypes, ['Ingress'], 'a NetworkPolicy restricts ingress');
  t.same(
    policy.spec.ingress.flatMap((r: any) => r.ports.map((p: any) => p.port)),
    ['metrics'],
    'admitting only the metrics port',
  );
  t.same(policy.spec.podSelector.matchLabels, deployment.spec.selector.matchLabels);
  t.equal(find('Service').spec.ports[0].targetPort, 'metrics');
  t.same(
    find('PodDisruptionBudget').spec.selector.matchLabels,
    deployment.spec.selector.matchLabels,
    'the PDB selects the ingester pods',
  );
  const job = find('Job').spec.template.spec;
  t.match(job.initContainers[0].command.join(' '), /dist\/setup\/migrate\.js/, 'the Job runs the migrations first');
  t.match(job.containers[0].command.join(' '), /dist\/setup\/db-roles\.js/, 'then creates the least-privilege roles');
  for (const c of [...job.initContainers, ...job.containers]) {
    t.equal(
      c.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.name,
      'zipbank-ingester-db-owner',
      `${c.name}: as the schema owner`,
    );
  }
  t.equal(job.automountServiceAccountToken, false);

  // The image is one name everywhere, pinned (by tag or digest) in one place.
  const kustomization = parseAllDocuments(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8'))[0]!.toJS() as {
    images: { name: string }[];
  };
  t.same(
    kustomization.images.map((i) => i.name),
    ['zipbank-ingester'],
    'kustomization pins the image',
  );
  for (const c of [container, ...job.initContainers, ...job.containers])
    t.equal(c.image, 'zipbank-ingester', `${c.name} uses the pinned image name`);
});

/**
 * Validates an object against the Kubernetes schema of its kind (kubernetes-models, which mirrors
 * apiVersion in its paths: v1/ConfigMap, apps/v1/Deployment, ...).
 */
/**
 * The supervisor's configuration as the Deployment starts it: the ConfigMap's variables as its
 * environment (KAFKA_CFG_* apart, checked by librdkafka above: they need the Secret's files) and
 * the container's args. A ConfigError names what the supervisor would refuse.
 */
function loadWithEnvironment(configMap: Record<string, string>, args: string[]) {
  const variables = Object.entries(configMap).filter(([k]) => !k.startsWith('KAFKA_CFG_'));
  const saved = variables.map(([k]) => [k, process.env[k]] as const);
  try {
    for (const [k, v] of variables) process.env[k] = v;
    const result = loadConfig(args);
    if (result.help) throw new Error('unexpected --help');
    return result.config;
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function validateKubernetes(
  t: { doesNotThrow(fn: () => void, message: string): void },
  object: Record<string, any>,
  where: string,
): Promise<void> {
  const [group, version] = String(object.apiVersion).includes('/')
    ? String(object.apiVersion).split('/')
    : ['', object.apiVersion];
  const module = (await import(
    `kubernetes-models/${group === '' ? '' : `${group}/`}${version}/${object.kind}`
  )) as Record<string, new (o: unknown) => { validate(): void }>;
  t.doesNotThrow(() => new module[object.kind]!(object).validate(), `${where}: ${object.kind} validates`);
}

/** Kinds of the operators' CRDs, which kubernetes-models does not carry: checked by hand below. */
const CUSTOM_KINDS = new Set(['PodMonitor', 'PrometheusRule', 'ScaledObject', 'TriggerAuthentication']);

/** `kubectl kustomize DIR`: the objects it renders. */
async function kustomize(dir: string): Promise<Record<string, any>[]> {
  const { stdout } = await promisify(execFile)('kubectl', ['kustomize', path.join(PROJECT_DIR, dir)], {
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(stdout).map((d) => d.toJS() as Record<string, any>);
}

t.test('each kustomization renders, validates and agrees: base, monitoring overlay, KEDA overlay', async (t) => {
  const kubectl = await promisify(execFile)('kubectl', ['version', '--client']).then(
    () => true,
    () => false,
  );
  t.ok(kubectl, 'kubectl (with its built-in kustomize) is on this machine');
  if (!kubectl) return;
  const rendered: Record<string, Record<string, any>[]> = {};
  for (const dir of ['k8s', 'k8s/overlays/monitoring', 'k8s/overlays/keda']) {
    rendered[dir] = await kustomize(dir);
    for (const object of rendered[dir]!) {
      if (CUSTOM_KINDS.has(object.kind)) t.ok(object.metadata?.name, `${dir}: ${object.kind} has a name`);
      else await validateKubernetes(t, object, dir);
    }
  }
  const kinds = (dir: string) => rendered[dir]!.map((o) => o.kind).sort();
  const deployment = (dir: string) => rendered[dir]!.find((o) => o.kind === 'Deployment')!;
  t.same(kinds('k8s'), [
    'ConfigMap',
    'CronJob',
    'Deployment',
    'Job',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'Service',
  ]);
  t.equal(deployment('k8s').spec.replicas, 3, 'the base runs a fixed three replicas');
  t.equal(
    deployment('k8s').spec.template.spec.containers[0].image,
    'registry.example.com/zipbank/ingester:0.1.0',
    'the image pinned once applies',
  );

  const monitoring = rendered['k8s/overlays/monitoring']!;
  for (const kind of ['PodMonitor', 'PrometheusRule'])
    t.ok(
      monitoring.some((o) => o.kind === kind),
      `the monitoring overlay has the ${kind}`,
    );
  const dashboard = monitoring.find((o) => o.kind === 'ConfigMap' && o.metadata.labels?.grafana_dashboard === '1');
  t.ok(dashboard, "the dashboard is a ConfigMap Grafana's sidecar picks up");
  t.same(
    JSON.parse(dashboard?.data?.['grafana-dashboard.json'] ?? '{}'),
    JSON.parse(await readFile(path.join(PROJECT_DIR, 'k8s/monitoring/grafana-dashboard.json'), 'utf8')),
    'holding the dashboard file as it is',
  );
  t.equal(deployment('k8s/overlays/monitoring').spec.replicas, 3);

  const keda = rendered['k8s/overlays/keda']!;
  const scaler = keda.find((o) => o.kind === 'ScaledObject');
  t.equal(
    scaler?.spec.scaleTargetRef.name,
    deployment('k8s/overlays/keda').metadata.name,
    'KEDA scales the Deployment',
  );
  t.notOk(
    'replicas' in deployment('k8s/overlays/keda').spec,
    'and the Deployment leaves the replica count to it: no tug of war',
  );
  t.ok(
    keda.some((o) => o.kind === 'PodMonitor'),
    'with the monitoring',
  );
});

t.test('the CLI Job template runs one command with the operator Secret', async (t) => {
  const { stdout } = await promisify(execFile)('bash', [
    path.join(PROJECT_DIR, 'scripts/cluster-cli.sh'),
    '--print',
    'rejected',
    'redrive',
    '--reason',
    'not_json',
    '--by',
    "o'brien",
  ]);
  const job = parseAllDocuments(stdout)[0]!.toJS() as Record<string, any>;
  await validateKubernetes(t, job, 'k8s/operator/cli-job.yaml');
  const container = job.spec.template.spec.containers[0];
  t.same(
    [...container.command, ...container.args],
    ['node', 'dist/cli.js', 'rejected', 'redrive', '--reason', 'not_json', '--by', "o'brien"],
    'the command, word for word',
  );
  t.equal(
    container.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.name,
    'zipbank-operator-db',
    "as the operator role, from the operator's Secret",
  );
  const secrets = parseAllDocuments(await readFile(path.join(PROJECT_DIR, 'k8s/secret.example.yaml'), 'utf8')).map(
    (d) => d.toJS() as Record<string, any>,
  );
  t.ok(
    secrets.find((s) => s.metadata.name === 'zipbank-operator-db')?.stringData?.DATABASE_URL,
    'which carries the URL',
  );
  t.equal(job.spec.template.spec.automountServiceAccountToken, false);
  t.ok(job.metadata.generateName && !job.metadata.name, 'each run gets a name of its own');
  const usage = await promisify(execFile)('bash', [path.join(PROJECT_DIR, 'scripts/cluster-cli.sh')]).then(
    () => 0,
    (err: { code: number }) => err.code,
  );
  t.equal(usage, 2, 'without a command: a usage error');
});
