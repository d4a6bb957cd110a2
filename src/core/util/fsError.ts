import { OptimizerError, StorageError } from '../errors';
import { fsCauseOf, fsCauseText } from './fsCause';

export { fsCauseOf, fsCauseText };

/**
 * A typed I/O error (STORAGE_IO) for a failed read or write of `file`: "could not write x.yml:
 * disk full (ENOSPC)". Only system errors are wrapped; a typed error or a bug passes through
 * unchanged (a bug stays an internal error).
 */
export function fsIoError(e: unknown, file: string, action: 'read' | 'write' | string, extra: { promptId?: string } = {}): unknown {
  if (e instanceof OptimizerError || !fsCauseOf(e)) return e;
  return new StorageError('STORAGE_IO', `could not ${action} ${file}: ${fsCauseText(e)}.`, { file, ...extra }, e);
}

/** Runs `fn`; a failure becomes {@link fsIoError} naming `file`. */
export async function withFsErrors<T>(file: string, action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw fsIoError(e, file, action);
  }
}
