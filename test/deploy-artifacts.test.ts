// Static checks of the container image definition and the Kubernetes manifests (no Docker engine
// or cluster exists here): they parse, validate against the Kubernetes schemas, and agree with
// the code (probe paths, metrics port, shutdown bound, configuration variables).
import t from 'tap';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { parseAllDocuments } from 'yaml';
import { PROJECT_DIR } from './helpers/fixtures.js';
import { loadConfig } from '../src/config.js';

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

  const users = runtime.filter((i) => keyword(i) === 'USER').map(args);
  t.ok(users.length > 0 && !['root', '0'].includes(users.at(-1)!.trim()), `runtime stage runs as a non-root user (${users.at(-1)})`);
  const entry = runtime.find((i) => keyword(i) === 'ENTRYPOINT');
  t.match(entry ? args(entry) : '', /"node",\s*"dist\/supervisor\.js"/, 'starts node dist/supervisor.js');
  const copies = runtime.filter((i) => keyword(i) === 'COPY').map((i) => i.getTextContent());
  t.ok(copies.length > 0 && copies.every((c) => c.includes('--from=build')), 'the runtime stage copies only build outputs');
  t.notOk(copies.some((c) => /\bsrc\b|\btest\b/.test(c)), 'no sources or tests in the image');
  t.notOk(instructions.some((i) => keyword(i) === 'ADD' && /https?:\/\//.test(args(i))), 'no ADD from a URL');
  for (const run of instructions.filter((i) => keyword(i) === 'RUN' && args(i).includes('apt-get install'))) {
    t.match(args(run), /--no-install-recommends/, 'apt installs stay minimal');
    t.match(args(run), /rm -rf \/var\/lib\/apt\/lists/, 'apt lists are removed');
  }
  const build = instructions.filter((i) => i.getRange().start.line < runtimeStart).map((i) => `${keyword(i)} ${args(i)}`).join('\n');
  t.match(build, /npm ci/, 'dependencies from the lock file');
  t.match(build, /npm run build/, 'builds dist/ and the Prisma client');
  t.match(build, /npm prune --omit=dev/, 'drops dev dependencies before the copy');

  const ignore = (await readFile(path.join(PROJECT_DIR, '.dockerignore'), 'utf8')).split('\n').map((l) => l.trim());
  for (const entry of ['node_modules', '.git', '.kafka', 'dist', '.env']) t.ok(ignore.includes(entry), `.dockerignore excludes ${entry}`);
});

t.test('every Kubernetes manifest validates against its schema and agrees with the code', async (t) => {
  const dir = path.join(PROJECT_DIR, 'k8s');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
  const objects: Record<string, any>[] = [];
  for (const file of files) {
    for (const doc of parseAllDocuments(await readFile(path.join(dir, file), 'utf8'))) {
      t.same(doc.errors, [], `${file} is valid YAML`);
      const object = doc.toJS() as Record<string, any>;
      if (object.kind === 'Kustomization') {
        for (const resource of object.resources as string[]) t.ok(files.includes(resource), `kustomization lists ${resource}, which exists`);
        continue;
      }
      const [group, version] = String(object.apiVersion).includes('/') ? String(object.apiVersion).split('/') : ['', object.apiVersion];
      // kubernetes-models mirrors apiVersion in its paths: v1/ConfigMap, apps/v1/Deployment, ...
      const module = (await import(`kubernetes-models/${group === '' ? '' : `${group}/`}${version}/${object.kind}`)) as Record<string, new (o: unknown) => { validate(): void }>;
      const Model = module[object.kind]!;
      t.doesNotThrow(() => new Model(object).validate(), `${file}: ${object.kind} ${object.metadata?.name} validates`);
      objects.push(object);
    }
  }
  const find = (kind: string) => objects.find((o) => o.kind === kind)!;
  const deployment = find('Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const defaults = loadConfig([]);
  if (defaults.help) throw new Error('unexpected');

  t.same(container.args, ['--partitions', '0-7'], 'runs branches 0-7');
  t.equal(container.livenessProbe.httpGet.path, '/healthz');
  t.equal(container.readinessProbe.httpGet.path, '/readyz');
  t.equal(container.ports[0].containerPort, defaults.config.metricsPort, 'metrics port matches the code');
  t.ok(pod.terminationGracePeriodSeconds * 1000 > Number(find('ConfigMap').data.SHUTDOWN_TIMEOUT_MS), 'grace period longer than the shutdown bound');
  t.ok(pod.securityContext.runAsNonRoot && container.securityContext.readOnlyRootFilesystem && container.securityContext.allowPrivilegeEscalation === false, 'non-root, read-only');
  t.ok(container.resources.requests && container.resources.limits, 'requests and limits');
  t.same(container.env.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.key, 'DATABASE_URL', 'database URL from a Secret');
  const helpText = (await import('../src/config.js')).HELP;
  for (const key of Object.keys(find('ConfigMap').data)) t.match(helpText, `(${key}`, `ConfigMap key ${key} is a variable the supervisor reads`);
  t.equal(find('Service').spec.ports[0].targetPort, 'metrics');
  t.same(find('PodDisruptionBudget').spec.selector.matchLabels, deployment.spec.selector.matchLabels, 'the PDB selects the ingester pods');
  const job = find('Job');
  t.match(job.spec.template.spec.containers[0].command.join(' '), /dist\/tools\/migrate\.js/, 'the Job runs the migrations');
});
