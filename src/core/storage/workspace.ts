import * as fs from 'node:fs';
import * as path from 'node:path';
import { StorageError } from '../errors';

/**
 * The workspace root for `file`: the nearest ancestor directory (the file's own directory first)
 * holding `.optimizer/` or `.git`; else the file's directory.
 */
export function findWorkspaceRoot(file: string): string {
  const start = path.dirname(path.resolve(file));
  for (let dir = start; ; ) {
    if (fs.existsSync(path.join(dir, '.optimizer')) || fs.existsSync(path.join(dir, '.git'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return start;
    dir = up;
  }
}

/**
 * `<root>/.optimizer`, checked: when it is a symbolic link (a cloned repository can ship one)
 * whose real path lies outside the workspace, STORAGE_UNSAFE_PATH — versions, run logs and
 * caches are never written (or read) outside the workspace. A link that stays inside it is
 * followed. Missing: the path is returned as is (created by the first writer).
 */
export function optimizerDir(root: string): string {
  const dir = path.join(root, '.optimizer');
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch {
    return dir;
  }
  if (!st.isSymbolicLink()) return dir;
  let real: string;
  let realRoot: string;
  try {
    realRoot = fs.realpathSync(root);
    real = fs.realpathSync(dir);
  } catch {
    throw new StorageError('STORAGE_UNSAFE_PATH', `${dir} is a symbolic link that leads nowhere; remove it (or make it a folder) to record versions here.`, { file: dir });
  }
  const rel = path.relative(realRoot, real);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
    throw new StorageError(
      'STORAGE_UNSAFE_PATH',
      `${dir} is a symbolic link to ${real}, outside the workspace ${realRoot}; it is not followed and nothing is written there. Replace it with a folder.`,
      { file: dir },
    );
  }
  return dir;
}
