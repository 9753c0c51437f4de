import { ConfigError, ERROR_CODES, IngesterError } from './errors.js';
import { env } from './env.js';

/**
 * Runs a command-line entry point: exit 0 on success, 2 for bad configuration (one message
 * listing every problem), 1 for any other failure, with the error's code so scripts can tell.
 */
export function runMain(
  name: string,
  // biome-ignore lint/suspicious/noConfusingVoidType: entry points return an exit code or nothing.
  main: () => Promise<number | void>,
  options: { exitWhenDone?: boolean } = {},
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
        if (err instanceof ConfigError) {
          process.stderr.write(`${name}: ${err.message}\n`);
          process.exitCode = 2;
        } else if (err instanceof IngesterError && err.code === ERROR_CODES.INVALID_RECORD) {
          process.stderr.write(`${name}: data error: ${err.message}\n`);
          process.exitCode = 2;
        } else if (err instanceof IngesterError) {
          process.stderr.write(`${name}: ${err.code}: ${err.message}\n`);
          if (verbose && err.cause instanceof Error) process.stderr.write(`${err.cause.stack ?? err.cause.message}\n`);
          process.exitCode = 1;
        } else {
          const error = err instanceof Error ? err : new Error(String(err));
          process.stderr.write(
            `${name}: unexpected failure: ${verbose ? (error.stack ?? error.message) : `${error.message.split('\n').filter(Boolean).pop() ?? error.message} (--verbose for details)`}\n`,
          );
          process.exitCode = 1;
        }
      },
    )
    .finally(() => {
      if (options.exitWhenDone) process.exit();
    });
}
