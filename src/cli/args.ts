import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../core/errors';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with errors turned into UsageError naming the command's usage. */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new UsageError('USAGE', `${msg.replace(/\.$/, '')}. Usage: ${usage.split('\n')[0]}`);
  }
}
