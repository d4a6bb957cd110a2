import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseDify, type PromptRecord } from '../../core/dsl';
import type { PromptVersion } from '../../core/storage';
import { fmtScore } from '../review/proposals';
import { promptAt } from '../services/documentCache';
import { StoreManager, workflowOf } from '../services/stores';
import type { PromptPickTrace } from '../services/trace';
import type { Services } from '../services/types';
import type { VersionNode } from '../views/versionsTreeProvider';
import { isOnDisk, workflowUri } from '../providers/packageFileSystem';
import { readWorkflowTextSync } from '../../core/service/workflowFile';

/** The Dify document a command works on: the `uri` argument, else the active editor's. Shows why when there is none. */
export async function targetDocument(s: Services, arg: unknown): Promise<vscode.TextDocument | undefined> {
  let doc: vscode.TextDocument | undefined;
  if (arg instanceof vscode.Uri) doc = await vscode.workspace.openTextDocument(arg);
  else doc = vscode.window.activeTextEditor?.document;
  if (!doc) {
    void vscode.window.showWarningMessage('Open a Dify app export (YAML) first.');
    return undefined;
  }
  const parsed = s.cache.get(doc);
  if (!parsed.doc) {
    const name = vscode.workspace.asRelativePath(doc.uri, false);
    void vscode.window.showWarningMessage(parsed.error ? `Prompt Optimizer: ${parsed.error.message}` : `${name} is not a Dify app export (no \`kind: app\` with a workflow or model_config).`);
    return undefined;
  }
  return doc;
}

/**
 * The prompt a command is about: `promptId` when given, else the one under the cursor of the
 * active editor (on the value or its key's line), else the user's pick from a list with scores.
 */
export async function targetPrompt(s: Services, doc: vscode.TextDocument, promptId: unknown): Promise<PromptRecord | undefined> {
  const parsed = s.cache.get(doc).doc;
  if (!parsed) return undefined;
  if (typeof promptId === 'string') {
    const rec = parsed.prompts.find((p) => p.id === promptId);
    if (!rec) void vscode.window.showErrorMessage(`There is no prompt with id "${promptId}" in ${vscode.workspace.asRelativePath(doc.uri, false)}.`);
    return rec;
  }
  const editor = vscode.window.activeTextEditor;
  if (editor && editor.document === doc) {
    const pos = editor.selection.active;
    const hit = promptAt(parsed, doc.offsetAt(pos)) ?? parsed.prompts.find((p) => p.range && p.range.start.line - 1 === pos.line);
    if (hit) return hit;
  }
  if (parsed.prompts.length === 0) {
    void vscode.window.showInformationMessage('This Dify export holds no prompts.');
    return undefined;
  }
  const items = parsed.prompts.map((p) => {
    const a = s.cache.analysis(p);
    return {
      label: p.nodeTitle || p.id,
      description: `${p.kind}${p.role ? ` (${p.role})` : ''} · score ${fmtScore(a.overall)}`,
      detail: p.text.replace(/\s+/g, ' ').slice(0, 120) || '(empty)',
      rec: p,
    };
  });
  const title = 'Optimize which prompt?';
  const trace: PromptPickTrace = { title, items: items.map((i) => ({ label: i.label, description: i.description, promptId: i.rec.id })), closed: false };
  s.trace.promptPick = trace;
  const pick = await vscode.window.showQuickPick(items, {
    title,
    placeHolder: 'Prompts of this file, with their scores',
    matchOnDetail: true,
    onDidSelectItem: (item) => {
      if (typeof item !== 'string') trace.active = (item as (typeof items)[number]).rec.id;
    },
  });
  trace.closed = true;
  return pick?.rec;
}

/** The prompt's text in its workflow file now (the open editor's text, else the file on disk). */
export function currentPromptText(root: string, workflow: string, promptId: string): { text: string; uri: vscode.Uri; rec: PromptRecord } | undefined {
  const file = path.join(root, ...workflow.split('/'));
  const uri = workflowUri(file);
  const open = vscode.workspace.textDocuments.find((d) => isOnDisk(d.uri) && d.uri.fsPath === file);
  try {
    const text = open ? open.getText() : readWorkflowTextSync(file);
    const rec = parseDify(text, { file: workflow }).prompts.find((p) => p.id === promptId);
    return rec ? { text: rec.text, uri, rec } : undefined;
  } catch {
    return undefined;
  }
}

export function isVersionNode(x: unknown): x is VersionNode {
  return !!x && typeof x === 'object' && (x as { type?: unknown }).type === 'version' && !!(x as VersionNode).version;
}

/** A version node from the argument, else picked: the prompt under the cursor, then one of its versions. */
export async function targetVersion(s: Services, arg: unknown, title: string): Promise<VersionNode | undefined> {
  if (isVersionNode(arg)) return arg;
  const doc = await targetDocument(s, arg instanceof vscode.Uri ? arg : undefined);
  if (!doc) return undefined;
  const rec = await targetPrompt(s, doc, undefined);
  if (!rec) return undefined;
  const { root, workflow } = workflowOf(doc.uri);
  if (!StoreManager.hasVersions(root)) {
    void vscode.window.showInformationMessage(`"${rec.nodeTitle}" has no stored versions yet.`);
    return undefined;
  }
  const store = await s.stores.reader(root);
  const versions: PromptVersion[] = await store.list(workflow, rec.id);
  if (versions.length === 0) {
    void vscode.window.showInformationMessage(`"${rec.nodeTitle}" has no stored versions yet.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(
    versions.map((v) => ({
      label: `v${v.version}`,
      description: [v.optimization?.strategy, v.analysis ? `score ${fmtScore(v.analysis.overall)}` : undefined, v.status, v.text === rec.text ? 'current' : undefined].filter(Boolean).join(' · '),
      v,
    })),
    { title },
  );
  if (!pick) return undefined;
  return { type: 'version', root, workflow, promptId: rec.id, title: rec.nodeTitle, version: pick.v, current: pick.v.text === rec.text };
}
