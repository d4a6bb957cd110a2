/**
 * In-host test runner: VS Code loads this folder as `extensionTestsPath` (trusted runs), or the
 * harness's host extension calls {@link run} (Restricted Mode runs, where extensionTestsPath would
 * force trust). It runs the mocha BDD suites in this folder inside the extension host against
 * the real `vscode` API and appends one JSON line per event to the results file.
 *
 * Suite selection by file name (drop new suites here, nothing to register):
 *   *.trusted.test.js     only when the workspace is trusted
 *   *.restricted.test.js  only in Restricted Mode
 *   *.test.js             in both
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ENV_EXPECTED_MODE, ENV_GREP, ENV_RESULTS_FILE, type ReportedError, type ResultEvent } from './support/protocol';
import { hostState } from './support/hostState';
import { selectTestFiles } from './selectFiles';
import { EXTENSION_ID } from '../../src/extension/constants';

type MochaCtor = typeof import('mocha');
type MochaModule = MochaCtor | { default?: MochaCtor; Mocha?: MochaCtor };

function pickCtor(m: MochaModule): MochaCtor {
  if (typeof m === 'function') return m;
  const ctor = m.default ?? m.Mocha;
  if (typeof ctor !== 'function') throw new Error('the mocha package exports no Mocha constructor');
  return ctor;
}

/** Loads mocha (an ES module package since v11) from CommonJS in any extension-host Node. */
async function loadMocha(): Promise<MochaCtor> {
  let loaded: MochaModule;
  try {
    // Node >= 20.19 can require() an ES module; older Electron hosts fall back to import().
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require('mocha') as MochaModule;
  } catch {
    const dynamicImport = new Function('s', 'return import(s)') as (s: string) => Promise<MochaModule>;
    loaded = await dynamicImport('mocha');
  }
  return pickCtor(loaded);
}

function toReported(err: unknown): ReportedError {
  if (err instanceof Error) return { message: err.message, stack: err.stack };
  return { message: String(err) };
}

/** Entry point called by VS Code (extensionTestsPath) or by the harness host extension. */
export async function run(): Promise<void> {
  // Snapshot before any suite runs: lets the activation suite prove the extension was lazy.
  hostState.extensionActiveAtStart = vscode.extensions.getExtension(EXTENSION_ID)?.isActive ?? null;

  const resultsFile = process.env[ENV_RESULTS_FILE];
  const emit = (e: ResultEvent) => {
    const line = JSON.stringify(e);
    if (resultsFile) fs.appendFileSync(resultsFile, line + '\n');
    else console.log(line);
  };

  try {
    const trusted = vscode.workspace.isTrusted;
    const expected = process.env[ENV_EXPECTED_MODE];
    const files = selectTestFiles(__dirname, trusted);
    emit({ event: 'start', vscodeVersion: vscode.version, appName: vscode.env.appName, trusted, files: files.map((f) => path.relative(__dirname, f)) });
    if (expected && (expected === 'trusted') !== trusted) {
      throw new Error(`harness asked for a ${expected} workspace but vscode.workspace.isTrusted is ${trusted}`);
    }

    const Mocha = await loadMocha();
    const mocha = new Mocha({ ui: 'bdd', timeout: 30_000, slow: 5_000, color: false, reporter: 'base' });
    const grep = process.env[ENV_GREP];
    if (grep) mocha.grep(grep);
    for (const f of files) mocha.addFile(f);
    await mocha.loadFilesAsync();

    const started = Date.now();
    const counts = await new Promise<{ passes: number; failures: number; pending: number }>((resolve) => {
      const c = { passes: 0, failures: 0, pending: 0 };
      const runner = mocha.run(() => resolve(c));
      runner.on('test', (t) => emit({ event: 'test', fullTitle: t.fullTitle() }));
      runner.on('pass', (t) => {
        c.passes++;
        emit({ event: 'pass', fullTitle: t.fullTitle(), file: t.file && path.relative(__dirname, t.file), durationMs: t.duration });
      });
      runner.on('pending', (t) => {
        c.pending++;
        emit({ event: 'pending', fullTitle: t.fullTitle(), file: t.file && path.relative(__dirname, t.file) });
      });
      runner.on('fail', (t, err) => {
        c.failures++;
        emit({ event: 'fail', fullTitle: t.fullTitle(), file: t.file && path.relative(__dirname, t.file), durationMs: t.duration, error: toReported(err) });
      });
    });
    emit({ event: 'end', ...counts, durationMs: Date.now() - started });
    if (counts.failures > 0) throw new Error(`${counts.failures} integration test(s) failed`);
  } catch (err) {
    if (!(err instanceof Error && /integration test\(s\) failed$/.test(err.message))) emit({ event: 'fatal', error: toReported(err) });
    throw err;
  }
}
