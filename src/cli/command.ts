// The shape of an operator command: its words, its usage (what `--help` prints), its own flags,
// and what it does. Every command also takes the connection flags and --json and --help.
import type { ParseArgsConfig } from 'node:util';
import type { Connections, Topics } from '../config/connection-options.js';

export type FlagSpec = NonNullable<ParseArgsConfig['options']>;

/** What every command is given: where Kafka and Postgres are, the topics, and its parsed flags. */
export interface CommandContext {
  connections: Connections & Topics;
  flags: Record<string, string | boolean | undefined>;
  json: boolean;
}

export interface Command {
  /** The words that name it: ['status'] or ['rejected', 'list']. */
  words: readonly string[];
  /** One line: the synopsis under Usage. */
  synopsis: string;
  /** What it does and, where it matters, its exit codes; printed by `--help`. */
  help: string;
  flags: FlagSpec;
  /** Resolves the exit code. */
  run(context: CommandContext): Promise<number>;
}
