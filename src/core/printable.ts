// Text that came from a producer, made safe for a Postgres text column and for a terminal:
// control characters (NUL, escape sequences, C1 controls, DEL) become visible \u escapes, so a
// record can neither break a statement (Postgres text cannot hold NUL) nor drive the terminal
// of an operator reading `rejected list`.

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
// Tabs and newlines are control characters too, but harmless; a single-line view escapes them.
// eslint-disable-next-line no-control-regex
const CONTROL_AND_BREAKS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const escapeCode = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** For storing: control characters escaped, lone surrogates replaced, at most `max` characters. */
export function printable(text: string, max = 1_000): string {
  const safe = text.toWellFormed().replace(CONTROL, escapeCode);
  return safe.length > max ? `${safe.slice(0, max)}…` : safe;
}

/** For one line of terminal output: every control character and line break escaped. */
export function oneLine(text: string): string {
  return text.toWellFormed().replace(CONTROL_AND_BREAKS, escapeCode);
}

/**
 * One JSON document on one line, for output: JSON.stringify escapes C0 controls but leaves C1
 * ones, DEL and U+2028/2029 raw, so those are escaped too and a piped `--json` is as safe.
 */
export function jsonLine(value: unknown): string {
  const text = JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]/g, escapeCode);
  return `${text}\n`;
}
