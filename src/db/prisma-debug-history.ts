// Prisma's debug module remembers the arguments of its last 100 debug calls, for its own error
// reports, whether debugging is on or off (`argsHistory` in @prisma/debug). Two of those calls
// carry a whole batch: the client logs `prisma.$executeRaw(<sql>, <parameters as JSON>)` and the
// pg adapter logs the query with its arguments. With 2,000-record batches each is about 100 KB,
// so every branch thread kept about 10 MB of old batches alive (found in a worker's heap
// snapshot during a catch-up; 70 MB of the eight-branch peak). Neither copy of the module (the
// client runtime and the adapter utilities each carry one) offers a way to clear it; both
// export their debug factory, and a call with an argument pushes one entry and drops the oldest.
// So after each batch the writer pushes 100 one-character entries into each, which takes a few
// microseconds. test/prisma-debug-history.test.ts fails should a Prisma upgrade change this.
import { Debug as ClientDebug } from '@prisma/client/runtime/client';
import { Debug as AdapterDebug } from '@prisma/driver-adapter-utils';

/** The history's length in @prisma/debug 7.10 (MAX_ARGS_HISTORY). */
const PRISMA_DEBUG_HISTORY = 100;
/** A namespace of our own: nothing is printed unless DEBUG names it. */
const fillers = [ClientDebug('zipbank:forget-batches'), AdapterDebug('zipbank:forget-batches')];

/** Drops the batches Prisma's debug history holds (in this thread: the history is per module). */
export function forgetPrismaDebugHistory(): void {
  for (const filler of fillers) for (let i = 0; i < PRISMA_DEBUG_HISTORY; i++) filler('.');
}
