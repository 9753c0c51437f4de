// Small validators for command-line values. Each pushes a readable problem instead of throwing,
// so a command can report every bad value at once.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, type Problems } from '../core/errors.js';

export type { Problems };

export function integerOption(
  problems: Problems,
  name: string,
  raw: string | undefined,
  fallback: number,
  range: { min: number; max?: number },
): number {
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value)) {
    problems.push(`${name} must be a whole number, got ${JSON.stringify(raw)}`);
    return fallback;
  }
  if (value < range.min || (range.max !== undefined && value > range.max)) {
    problems.push(`${name} must be between ${range.min} and ${range.max ?? 'any size'}, got ${value}`);
    return fallback;
  }
  return value;
}

export function nonEmptyOption(problems: Problems, name: string, raw: string | undefined, fallback: string): string {
  if (raw === undefined) return fallback;
  if (raw.trim() === '') problems.push(`${name} must not be empty`);
  return raw.trim();
}

/** node:util parseArgs, with unknown flags and stray arguments reported as configuration errors. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new ConfigError([(err as Error).message]);
  }
}
