// Prisma's debug module remembers its last 100 debug calls' arguments, debugging on or off,
// and those include each raw statement with its parameters: a whole batch each. The writer
// clears that history after every batch (src/db/prisma-debug-history.ts). Measured here on the
// V8 heap of this process, against a real database: should a Prisma upgrade change the history,
// the first assertion or the second fails, and the workaround must be looked at again.
import t from 'tap';
import v8 from 'node:v8';
import vm from 'node:vm';
import { withDatabase } from './helpers/fixtures.js';
import { createPrisma } from '../src/db/prisma.js';
import { forgetPrismaDebugHistory, forgetPrismaDebugHistoryAfter } from '../src/db/prisma-debug-history.js';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;
const usedMb = () => {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed / 1_048_576;
};

t.test("Prisma's debug history no longer keeps the last batches alive", async (t) => {
  const prisma = createPrisma(await withDatabase(t), 1);
  t.teardown(() => prisma.$disconnect());
  await prisma.$executeRawUnsafe('SELECT 1');
  forgetPrismaDebugHistory();
  const before = usedMb();
  // 100 statements with a 100 KB parameter each, like 100 batches of array literals.
  for (let i = 0; i < 100; i++)
    await prisma.$executeRawUnsafe('SELECT length($1::text)', String(i).padEnd(100_000, 'x'));
  const kept = usedMb() - before;
  t.ok(kept > 8, `without the workaround, the 100 statements' parameters stay on the heap (${kept.toFixed(1)} MB)`);
  // The writer clears it once a full batch's worth of records (2,000) has been written.
  forgetPrismaDebugHistoryAfter(1_999);
  const short = usedMb() - before;
  t.ok(short > 8, `short of 2,000 records the history is left alone (${short.toFixed(1)} MB)`);
  forgetPrismaDebugHistoryAfter(1);
  const left = usedMb() - before;
  t.ok(left < 2, `at 2,000 records they are gone (${left.toFixed(1)} MB left of ${kept.toFixed(1)})`);
});
