// The --branch option as every command reads it.
import { integerOption, type Problems } from '../config/options.js';

export function optionalBranch(problems: Problems, raw: string | boolean | undefined): number | undefined {
  return raw === undefined ? undefined : integerOption(problems, 'branch', String(raw), 0, { min: 0, max: 9999 });
}

export function requiredBranch(problems: Problems, raw: string | boolean | undefined): number {
  if (raw === undefined) problems.push('--branch is required');
  return integerOption(problems, 'branch', raw === undefined ? undefined : String(raw), 0, { min: 0, max: 9999 });
}
