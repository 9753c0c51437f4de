// The profile tool: perf's samples read and sorted into the parts that spent the CPU (pure), and
// one small run against a real catch-up, whose split must name the binding and the ingester's own
// folders. (Its figures come from full runs, docs/performance.md.)
import t from 'tap';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CATEGORIES, categorize, costSplit, ownerShares, sourceCategory } from '../src/lab/profile/cost-split.js';
import { parsePerfScript } from '../src/lab/profile/perf-samples.js';
import { runNode } from './helpers/fixtures.js';

const BUNDLE = 'file:///app/dist/worker/branch-worker.bundle.js';

/** perf script's text for these samples, as `perf script -F comm,tid,period,ip,sym` prints it. */
function perfText(samples: { thread: string; period: number; frames: string[] }[]): string {
  return samples
    .map(
      ({ thread, period, frames }) =>
        `${thread} 4242    ${period} \n${frames.map((f, i) => `\t    ${(0x1000 + i).toString(16)} ${f}`).join('\n')}\n`,
    )
    .join('\n');
}

/** A bundle whose lines 1-99 are node-postgres, 100-199 Prisma, 200 on the ingester's src/ingest. */
const sourceOf = (url: string, line: number) =>
  url === BUNDLE
    ? line < 100
      ? '/app/node_modules/pg/lib/client.js'
      : line < 200
        ? '/app/node_modules/@prisma/client/runtime/client.js'
        : '/app/src/ingest/batch.ts'
    : undefined;

t.test('samples are read from perf script with their thread, period and frames', async (t) => {
  const samples = parsePerfScript(
    perfText([
      { thread: 'WorkerThread', period: 1000, frames: ['JSON.parse', `JS:^parseRecords ${BUNDLE}:250:3`] },
      { thread: 'rdk:broker1', period: 2000, frames: ['rd_kafka_broker_serve', '[unknown]'] },
    ]),
  );
  t.equal(samples.length, 2);
  t.same(samples[0], {
    thread: 'WorkerThread',
    period: 1000,
    frames: ['JSON.parse', `JS:^parseRecords ${BUNDLE}:250:3`],
  });
  t.equal(samples[1]!.thread, 'rdk:broker1');
  t.equal(samples[1]!.period, 2000);
});

t.test('each sample goes to the part that spent it', async (t) => {
  const of = (thread: string, frames: string[]) => categorize({ thread, period: 1, frames }, sourceOf).name;
  // The binding's conversion owns what it calls, a collection whatever allocated.
  t.equal(
    of('WorkerThread', ['v8::Object::Set', 'NodeKafka::Conversion::Message::ToV8Object', 'HandleOKCallback']),
    CATEGORIES.messageObjects.name,
  );
  t.equal(
    of('WorkerThread', [
      'v8::internal::Scavenger::Process',
      'v8::internal::Heap::CollectGarbage',
      `JS:~x ${BUNDLE}:250:1`,
    ]),
    CATEGORIES.gcBranch.name,
  );
  // A built-in and Node's own script belong to the first script that is not Node's.
  t.equal(
    of('WorkerThread', ['Builtins_JsonParse', 'JS:~toString node:buffer:1:1', `JS:^parseRecords ${BUNDLE}:250:3`]),
    'own code: src/ingest',
  );
  t.equal(of('WorkerThread', [`JS:+query ${BUNDLE}:150:1`]), CATEGORIES.prisma.name);
  t.equal(
    of('WorkerThread', ['writev', 'JS:~_writev node:net:1:1', `JS:~submit ${BUNDLE}:10:1`]),
    CATEGORIES.socketIo.name,
  );
  t.equal(of('WorkerThread', [`JS:~parse ${BUNDLE}:10:1`]), CATEGORIES.postgresDriver.name);
  t.equal(
    of('WorkerThread', ['JS:^KafkaConsumer._consumeNum /app/node_modules/node-rdkafka/lib/kafka-consumer.js:505:47']),
    CATEGORIES.bindingCallbacks.name,
  );
  t.equal(of('WorkerThread', ['_int_malloc', '[unknown]']), CATEGORIES.allocation.name);
  t.equal(of('WorkerThread', ['unlink_chunk.constprop.0']), CATEGORIES.allocation.name);
  t.equal(of('WorkerThread', ['freeaddrinfo']), CATEGORIES.otherNative.name, 'only the allocator itself');
  // A checkout may itself sit under a folder called src: the last one names the folder.
  t.equal(sourceCategory('/home/me/src/zipbank/src/supervisor/metrics/families.ts').name, 'own code: src/supervisor');
  t.equal(sourceCategory('/app/src/generated/prisma/client.ts').name, CATEGORIES.prisma.name);
  t.equal(sourceCategory('/app/node_modules/pg-int8/index.js').name, CATEGORIES.postgresDriver.name);
  t.equal(sourceCategory('/app/node_modules/some-lib/src/core/x.js').name, CATEGORIES.otherLibraries.name);
  t.equal(of('V8Worker', ['v8::internal::ConcurrentMarking::RunMajor']), CATEGORIES.gcHelpers.name);
  t.equal(of('V8Worker', ['v8::internal::compiler::PipelineImpl::Run']), CATEGORIES.compiler.name);
  t.equal(of('rdk:broker1', ['__poll']), CATEGORIES.librdkafka.name);
  t.equal(of('libuv-worker', ['rd_kafka_consume']), CATEGORIES.callThreads.name);
  t.equal(of('MainThread', ['uv_run']), CATEGORIES.supervisor.name);
});

