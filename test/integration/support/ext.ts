/** Helpers for our extension's suites: its API, work copies of corpus files, prompts, the store. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseDify, type PromptRecord } from '../../../src/core/dsl';
import { VersionStore } from '../../../src/core/storage';
import type { ExtensionApi } from '../../../src/extension/extension';
import { activateByOpeningExport, waitFor, workspaceDir } from './helpers';

/**
 * A corpus prompt (test/fixtures/dify/) the rule strategies improve when forced, as the
 * extension's Optimize Prompt does (checked for every corpus prompt with
 * `promptopt optimize <copy> --prompt <id>`: 82.2 → 87.6 with the default rules). Its value is
 * an escaped double-quoted scalar, so write-backs are checked on the hardest YAML form.
 */
export const IMPROVABLE = {
  file: '根据用户的意图进行回复.yml',
  promptId: '1718246959048/msg:3a83623c-0e25-47c1-be3e-14946302c2c3',
  title: '文本使用帮助回复',
};

/** A second improvable corpus prompt in the same file (88.6 → 89.7). */
export const IMPROVABLE_2 = { promptId: '1718246916748/msg:8dfbe783-52f1-4210-9899-e952da5ed717', title: '文本健康咨询回复' };

/**
 * A hand-written export with deliberately weak English prompts (test/fixtures/messy/, copied
 * beside the corpus): the fake server's deterministic rewriter (filler words) improves them, so
 * the LLM-path suites use it.
 */
export const WEAK = {
  file: 'support_bot.yml',
  promptId: '1711000000002/msg:5c1e2c1a-0000-4000-8000-000000000001',
  title: 'Answer Writer',
};

/** A second weak prompt in support_bot.yml. */
export const WEAK_2 = { promptId: '1711000000005/msg:5c1e2c1a-0000-4000-8000-000000000003', title: 'Summary Writer' };

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
