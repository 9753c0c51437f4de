// The operator's command line against a live system: `node dist/cli.js <command> [options]`.
// The commands are in src/cli/ (one file per topic, listed in src/cli/commands.ts); this entry
// finds the one named, answers --help at every level, and reads the options all of them share.
import './refuse-older-node.cjs';
import { runMain } from './core/run-main.js';
import { ConfigError, type Problems } from './core/errors.js';
import { parseFlags } from './config/options.js';
import {
  CONNECTION_FLAGS,
  CONNECTION_HELP,
  readConnections,
  readTopics,
  TOPIC_FLAGS,
} from './config/connection-options.js';
import type { Command } from './cli/command.js';
import { COMMANDS } from './cli/commands.js';

const COMMON_HELP = `Common options:
${CONNECTION_HELP}
  --customers-topic (CUSTOMERS_TOPIC), --transactions-topic (TRANSACTIONS_TOPIC)
  --json                       one JSON document on stdout instead of text; a failure is then one
                               JSON object on stderr: {"error":{"code":...,"message":...}}
  --help                       the usage of a command

Exit codes: 0 done; 1 the command failed (stderr says why); 2 a usage or data error;
status also exits 3 when a branch needs attention (node dist/cli.js status --help).`;

function usage(commands: readonly Command[]): string {
  return `Usage:\n${commands.map((c) => `  ${c.synopsis}`).join('\n')}\n\n${COMMON_HELP}\n`;
}

function commandHelp(command: Command): string {
  return `Usage: ${command.synopsis}\n\n${command.help}\n\n${COMMON_HELP}\n`;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const words = args.filter((a) => !a.startsWith('-'));
  const wantsHelp = args.includes('--help') || args.includes('-h') || words[0] === 'help';
  if (args.length === 0 || (wantsHelp && (words.length === 0 || words[0] === 'help'))) {
    process.stdout.write(usage(COMMANDS));
    return args.length === 0 ? 2 : 0;
  }
  const command = COMMANDS.find((c) => c.words.every((w, i) => args[i] === w));
  if (!command) {
    // `cli rejected --help`: the commands under that word.
    const group = COMMANDS.filter((c) => c.words[0] === args[0]);
    if (wantsHelp && group.length > 0 && (args[1] === undefined || args[1].startsWith('-'))) {
      process.stdout.write(usage(group));
      return 0;
    }
    const named = args
      .slice(0, 2)
      .filter((a) => !a.startsWith('-'))
      .join(' ');
    throw new ConfigError([`unknown command "${named}"; node dist/cli.js --help lists them`]);
  }
  if (wantsHelp) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  const flags = parseFlags(args.slice(command.words.length), {
    ...CONNECTION_FLAGS,
    ...TOPIC_FLAGS,
    ...command.flags,
    json: { type: 'boolean' },
    help: { type: 'boolean' },
  });
  const problems: Problems = [];
  const connections = { ...readConnections(problems, flags), ...readTopics(problems, flags) };
  if (problems.length > 0) throw new ConfigError(problems);
  return command.run({ connections, flags, json: Boolean(flags.json) });
}

// Told from the raw arguments, before they are parsed, so that a bad flag is reported as JSON too.
runMain('cli', main, { jsonErrors: process.argv.slice(2).includes('--json') });
