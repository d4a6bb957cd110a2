/** Helpers for suites running inside the extension host. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EXTENSION_ID } from '../../../src/extension/constants';
import { ENV_EXPECTED_LOG_ERRORS, type ExpectedLogError } from './protocol';

/** Polls `predicate` every 50 ms until it is truthy or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(what: string, predicate: () => T | Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Our extension as VS Code sees it (fails the test when it is not installed). */
export function ourExtension(): vscode.Extension<unknown> {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded in the extension host`);
  return ext;
}

/** Absolute path of the (temporary copy of the) workspace folder. */
export function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'no workspace folder is open');
  return folder.uri.fsPath;
}

/** The Dify exports (*.yml) at the top of the workspace, sorted by name. */
export function corpusFiles(): string[] {
  const dir = workspaceDir();
  return fs
    .readdirSync(dir)
    .filter((n) => n.endsWith('.yml'))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Opens `file` in an editor and returns the editor once it is active. */
export async function openInEditor(file: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  return vscode.window.showTextDocument(doc, { preview: false });
}

/** Opens a Dify export and waits until our extension is active; returns its exports. */
export async function activateByOpeningExport(file = corpusFiles()[0]): Promise<vscode.Extension<unknown>> {
  assert.ok(file, 'the workspace holds no *.yml export');
  await openInEditor(file);
  const ext = ourExtension();
  await waitFor(`${EXTENSION_ID} to activate after opening ${path.basename(file)}`, () => ext.isActive, 15_000);
  return ext;
}

/** Closes every editor. */
export async function closeAllEditors(): Promise<void> {
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/**
 * Declares that the current test makes the extension log an error on purpose (e.g. an endpoint
 * refusing the key): the harness's "extension logs contain no error" check then excuses the
 * error lines matching `pattern`, and only those. Keep the pattern specific.
 */
export function expectLogError(pattern: RegExp, why: string): void {
  const file = process.env[ENV_EXPECTED_LOG_ERRORS];
  if (!file) return; // not run by the harness: nobody checks the logs
  const entry: ExpectedLogError = { source: pattern.source, flags: pattern.flags.replace(/[gy]/g, ''), why };
  fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
}
