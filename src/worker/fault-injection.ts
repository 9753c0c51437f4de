/**
 * Fault injection for the restart tests: ZIPBANK_FAULT_CRASH_BRANCH="<branch>:<batches>" makes
 * that branch's worker fail after committing <batches> batches, every time it runs. The failure
 * is an ordinary thrown error, so the worker still disconnects its consumer on the way out (a
 * thread is never ended with a live librdkafka handle). Unset in production.
 */
export function crashAfterBatches(partition: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return branchFault(env.ZIPBANK_FAULT_CRASH_BRANCH, partition);
}

/**
 * ZIPBANK_FAULT_HEAP_BRANCH="<branch>:<batches>": that branch's worker, after <batches> batches,
 * keeps allocating until V8 ends the thread at its heap limit (--worker-heap-mb).
 */
export function exhaustHeapAfterBatches(partition: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return branchFault(env.ZIPBANK_FAULT_HEAP_BRANCH, partition);
}

/**
 * ZIPBANK_FAULT_DEAF_BRANCH="<branch>:<batches>": after <batches> batches, that branch's consumer
 * delivers nothing more, without an error, as librdkafka's can after a broker restart
 * (src/kafka/fetch-stall.ts). Once per worker: the consumer that replaces it works.
 */
export function deafAfterBatches(partition: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  return branchFault(env.ZIPBANK_FAULT_DEAF_BRANCH, partition);
}

function branchFault(spec: string | undefined, partition: number): number | undefined {
  if (!spec) return undefined;
  const match = /^(\d+):(\d+)$/.exec(spec.trim());
  if (!match || Number(match[1]) !== partition) return undefined;
  return Number(match[2]);
}

/**
 * ZIPBANK_FAULT_SUPERVISOR_THROW_MS="<ms>": the supervisor throws an exception nothing catches,
 * <ms> after its branch workers started, as a bug in a callback would.
 */
export function supervisorThrowAfterMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const spec = env.ZIPBANK_FAULT_SUPERVISOR_THROW_MS?.trim();
  return spec && /^\d+$/.test(spec) ? Number(spec) : undefined;
}
