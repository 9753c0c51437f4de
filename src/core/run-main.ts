import { env } from './env.js';
import { failureJson, failureOf, failureText } from './failure.js';

/**
 * Runs a command-line entry point: exit 0 on success, 2 for bad configuration (one message
 * listing every problem) or a data error, 1 for any other failure, with the error's code so
 * scripts can tell (src/core/failure.ts). With jsonErrors the failure is one JSON object on
 * stderr instead of a line of text.
 */
export function runMain(
  name: string,
  // biome-ignore lint/suspicious/noConfusingVoidType: entry points return an exit code or nothing.
  main: () => Promise<number | void>,
  options: { exitWhenDone?: boolean; jsonErrors?: boolean } = {},
): void {
  // Expected failures are one line; the stack only when asked for.
  const verbose = process.argv.includes('--verbose') || env('LOG_LEVEL') === 'debug' || env('LOG_LEVEL') === 'trace';
  if (process.argv.includes('--verbose')) process.argv.splice(process.argv.indexOf('--verbose'), 1);
  main()
    .then(
      (code) => {
        process.exitCode = code ?? 0;
      },
      (err: unknown) => {
        const failure = failureOf(err);
        process.stderr.write(options.jsonErrors ? failureJson(failure, verbose) : failureText(name, failure, verbose));
        process.exitCode = failure.exitCode;
      },
    )
    .finally(() => {
      if (options.exitWhenDone) process.exit();
    });
}
