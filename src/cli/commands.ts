// Every operator command, in the order `--help` lists them.
import { auditCommand } from './audit.js';
import type { Command } from './command.js';
import { gapsAcceptCommand, gapsListCommand } from './gaps.js';
import { parkedListCommand } from './parked.js';
import { rejectedListCommand, rejectedRedriveCommand } from './rejected.js';
import { statusCommand } from './status.js';

export const COMMANDS: readonly Command[] = [
  statusCommand,
  rejectedListCommand,
  rejectedRedriveCommand,
  parkedListCommand,
  gapsListCommand,
  gapsAcceptCommand,
  auditCommand,
];
