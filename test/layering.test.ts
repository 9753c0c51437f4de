// The layout's rules, read from the source: no import cycle, and no import from a lower layer
// up. Layers, lowest first (README, Layout): core; kafka and db beside each other; config;
// ingest; worker; supervisor, cli and setup beside each other; lab; the entry files.
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../src');

const LAYERS: Record<string, number> = {
  generated: 0,
  core: 0,
  kafka: 1,
  db: 1,
  config: 2,
  ingest: 3,
  worker: 4,
  supervisor: 5,
  cli: 5,
  setup: 5,
  lab: 6,
  '.': 7,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return name === 'generated' ? [] : sourceFiles(full);
    return /\.c?ts$/.test(name) ? [full] : [];
  });
}

/** The folder right under src/ that a file belongs to ('.' for the entry files). */
function folderOf(file: string): string {
  const rel = path.relative(SRC, file);
  return rel.includes(path.sep) ? rel.split(path.sep)[0]! : '.';
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of text.matchAll(/(?:from\s+|import\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) {
    const target = path
      .resolve(path.dirname(file), match[1]!)
      .replace(/\.js$/, '.ts')
      .replace(/\.cjs$/, '.cts');
    found.push(target);
  }
  return found;
}

const files = sourceFiles(SRC);
const graph = new Map(
  files.map((f) => [f, importsOf(f).filter((target) => !target.includes(`${path.sep}generated${path.sep}`))]),
);

t.test('every source folder has a layer', async (t) => {
  const unknown = [...new Set(files.map(folderOf))].filter((folder) => LAYERS[folder] === undefined);
  t.same(unknown, [], 'folders without a layer');
});

t.test('no import from a lower layer up, and none between the folders of one layer', async (t) => {
  const wrong: string[] = [];
  for (const [file, targets] of graph) {
    const from = folderOf(file);
    for (const target of targets) {
      const to = folderOf(target);
      if (from === to) continue;
      if (LAYERS[to]! > LAYERS[from]! || (LAYERS[to] === LAYERS[from] && to !== from)) {
        wrong.push(`${path.relative(SRC, file)} -> ${path.relative(SRC, target)}`);
      }
    }
  }
  t.same(wrong, [], 'imports that run up or sideways');
});

t.test('no import cycle', async (t) => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const target of graph.get(file) ?? []) {
      if (state.get(target) === 'open') {
        cycles.push(
          stack
            .slice(stack.indexOf(target))
            .concat(target)
            .map((f) => path.relative(SRC, f))
            .join(' -> '),
        );
      } else if (!state.has(target)) visit(target);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  t.same(cycles, [], 'import cycles');
});

t.test('the rules catch what they claim to', async (t) => {
  // The checks above would pass on an empty graph: make sure the graph was read.
  t.ok(files.length > 50, 'source files found');
  const edges = [...graph.values()].reduce((n, targets) => n + targets.length, 0);
  t.ok(edges > 100, `relative imports found (${edges})`);
  t.ok(
    graph
      .get(path.join(SRC, 'worker', 'ingest-loop.ts'))
      ?.some((f) => f.endsWith(path.join('ingest', 'batch-committer.ts'))),
    'the ingest loop imports the committer',
  );
});

// The worker passes values down (a RetryPolicy, a ParkedPlan), never callbacks into itself: the
// commit path can then be read from the ingest loop down without a jump back up. Read with
// TypeScript's own parser: a function type anywhere in a declaration is a callback's shape.
function functionTypes(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionTypeNode(node)) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart());
      found.push(`${fileName}:${line + 1}: ${node.getText()}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

t.test('nothing under src/ingest/ takes a callback', async (t) => {
  const found = files
    .filter((f) => folderOf(f) === 'ingest')
    .flatMap((f) => functionTypes(path.relative(SRC, f), readFileSync(f, 'utf8')));
  t.same(found, [], 'function types declared in src/ingest/');
  // The rule can fail: the callback the committer took before the retry policy is caught.
  t.equal(
    functionTypes(
      'old.ts',
      'export type Attempt = <T>(what: string, action: () => Promise<T>) => Promise<T | undefined>;\n' +
        'class C { constructor(attempt: (what: string) => Promise<void>) {} }',
    ).length,
    3,
  );
  t.same(functionTypes('v.ts', 'const x = records.filter((r) => r.ok);'), [], 'an arrow function is not a type');
});
