import * as fs from 'node:fs';
import * as path from 'node:path';

/** Extensions a dataset may have, in the order a bare name is tried. */
const DATASET_EXTENSIONS = ['.jsonl', '.yaml', '.yml', '.csv', '.json'];

/**
 * `--dataset <arg>`: a path that exists (from the current folder) is taken as is. A bare name
 * (no folder part) is looked up in `.optimizer/datasets/` of the workspace, then of the current
 * folder, as given and with each known extension (`intent` → `.optimizer/datasets/intent.jsonl`).
 * Otherwise the argument is returned unchanged, for the loader to report what it looked at.
 */
export function resolveDatasetArg(arg: string, cwd: string, root: string): string {
  if (path.isAbsolute(arg) || fs.existsSync(path.resolve(cwd, arg))) return arg;
  if (arg.includes('/') || arg.includes(path.sep)) return arg;
  for (const base of [...new Set([root, cwd])]) {
    const dir = path.join(base, '.optimizer', 'datasets');
    for (const ext of ['', ...DATASET_EXTENSIONS]) {
      const p = path.join(dir, arg + ext);
      if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
    }
  }
  return arg;
}
