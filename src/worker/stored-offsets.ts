// The branch's next offsets as committed in Postgres, read with retries; the branch's position
// learns them, so that lag is measured from what is really committed.
import { readOffsets } from '../db/read-queries.js';
import type { BranchContext } from './branch-context.js';

export async function readStoredOffsets(branch: BranchContext): Promise<Map<string, number> | undefined> {
  const { customers, transactions } = branch.topics;
  const offsets = await branch.attempt('read stored offsets', () =>
    readOffsets(branch.prisma, [customers, transactions], branch.partition),
  );
  if (offsets) branch.position.stored = offsets;
  return offsets;
}
