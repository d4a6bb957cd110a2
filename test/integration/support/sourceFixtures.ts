import * as fs from 'node:fs';
import * as path from 'node:path';
import { ourExtension, workspaceDir } from './helpers';

let n = 0;
/**
 * Copies a fixture written from Dify's source (test/fixtures/dify-source/, or `folder`, e.g.
 * dify-07) into `<ws>/it-work/` and returns its path.
 */
export function sourceCopy(name: string, tag: string, folder = 'dify-source'): string {
  const dir = path.join(workspaceDir(), 'it-work', `${tag}-${++n}-${Date.now() % 100000}`);
  fs.mkdirSync(dir, { recursive: true });
  const dest = path.join(dir, name);
  fs.copyFileSync(path.join(ourExtension().extensionPath, 'test', 'fixtures', folder, name), dest);
  return dest;
}
