import type { Command } from '../command.js';
import { baselineCommand } from './baseline.js';
import { compareCommand } from './compare.js';
import { statsCommand } from './stats.js';

/** Every CLI command, in the order `--help` lists them. */
export const commands: Command[] = [
  statsCommand,
  compareCommand,
  baselineCommand,
];
