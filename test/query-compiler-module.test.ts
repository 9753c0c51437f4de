// The branch workers share the supervisor's compiled Prisma query compiler instead of each
// compiling its own (about 23 MB per thread). Proven on the path the workers take: a worker thread
// given a module in workerData runs its Prisma queries with that very module.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import { PROJECT_DIR, withDatabase } from './helpers/fixtures.js';
import { compileQueryCompilerModule } from '../src/db/query-compiler-module.js';

/** Runs one raw query in a fresh worker thread given `queryCompilerModule`; its outcome. */
async function queryInWorker(
  databaseUrl: string,
  queryCompilerModule: object,
): Promise<{ ok: boolean; result?: number; error?: string }> {
  const dist = (file: string) => path.join(PROJECT_DIR, 'dist', file);
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    (async () => {
      const { adoptWorkerQueryCompilerModule } = await import(${JSON.stringify(dist('db/query-compiler-module.js'))});
      const { createPrisma } = await import(${JSON.stringify(dist('db/prisma.js'))});
      adoptWorkerQueryCompilerModule();
      const prisma = createPrisma(workerData.databaseUrl, 1);
      try {
        const [row] = await prisma.$queryRawUnsafe('SELECT 41 + 1 AS n');
        parentPort.postMessage({ ok: true, result: Number(row.n) });
      } catch (err) {
        parentPort.postMessage({ ok: false, error: String(err && err.message || err) });
      } finally {
        await prisma.$disconnect().catch(() => undefined);
      }
    })();`;
  const worker = new Worker(code, { eval: true, workerData: { databaseUrl, queryCompilerModule } });
  try {
    return await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  } finally {
    await worker.terminate();
  }
}

t.test('a worker given the compiled query compiler runs its queries with it', async (t) => {
  const url = await withDatabase(t);
  const shared = await compileQueryCompilerModule();
  const outcome = await queryInWorker(url, shared);
  t.same(outcome, { ok: true, result: 42 }, 'the query runs on the shared module');

  // A valid module without Prisma's exports: only a client that really takes the module it was
  // given fails with it. This is what shows the generated client's lookup is in place.
  const empty = new (
    globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }
  ).WebAssembly.Module(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]));
  const poisoned = await queryInWorker(url, empty);
  t.equal(
    poisoned.ok,
    false,
    `with a module lacking Prisma's exports the query fails (${poisoned.error?.slice(0, 120)})`,
  );
});
