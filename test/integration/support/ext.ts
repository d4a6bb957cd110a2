/** Helpers for our extension's suites: its API, work copies of corpus files, prompts, the store. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseDify, type PromptRecord } from '../../../src/core/dsl';
import { VersionStore } from '../../../src/core/storage';
import type { ExtensionApi } from '../../../src/extension/extension';
import { activateByOpeningExport, waitFor, workspaceDir } from './helpers';

/** A corpus prompt the rule engine improves when forced (checked with `promptopt optimize --prompt`). */
export const IMPROVABLE = {
  file: 'support_bot.yml',
  promptId: '1711000000002/msg:5c1e2c1a-0000-4000-8000-000000000001',
  title: 'Answer Writer',
};

/** A second improvable prompt in the same file. */
export const IMPROVABLE_2 = { promptId: '1711000000005/msg:5c1e2c1a-0000-4000-8000-000000000003', title: 'Summary Writer' };

/** Our extension's API (activating it by opening an export). */
export async function api(): Promise<ExtensionApi> {
  const ext = await activateByOpeningExport();
  return ext.exports as ExtensionApi;
}

let counter = 0;
/** Copies a corpus file to `<ws>/it-work/<tag>-<n>/<name>` (so suites never change the corpus) and returns its path. */
export function workCopy(name: string, tag: string): string {
  const dir = path.join(workspaceDir(), 'it-work', `${tag}-${++counter}-${Date.now() % 100000}`);
  fs.mkdirSync(dir, { recursive: true });
  const dest = path.join(dir, name);
  fs.copyFileSync(path.join(workspaceDir(), name), dest);
  return dest;
}

/** Opens a file and makes it the active editor. */
export async function open(file: string): Promise<vscode.TextEditor> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
  return vscode.window.showTextDocument(doc, { preview: false });
}

/** The prompt with this id in `text`. */
export function promptOf(text: string, id: string): PromptRecord {
  const rec = parseDify(text).prompts.find((p) => p.id === id);
  assert.ok(rec, `prompt ${id} not found`);
  return rec;
}

/** The store key of a file (relative to the workspace root, forward slashes). */
export function workflowKeyOf(file: string): string {
  return path.relative(workspaceDir(), file).split(path.sep).join('/');
}

/** A read-only view of the workspace's version store (fresh each call, like another process). */
export async function readStore(): Promise<VersionStore> {
  return VersionStore.open(workspaceDir(), { readOnly: true });
}

/** Reverts and closes every editor without saving (untitled ones too, which would otherwise ask to be saved). */
export async function revertAndCloseAll(): Promise<void> {
  for (const doc of vscode.workspace.textDocuments) {
    if (doc.isDirty && (doc.uri.scheme === 'file' || doc.uri.scheme === 'untitled')) {
      await vscode.window.showTextDocument(doc);
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
  }
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
}

/** The label of the active tab (the diff editor's title). */
export function activeTabLabel(): string | undefined {
  return vscode.window.tabGroups.activeTabGroup.activeTab?.label;
}

/** Waits until the active tab is a diff whose modified side has our scheme. */
export async function waitForProposalDiff(): Promise<vscode.TabInputTextDiff> {
  return until('a proposal diff editor', () => {
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    return input instanceof vscode.TabInputTextDiff && input.modified.scheme === 'promptopt' && input.modified.path.startsWith('/proposal/') ? input : undefined;
  });
}

/** Like waitFor, typed for predicates that return a value or undefined/false. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  return (await waitFor(what, fn, timeoutMs)) as T;
}
