// The ingester settings that the load test and the bench hand to the ingester they start, so
// both measure the same knobs (README, Performance). Checked with the ingester's own config
// reader, so a bad value fails at once, not after minutes of producing, and with its message.
import { loadConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Problems } from '../cli/options.js';

export const INGESTER_TUNING_FLAGS = {
  'batch-size': { type: 'string' },
  'linger-ms': { type: 'string' },
  'branches-per-thread': { type: 'string' },
  'worker-young-mb': { type: 'string' },
} as const;

// Defaults are left to the ingester's own help (npm start -- --help), so they are said once.
export const INGESTER_TUNING_HELP = `  --batch-size <n>           ingester batch size
  --linger-ms <n>            ingester linger
  --branches-per-thread <n>  branches sharing an ingester worker thread (README, "Many
                             branches on one supervisor")
  --worker-young-mb <n>      V8 young generation of each ingester worker thread, in MB
`;

type TuningFlags = { [name in keyof typeof INGESTER_TUNING_FLAGS]?: string | undefined };

/** The ingester's arguments for the tuning flags given, in a fixed order; problems as the ingester words them. */
export function ingesterTuningArgs(problems: Problems, flags: TuningFlags): string[] {
  const args: string[] = [];
  for (const name of Object.keys(INGESTER_TUNING_FLAGS) as (keyof typeof INGESTER_TUNING_FLAGS)[]) {
    const value = flags[name];
    if (value !== undefined) args.push(`--${name}`, value);
  }
  try {
    loadConfig(args);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  return args;
}
