// Prisma 7 runs every query, raw SQL included, through a WebAssembly query compiler. Each thread
// that compiles it from Prisma's base64 copy holds its own copy of the string, the bytes and the
// compiled code, which adds up across many branch threads. The supervisor
// compiles it once and hands the compiled module to every worker (a WebAssembly.Module passed to
// a worker thread shares its compiled code); the generated client takes it from here first
// (scripts/prisma-generate.mjs adds that lookup to it).
import { workerData } from 'node:worker_threads';

/** Where the generated client looks for the shared module (see scripts/prisma-generate.mjs). */
const SHARED_MODULE_KEY = Symbol.for('zipbank.prisma.queryCompilerModule');
/** The project's TypeScript libs (ES2022, Node) do not declare WebAssembly: the part used here. */
export type CompiledModule = object;
const Wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => CompiledModule } })
  .WebAssembly;

/** Prisma's own copy, the one the generated client would otherwise decode in every thread. */
const PRISMA_WASM_BASE64 = '@prisma/client/runtime/query_compiler_fast_bg.postgresql.wasm-base64.mjs';

export async function compileQueryCompilerModule(): Promise<CompiledModule> {
  const { wasm } = (await import(PRISMA_WASM_BASE64)) as { wasm: string };
  return new Wasm.Module(Buffer.from(wasm, 'base64'));
}

/** Makes this thread's Prisma clients use `module` instead of compiling their own. */
export function useQueryCompilerModule(module: CompiledModule): void {
  (globalThis as Record<symbol, unknown>)[SHARED_MODULE_KEY] = module;
}

/** The module a worker thread was given at start (`workerData.queryCompilerModule`), if any. */
export function adoptWorkerQueryCompilerModule(): void {
  const module = (workerData as { queryCompilerModule?: unknown } | null)?.queryCompilerModule;
  if (module instanceof Wasm.Module) useQueryCompilerModule(module);
}
