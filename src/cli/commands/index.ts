import type { CliCommand } from '../io';
import { extractCommand } from './extract';
import { setCommand } from './set';

/** Every `promptopt` sub-command, in the order `promptopt help` lists them. */
export const commands: CliCommand[] = [extractCommand, setCommand];
