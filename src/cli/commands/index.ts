import type { CliCommand } from '../io';
import { versionsCommand } from './versions';
import { rollbackCommand } from './rollback';

/** Every `promptopt` sub-command, in the order `promptopt help` lists them. */
export const commands: CliCommand[] = [versionsCommand, rollbackCommand];
