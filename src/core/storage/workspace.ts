import * as fs from 'node:fs';
import * as path from 'node:path';

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
