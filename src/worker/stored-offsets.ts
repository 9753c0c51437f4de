// The branch's next offsets as committed in Postgres, read with retries, so that lag is measured
// from what is really committed.
import { readOffsets } from '../db/read-queries.js';
import type { RetryPolicy } from '../core/retry.js';
import type { BranchContext } from './branch-context.js';

export function readStoredOffsets(branch: BranchContext, retry: RetryPolicy): Promise<Map<string, number>> {
  return retry.run('read stored offsets', () => readOffsets(branch.prisma, branch.topicList, branch.partition));
}
