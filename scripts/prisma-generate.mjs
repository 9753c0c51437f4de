// Runs `prisma generate` on machines that cannot download Prisma's native schema engine.
// Generation never runs that engine, but the CLI refuses to start without one on disk, so any
// existing file satisfies it (see ../shared/BRIEF.md). Where the engine was downloaded, or
// PRISMA_SCHEMA_ENGINE_BINARY is set already, nothing is overridden.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('prisma/package.json')), 'build', 'index.js');
const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], { stdio: 'inherit', env });
if (result.status !== 0) process.exit(result.status ?? 1);

// Every thread that runs a Prisma query compiles Prisma's WebAssembly query compiler from a
// 4.5 MB base64 copy: about 23 MB per branch thread. The generated client is taught to take a
// module compiled once by the supervisor and handed to every worker instead
// (src/db/query-compiler-module.ts). Should a Prisma upgrade change that code, the build stops
// here rather than quietly losing the saving.
const generatedClass = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'src',
  'generated',
  'prisma',
  'internal',
  'class.ts',
);
const LOADER = 'getQueryCompilerWasmModule: async () => {\n';
const source = readFileSync(generatedClass, 'utf8');
if (source.split(LOADER).length !== 2) {
  process.stderr.write(
    `prisma-generate: ${generatedClass} no longer has one "${LOADER.trim()}"; update scripts/prisma-generate.mjs for this Prisma version\n`,
  );
  process.exit(1);
}
writeFileSync(
  generatedClass,
  source.replace(
    LOADER,
    `${LOADER}    // Added by scripts/prisma-generate.mjs: the module compiled once and shared by every thread.
    const shared = globalThis[Symbol.for('zipbank.prisma.queryCompilerModule')]
    if (shared) return shared
`,
  ),
);
