import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../core/errors';
import { findWorkspaceRoot, workflowKey } from '../../core/storage';

/** Resolves `<file>` and the workspace root (`--workspace`, else nearest `.optimizer/`/`.git` ancestor, else the file's dir). */
export function resolveWorkflow(file: string | undefined, workspace: string | undefined, cwd: string, usage: string) {
  if (!file) throw new UsageError('USAGE', `Missing <file>. Usage: ${usage.split('\n')[0]}`);
  const abs = path.resolve(cwd, file);
  if (!fs.existsSync(abs) && !workspace) throw new UsageError('FILE_NOT_FOUND', `${file}: no such file.`, { file });
  const root = workspace ? path.resolve(cwd, workspace) : findWorkspaceRoot(abs);
  const key = workflowKey(root, abs);
  if (key.startsWith('../') || key === '..' || path.isAbsolute(key)) {
    throw new UsageError('USAGE', `${file} is outside the workspace ${root}.`, { file });
  }
  return { root, workflow: key };
}
