// The ingester settings that the load test and the bench hand to the ingester they start, so
// both measure the same knobs (docs/performance.md). Read by the ingester's own reader
// (readWorkerTuning), so a bad value fails at once, not after minutes of producing, worded as
// the ingester words it; the started ingester inherits the environment, so a bad BATCH_SIZE
// there is reported too.
import { readWorkerTuning, WORKER_TUNING_FLAGS } from '../../config/ingester-config.js';
import type { Problems } from '../../config/options.js';

// Defaults are left to the ingester's own help (npm start -- --help), so they are said once.
export const INGESTER_TUNING_HELP = `  --batch-size <n>           ingester batch size
  --linger-ms <n>            ingester linger
  --branches-per-thread <n>  branches sharing an ingester worker thread (docs/deploy.md, "Many
                             branches on one supervisor")
  --worker-young-mb <n>      V8 young generation of each ingester worker thread, in MB
`;

type TuningFlags = Parameters<typeof readWorkerTuning>[1];

/** The ingester's arguments for the tuning flags given, in a fixed order; problems as the ingester words them. */
export function ingesterTuningArgs(problems: Problems, flags: TuningFlags): string[] {
  readWorkerTuning(problems, flags);
  const args: string[] = [];
  for (const name of Object.keys(WORKER_TUNING_FLAGS) as (keyof typeof WORKER_TUNING_FLAGS)[]) {
    const value = flags[name];
    if (value !== undefined) args.push(`--${name}`, value);
  }
  return args;
}
