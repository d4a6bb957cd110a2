import type { CliCommand } from '../io';
import { analyzeCommand } from './analyze';
import { applyCommand } from './apply';
import { casesCommand } from './cases';
import { difyCommand } from './dify';
import { evalCommand } from './eval';
import { extractCommand } from './extract';
import { optimizeCommand } from './optimize';
import { rollbackCommand } from './rollback';
import { setCommand } from './set';
import { trainCommand } from './train';
import { versionsCommand } from './versions';

/** Every `promptopt` sub-command, in the order `promptopt help` lists them. */
export const commands: CliCommand[] = [
  extractCommand,
  analyzeCommand,
  optimizeCommand,
  trainCommand,
  casesCommand,
  evalCommand,
  applyCommand,
  setCommand,
  versionsCommand,
  rollbackCommand,
  difyCommand,
];
