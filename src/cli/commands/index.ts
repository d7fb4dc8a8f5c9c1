import type { Command, CommandGroup } from '../command.js';
import { baselineCommand } from './baseline.js';
import { claimsCommand } from './claims.js';
import { compareCommand } from './compare.js';
import { envCommand } from './env.js';
import { fleetCommands } from './fleet.js';
import { historyCommand } from './history.js';
import { monitorCommand } from './monitor.js';
import { reportCommand } from './report.js';
import { runCommand } from './run.js';
import { serverCommand } from './server.js';
import { statsCommand } from './stats.js';
import { validateCommand } from './validate.js';

/** Every CLI command, in the order `--help` lists them. */
export const commands: Command[] = [
  serverCommand,
  runCommand,
  validateCommand,
  monitorCommand,
  statsCommand,
  compareCommand,
  baselineCommand,
  historyCommand,
  reportCommand,
  claimsCommand,
  envCommand,
];

/** Commands gathered under one name, listed after the others. */
export const groups: CommandGroup[] = [fleetCommands];