t.test('the split weighs samples by their period and sums to the whole', async (t) => {
  const split = costSplit(
    [
      { thread: 'rdk:broker1', period: 3, frames: [] },
      { thread: 'WorkerThread', period: 1, frames: [`JS:^parseRecords ${BUNDLE}:250:3`] },
    ],
    sourceOf,
  );
  t.same(
    split.map((e) => [e.name, e.share]),
    [
      [CATEGORIES.librdkafka.name, 0.75],
      ['own code: src/ingest', 0.25],
    ],
  );
  t.same(ownerShares(split), { card: 0.75, own: 0.25, runtime: 0, other: 0 });
});

t.test('a profiled catch-up names the binding, the collector and the ingester own folders', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'zipbank-profile-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const result = await runNode(
    'dist/lab/profile-split.js',
    [
      '--after',
      '0',
      '--seconds',
      '4',
      '--report-dir',
      dir,
      '--',
      '--mode',
      'catch-up',
      '--transactions',
      '100000',
      '--branches',
      '2',
      '--customers',
      '200',
      '--report-dir',
      dir,
    ],
    {},
    240_000,
  );
  t.equal(result.code, 0, 'the load test and the profile succeed', { stderr: result.stderr.slice(-2000) });
  t.match(result.stdout, /verified: all 100000 transactions in the ledger exactly once/);
  t.match(result.stdout, /by owner: the design card's parts +[\d.]+ %/);
  const file = (await readdir(dir)).find((f) => f.startsWith('profile-') && f.endsWith('.json'));
  t.ok(file, 'a profile report is written');
  const report = JSON.parse(await readFile(path.join(dir, file!), 'utf8')) as {
    samples: number;
    shares: { name: string; owner: string; share: number }[];
  };
  t.ok(report.samples > 100, `perf sampled the ingester (${report.samples} samples)`);
  const total = report.shares.reduce((sum, e) => sum + e.share, 0);
  t.ok(Math.abs(total - 1) < 1e-9, 'the shares sum to the whole');
  const share = (name: string) => report.shares.find((e) => e.name === name)?.share ?? 0;
  t.ok(share(CATEGORIES.messageObjects.name) > 0, "the binding's message objects are found");
  t.ok(share(CATEGORIES.gcBranch.name) + share(CATEGORIES.gcHelpers.name) > 0, 'garbage collection is found');
  // The minified bundle's positions are read through its source map back to src/.
  t.ok(
    report.shares.some((e) => e.name === 'own code: src/ingest' && e.share > 0),
    'the ingester own parsing, through the bundle source map',
  );
});
