// Pure rules of src/text/printable.ts: producer text made safe for Postgres text and terminals.
import t from 'tap';
import { oneLine, printable } from '../src/core/printable.js';

t.test('printable escapes NUL and other control characters, keeps tabs and newlines, caps the length', async (t) => {
  t.equal(printable('a\u0000b'), 'a\\u0000b', 'NUL cannot reach a text column');
  t.equal(printable('\u001b[31mred'), '\\u001b[31mred');
  t.equal(printable('\u009bC1 and \u007fDEL'), '\\u009bC1 and \\u007fDEL');
  t.equal(printable('line\nnext\tcol'), 'line\nnext\tcol');
  t.equal(printable('x'.repeat(20), 5), 'xxxxx…');
  t.equal(printable('lone \ud800 surrogate'), 'lone \ufffd surrogate', 'ill-formed UTF-16 becomes U+FFFD');
  t.equal(printable('plain text, ünïcödé'), 'plain text, ünïcödé', 'ordinary text is untouched');
});

t.test('oneLine escapes line breaks too', async (t) => {
  t.equal(oneLine('a\nb\r\u2028c'), 'a\\u000ab\\u000d\\u2028c');
  t.equal(oneLine('\u001b]0;x\u0007'), '\\u001b]0;x\\u0007');
});
