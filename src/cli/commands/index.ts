import type { CliCommand } from '../io';
import { extractCommand } from './extract';
import { rollbackCommand } from './rollback';
import { setCommand } from './set';
import { versionsCommand } from './versions';

/** Every `promptopt` sub-command, in the order `promptopt help` lists them. */
export const commands: CliCommand[] = [
  extractCommand,
  setCommand,
  versionsCommand,
  rollbackCommand,
];
