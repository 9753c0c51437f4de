import { ConfigError, IngesterError } from '../errors.js';

/**
 * Runs a command-line entry point: exit 0 on success, 2 for bad configuration (one message
 * listing every problem), 1 for any other failure, with the error's code so scripts can tell.
 */
export function runMain(name: string, main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (err: unknown) => {
      if (err instanceof ConfigError) {
        process.stderr.write(`${name}: ${err.message}\n`);
        process.exitCode = 2;
      } else if (err instanceof IngesterError) {
        process.stderr.write(`${name}: ${err.code}: ${err.message}\n`);
        process.exitCode = 1;
      } else {
        process.stderr.write(`${name}: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exitCode = 1;
      }
    },
  );
}
