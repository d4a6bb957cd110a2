import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Test files under `dir` for the given trust state, sorted:
 * `*.trusted.test.js` only when trusted, `*.restricted.test.js` only in Restricted Mode,
 * any other `*.test.js` in both. (No `vscode` import: unit-tested in plain Node.)
 */
export function selectTestFiles(dir: string, trusted: boolean): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.test.js')) {
        if (entry.name.endsWith('.trusted.test.js') && !trusted) continue;
        if (entry.name.endsWith('.restricted.test.js') && trusted) continue;
        out.push(p);
      }
    }
  };
  walk(dir);
  return out.sort();
}
