import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Dify packages built and checked by Python, as Dify builds and checks them
 * (test/support/ifpkg.py, written from langgenius/dify api/services/app_package_service.py).
 */
const SCRIPT = path.resolve(__dirname, '../../../test/support/ifpkg.py');

/** Writes `out` as Dify's `AppPackageService.export` writes a package of the DSL in `dslFile`. */
export function buildPackage(dslFile: string, out: string, resources: Record<string, string> = {}): Buffer {
  const args = [SCRIPT, 'build', dslFile, out];
  for (const [name, file] of Object.entries(resources)) args.push('--resource', `${name}=${file}`);
  execFileSync('python3', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  return fs.readFileSync(out);
}

/** The verdict of the checks of Dify's `read_package` re-implemented in Python: "ok" or why not. */
export function difyCheck(pkg: string): string {
  const r = spawnSync('python3', [SCRIPT, 'check', pkg], { encoding: 'utf8' });
  return (r.stdout || r.stderr).trim();
}

/** Runs a Python snippet with `zipfile`, `yaml`, `hashlib` imported and `sys.argv[1:]` = args. */
export function python(code: string, ...args: string[]): string {
  return execFileSync('python3', ['-c', `import sys, zipfile, yaml, hashlib, io\n${code}`, ...args], { encoding: 'utf8' });
}
