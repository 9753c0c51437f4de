// What a command-line entry point says when it fails, told apart once (exit status, code,
// message) and then written either as the one line a person reads or, for a command run with
// --json, as one JSON object a script parses: {"error":{"code":...,"message":...}}, with the
// list of problems of a bad configuration. Scripts then never have to parse text on stderr.
import { ConfigError, ERROR_CODES, type ErrorCode, IngesterError } from './errors.js';
import { jsonLine } from './printable.js';

/** Not one of the ingester's own errors: a bug or a failure nothing expected. */
export const UNEXPECTED = 'UNEXPECTED';

export interface Failure {
  exitCode: 1 | 2;
  code: ErrorCode | typeof UNEXPECTED;
  message: string;
  /** Every problem of a bad configuration, so all are fixed in one go. */
  problems?: readonly string[];
  /** What to show with --verbose: the stack of the error or of its cause. */
  stack?: string;
}

export function failureOf(err: unknown): Failure {
  if (err instanceof ConfigError) return { exitCode: 2, code: err.code, message: err.message, problems: err.problems };
  if (err instanceof IngesterError) {
    const cause = err.cause instanceof Error ? (err.cause.stack ?? err.cause.message) : undefined;
    // A record the operator gave is a data error: the request, not the system, must change.
    const exitCode = err.code === ERROR_CODES.INVALID_RECORD ? 2 : 1;
    return { exitCode, code: err.code, message: err.message, ...(cause === undefined ? {} : { stack: cause }) };
  }
  const error = err instanceof Error ? err : new Error(String(err));
  return { exitCode: 1, code: UNEXPECTED, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
}

/** The line on stderr for a person; the stack only with --verbose. */
export function failureText(name: string, f: Failure, verbose: boolean): string {
  if (f.code === ERROR_CODES.INVALID_CONFIG) return `${name}: ${f.message}\n`;
  if (f.code === ERROR_CODES.INVALID_RECORD) return `${name}: data error: ${f.message}\n`;
  if (f.code === UNEXPECTED) {
    const last = f.message.split('\n').filter(Boolean).pop() ?? f.message;
    return `${name}: unexpected failure: ${verbose ? (f.stack ?? f.message) : `${last} (--verbose for details)`}\n`;
  }
  return `${name}: ${f.code}: ${f.message}\n${verbose && f.stack ? `${f.stack}\n` : ''}`;
}

/** One JSON object on one line, for --json; the stack only with --verbose. */
export function failureJson(f: Failure, verbose: boolean): string {
  const message = f.problems ? `invalid configuration: ${f.problems.join('; ')}` : f.message;
  return jsonLine({
    error: {
      code: f.code,
      message,
      ...(f.problems ? { problems: f.problems } : {}),
      ...(verbose && f.stack ? { stack: f.stack } : {}),
    },
  });
}
