/**
 * Fault injection for the restart tests: ZIPBANK_FAULT_CRASH_BRANCH="<branch>:<batches>" makes
 * that branch's worker fail after committing <batches> batches, every time it runs. The failure
 * is an ordinary thrown error, so the worker still disconnects its consumer on the way out (a
 * thread is never ended with a live librdkafka handle). Unset in production.
 */
export function crashAfterBatches(partition: number, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const spec = env.ZIPBANK_FAULT_CRASH_BRANCH;
  if (!spec) return undefined;
  const match = /^(\d+):(\d+)$/.exec(spec.trim());
  if (!match || Number(match[1]) !== partition) return undefined;
  return Number(match[2]);
}
