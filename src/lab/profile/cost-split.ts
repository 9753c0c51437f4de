// Splits the ingester's CPU, sampled by perf, into the parts that spend it: the Kafka binding and
// librdkafka, Prisma's client, node-postgres, V8's garbage collector and compiler, and the
// ingester's own code by folder. The design card fixes the first ones; only the last is the
// ingester's to cut, which is what the split is for (docs/performance.md, issue #39).
import { type PerfSample, scriptFrame } from './perf-samples.js';

/** Who a category's CPU belongs to: what the design card fixes, the ingester's own code, V8's runtime. */
export type Owner = 'card' | 'own' | 'runtime' | 'other';

export interface CostCategory {
  name: string;
  owner: Owner;
}

/** The source file a bundle position comes from (the bundle's source map), when known. */
export type SourceOf = (url: string, line: number, column: number) => string | undefined;

const GARBAGE_COLLECTION =
  /Heap::CollectGarbage|Scavenge|MarkCompact|ConcurrentMarking|Sweeper|MinorMS|IncrementalMarking|MarkingVisitor|GlobalBackingStoreRegistry::Unregister/;
const COMPILATION =
  /compiler::|CompilationJob|Compiler::|Parser::|BytecodeGenerator|Maglev|CompileLazy|compileSourceTextModule|compileForInternalLoader/;
const SOCKET_IO = /uv__write|uv__try_write|writev|sendmsg|LibuvStreamWrap::DoWrite|uv__read|OnUvRead/;
/** C library allocation: no frame pointers, so no caller; in a busy branch thread mostly the message buffers. */
const ALLOCATION =
  /^(_int_malloc|malloc|_int_free|cfree|free|malloc_consolidate|unlink_chunk|__libc_calloc)(\.constprop\.\d+|@\S+)?$/;

export const CATEGORIES = {
  messageObjects: { name: "binding: each message's object and buffers (native)", owner: 'card' },
  bindingCallbacks: { name: 'binding: consume callbacks (native and JS)', owner: 'card' },
  librdkafka: { name: "librdkafka's broker threads", owner: 'card' },
  callThreads: { name: 'libuv pool: the consume calls', owner: 'card' },
  allocation: { name: 'malloc and free, callers unknown (mostly message buffers)', owner: 'card' },
  prisma: { name: "Prisma's client", owner: 'card' },
  postgresDriver: { name: 'node-postgres', owner: 'card' },
  socketIo: { name: 'socket reads and writes (Postgres)', owner: 'card' },
  gcBranch: { name: 'garbage collection, branch threads', owner: 'runtime' },
  gcHelpers: { name: "garbage collection, V8's helper threads", owner: 'runtime' },
  compiler: { name: "V8's compilers (both kinds of thread)", owner: 'runtime' },
  // All of it, its Prisma client and collections included: small, and counted against the ingester.
  supervisor: { name: "the supervisor's thread, all its parts", owner: 'own' },
  otherLibraries: { name: 'other libraries (pino and the rest)', owner: 'other' },
  otherNative: { name: 'other native code of the branch threads', owner: 'other' },
  otherHelpers: { name: "V8's helper threads, other", owner: 'other' },
} as const satisfies Record<string, CostCategory>;

/** The ingester's own code, by folder of src/: the last src/ of the path, since the checkout may sit under one. */
function ownCode(source: string): CostCategory | undefined {
  if (source.includes('node_modules/')) return undefined;
  const path = source.startsWith('src/') ? `/${source}` : source;
  const [folder, ...rest] = path.slice(path.lastIndexOf('/src/') + '/src/'.length).split('/');
  if (!path.includes('/src/') || rest.length === 0 || folder === 'generated') return undefined;
  return { name: `own code: src/${folder}`, owner: 'own' };
}

/** A bundle source file's category. */
export function sourceCategory(source: string): CostCategory {
  if (/@prisma\/|src\/generated\/prisma\//.test(source)) return CATEGORIES.prisma;
  if (/node_modules\/(pg|pg-[a-z0-9-]+|postgres-[a-z-]+|pgpass|split2|xtend)\//.test(source))
    return CATEGORIES.postgresDriver;
  if (source.includes('node-rdkafka/')) return CATEGORIES.bindingCallbacks;
  return ownCode(source) ?? CATEGORIES.otherLibraries;
}

export function categorize(sample: PerfSample, sourceOf: SourceOf): CostCategory {
  const { thread, frames } = sample;
  const any = (pattern: RegExp) => frames.some((frame) => pattern.test(frame));
  if (thread.startsWith('rdk:')) return CATEGORIES.librdkafka;
  if (thread === 'libuv-worker') return CATEGORIES.callThreads;
  if (thread === 'MainThread') return CATEGORIES.supervisor;
  if (thread.startsWith('V8')) {
    if (any(GARBAGE_COLLECTION)) return CATEGORIES.gcHelpers;
    return any(COMPILATION) ? CATEGORIES.compiler : CATEGORIES.otherHelpers;
  }
  // A branch thread. What happens under the binding's conversion is the conversion's, whatever
  // it calls; a collection is the collector's, whoever allocated.
  if (any(/ToV8Object/)) return CATEGORIES.messageObjects;
  if (any(GARBAGE_COLLECTION)) return CATEGORIES.gcBranch;
  if (any(COMPILATION)) return CATEGORIES.compiler;
  // Otherwise the nearest script that is not Node's own: a built-in (JSON.parse, a Buffer's
  // toString) is the cost of the code that called it.
  let socket = false;
  for (const frame of frames) {
    const script = scriptFrame(frame);
    if (script === undefined) {
      socket ||= SOCKET_IO.test(frame);
      continue;
    }
    if (script.url.startsWith('node:')) continue;
    if (socket) return CATEGORIES.socketIo;
    const source = sourceOf(script.url, script.line, script.column) ?? script.url;
    return sourceCategory(source);
  }
  if (socket) return CATEGORIES.socketIo;
  if (any(/HandleOKCallback|Nan::/)) return CATEGORIES.bindingCallbacks;
  if (frames.length > 0 && ALLOCATION.test(frames[0]!)) return CATEGORIES.allocation;
  return CATEGORIES.otherNative;
}

export interface CostShare extends CostCategory {
  /** Share of all sampled CPU, 0 to 1. */
  share: number;
}

/** Each category's share of the samples' CPU, largest first. */
export function costSplit(samples: readonly PerfSample[], sourceOf: SourceOf): CostShare[] {
  const totals = new Map<string, { category: CostCategory; period: number }>();
  let all = 0;
  for (const sample of samples) {
    const category = categorize(sample, sourceOf);
    const entry = totals.get(category.name) ?? { category, period: 0 };
    entry.period += sample.period;
    totals.set(category.name, entry);
    all += sample.period;
  }
  return [...totals.values()]
    .map(({ category, period }) => ({ ...category, share: all > 0 ? period / all : 0 }))
    .sort((a, b) => b.share - a.share);
}

/** The shares summed per owner. */
export function ownerShares(split: readonly CostShare[]): Record<Owner, number> {
  const sums: Record<Owner, number> = { card: 0, own: 0, runtime: 0, other: 0 };
  for (const entry of split) sums[entry.owner] += entry.share;
  return sums;
}
