import { fsCauseText } from '../util/fsCause';
import { StorageError, isOptimizerError } from '../errors';
import { assertValidId } from './names';
import type { PromptIndex } from './promptIndex';
import { isVersion } from './semver';
import type { SaveVersionInput } from './types';

/** Checks what a caller asks to save before any lock is taken (ids, text, parent number). */
export function checkSaveInput(input: SaveVersionInput): void {
  assertValidId(input.workflow, 'workflow');
  assertValidId(input.promptId, 'prompt id');
  if (typeof input.text !== 'string') {
    throw new StorageError('STORAGE_INVALID_INPUT', 'The text of a version must be a string.', { promptId: input.promptId });
  }
  if (input.parentVersion != null && !isVersion(input.parentVersion)) {
    throw new StorageError('STORAGE_INVALID_INPUT', `Parent version "${input.parentVersion}" is not a version number like 1.2.3.`, {
      promptId: input.promptId,
    });
  }
}

export function notFoundError(idx: PromptIndex, version: string): StorageError {
  return new StorageError('STORAGE_NOT_FOUND', `Version ${version} of prompt ${idx.promptId} in ${idx.workflow} does not exist.`, {
    promptId: idx.promptId,
  });
}

/** A file-system failure as STORAGE_IO, naming what was being done; an error already typed passes through. */
export function ioError(e: unknown, what: string, promptId?: string): StorageError {
  if (isOptimizerError(e)) return e as StorageError;
  const msg = fsCauseText(e);
  return new StorageError('STORAGE_IO', `${what}: ${msg}`, promptId ? { promptId } : {}, e);
}
