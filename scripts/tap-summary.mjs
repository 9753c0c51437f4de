// Reads TAP (tap --reporter=tap) on stdin, passes it through, and ends with the one line CI reads:
// "N passed, N failed". A test is one t.test() block of a test file; a file that fails outside
// any of its tests (a syntax error, a crash) counts as one failed test.
import { createInterface } from 'node:readline';

let passed = 0;
let failed = 0;
let skipped = 0;
let failedInFile = false;

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${line}\n`);
  const test = /^ {4}(not )?ok \d+ - .*?(# (SKIP|TODO)\b.*)?$/i.exec(line);
  if (test) {
    if (test[3]) skipped++;
    else if (test[1]) {
      failed++;
      failedInFile = true;
    } else passed++;
    continue;
  }
  const file = /^(not )?ok \d+ - /.exec(line);
  if (file) {
    if (file[1] && !failedInFile) failed++;
    failedInFile = false;
  }
}
if (passed + failed + skipped === 0) {
  // Nothing ran: the build, the prerequisites or the runner failed before any test.
  process.stdout.write('no test ran; see the output above\n');
  failed = 1;
}
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
