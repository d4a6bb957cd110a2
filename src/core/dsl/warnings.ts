import type { DslWarning } from './types';

/** `file:line:col: message` (the parts that are known), for terminals and logs. */
export function formatWarning(w: DslWarning): string {
  let where = w.file ?? '';
  if (w.line !== undefined) where += `${where ? ':' : 'line '}${w.line}${w.column !== undefined ? `:${w.column}` : ''}`;
  return where ? `${where}: ${w.message}` : w.message;
}
