// Bundles the branch worker into one file, dist/worker/branch-worker.bundle.js, which every branch
// thread loads (src/supervisor/branch-pool.ts). Each thread is its own V8 isolate and loads its
// modules itself, so one minified file costs every thread less memory and start-up CPU than the
// modules behind dist/worker/branch-worker.js (docs/performance.md).
// Runs after tsc, from its output, so the bundle is the code the tests ran.
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dist = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const result = await build({
  entryPoints: [path.join(dist, 'worker', 'branch-worker.js')],
  outfile: path.join(dist, 'worker', 'branch-worker.bundle.js'),
  bundle: true,
  minify: process.env.ZIPBANK_BUNDLE_MINIFY !== 'false',
  sourcemap: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The binding is a native addon; the base64 copy of Prisma's query compiler is only read where
  // no compiled module was handed over (src/db/query-compiler-module.ts), never in a branch thread.
  external: ['node-rdkafka', '@prisma/client/runtime/query_compiler_fast_bg.postgresql.wasm-base64.mjs'],
  // CommonJS packages in an ES module bundle call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
if (result.errors.length > 0 || result.warnings.length > 0) process.exit(1);
