// What the CLI prints. Record contents reach an operator's terminal, so text output escapes every
// control character, C0 and C1 alike, and line breaks (oneLine); JSON output escapes the C1 ones
// and U+2028/2029 too, which JSON.stringify leaves raw, so a piped `--json` is as safe.
import { jsonLine, oneLine } from '../core/printable.js';

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

export function printJson(value: unknown): void {
  process.stdout.write(jsonLine(value));
}

export { jsonLine, oneLine };
