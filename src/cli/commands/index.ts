import type { CliCommand } from '../io';

/** Every `promptopt` sub-command, in the order `promptopt help` lists them. */
export const commands: CliCommand[] = [];
