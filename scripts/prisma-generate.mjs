// Runs `prisma generate` on machines that cannot download Prisma's native schema engine.
// Generation never runs that engine, but the CLI refuses to start without one on disk, so any
// existing file satisfies it (see ../shared/BRIEF.md). Where the engine was downloaded, or
// PRISMA_SCHEMA_ENGINE_BINARY is set already, nothing is overridden.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';

const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1' };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
const cli = path.join(path.dirname(createRequire(import.meta.url).resolve('prisma/package.json')), 'build', 'index.js');
const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(result.status ?? 1);
