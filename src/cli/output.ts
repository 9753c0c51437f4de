// What the CLI prints. Record contents reach an operator's terminal, so text output escapes every
// control character, C0 and C1 alike, and line breaks (oneLine); JSON output escapes the C1 ones
// and U+2028/2029 too, which JSON.stringify leaves raw, so a piped `--json` is as safe.
import { oneLine } from '../core/printable.js';

/** One JSON document on one line, with every character that could drive a terminal escaped. */
export function jsonLine(value: unknown): string {
  const text = JSON.stringify(value).replace(
    /[\u007f-\u009f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `${text}\n`;
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(jsonLine(value));
}

export { oneLine };
