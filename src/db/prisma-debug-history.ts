// Prisma's debug module remembers the arguments of its last 100 debug calls, for its own error
// reports, whether debugging is on or off (`argsHistory` in @prisma/debug). Two of those calls
// carry a whole batch: the client logs `prisma.$executeRaw(<sql>, <parameters as JSON>)` and the
// pg adapter logs the query with its arguments, so every branch thread keeps its last batches'
// parameters alive (docs/performance.md has what that cost). Neither copy of the module (the
// client runtime and the adapter utilities each carry one) offers a way to clear it; both
// export their debug factory, and a call with an argument pushes one entry and drops the oldest.
// So the writer pushes 100 one-character entries into each. That is cheap beside a full batch
// but not beside the small batches of a live load, so it is done once a batch's worth of
// records has been written since the last time: what
// the history holds stays within about one full batch's parameters.
// test/prisma-debug-history.test.ts fails should a Prisma upgrade change this.
import { Debug as ClientDebug } from '@prisma/client/runtime/client';
import { Debug as AdapterDebug } from '@prisma/driver-adapter-utils';

/** The history's length in @prisma/debug 7.10 (MAX_ARGS_HISTORY). */
const PRISMA_DEBUG_HISTORY = 100;
/** A namespace of our own: nothing is printed unless DEBUG names it. */
const fillers = [ClientDebug('zipbank:forget-batches'), AdapterDebug('zipbank:forget-batches')];

/** Records written since the history was last cleared (in this thread: the history is per module). */
let recordsSinceCleared = 0;
/** The default batch size: clearing after every full batch, or after as many records in smaller ones. */
const CLEAR_EVERY_RECORDS = 2_000;

/** Drops the batches Prisma's debug history holds. */
export function forgetPrismaDebugHistory(): void {
  recordsSinceCleared = 0;
  for (const filler of fillers) for (let i = 0; i < PRISMA_DEBUG_HISTORY; i++) filler('.');
}

/** Called after each batch: clears the history once a full batch's worth of records has been written. */
export function forgetPrismaDebugHistoryAfter(records: number): void {
  recordsSinceCleared += records;
  if (recordsSinceCleared >= CLEAR_EVERY_RECORDS) forgetPrismaDebugHistory();
}
