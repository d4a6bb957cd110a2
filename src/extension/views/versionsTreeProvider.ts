import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseDify } from '../../core/dsl';
import type { PromptVersion } from '../../core/storage';
import { mdFence, mdInline } from '../../core/evidence/inert';
import { Commands } from '../constants';
import { fmtScore } from '../review/proposals';
import { StoreManager } from '../services/stores';
import { isOnDisk } from '../providers/packageFileSystem';
import { readWorkflowTextSync } from '../../core/service/workflowFile';

export interface WorkflowNode {
  type: 'workflow';
  root: string;
  workflow: string;
}
export interface PromptNode {
  type: 'prompt';
  root: string;
  workflow: string;
  promptId: string;
  title: string;
  kind?: string;
  score?: number;
  count: number;
}
export interface VersionNode {
  type: 'version';
  root: string;
  workflow: string;
  promptId: string;
  title: string;
  version: PromptVersion;
  /** Its text is the prompt's text in the workflow file now. */
  current: boolean;
}
export type VersionsTreeNode = WorkflowNode | PromptNode | VersionNode;

const STATUS_ICON: Record<string, string> = { baseline: 'circle-outline', proposed: 'question', accepted: 'check', rejected: 'close' };

/** "2026-11-22 14:03" in local time. */
function shortDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * "Prompt Versions": workflow files → prompts (title, kind, score) → versions (number, strategy,
 * score change, date, status, current). Refreshes whenever `.optimizer/versions/` changes on
 * disk (this window, another window or the CLI).
 */
export class VersionsTreeProvider implements vscode.TreeDataProvider<VersionsTreeNode>, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<VersionsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  private readonly parents = new Map<string, VersionsTreeNode>();

  constructor(private readonly stores: StoreManager) {
    this.disposables.push(stores.onDidChange(() => this.refresh()));
  }

  refresh(): void {
    this.parents.clear();
    this.emitter.fire(undefined);
  }

  static idOf(n: VersionsTreeNode): string {
    const base = `${n.root}|${n.workflow}`;
    if (n.type === 'workflow') return base;
    if (n.type === 'prompt') return `${base}|${n.promptId}`;
    return `${base}|${n.promptId}|${n.version.version}`;
  }

  /** Current prompt texts of a workflow file: the open editor's text when open, else the file on disk. */
  private currentTexts(root: string, workflow: string): Map<string, { text: string; title: string; kind: string }> {
    const file = path.join(root, ...workflow.split('/'));
    const open = vscode.workspace.textDocuments.find((d) => isOnDisk(d.uri) && d.uri.fsPath === file);
    const out = new Map<string, { text: string; title: string; kind: string }>();
    try {
      const text = open ? open.getText() : readWorkflowTextSync(file);
      for (const p of parseDify(text, { file: workflow }).prompts) out.set(p.id, { text: p.text, title: p.nodeTitle, kind: p.kind });
    } catch {
      // file gone or unreadable: versions are still listed, none marked current
    }
    return out;
  }

  async getChildren(element?: VersionsTreeNode): Promise<VersionsTreeNode[]> {
    const out = await this.children(element);
    for (const c of out) if (element) this.parents.set(VersionsTreeProvider.idOf(c), element);
    return out;
  }

  private async children(element?: VersionsTreeNode): Promise<VersionsTreeNode[]> {
    if (!element) {
      const nodes: VersionsTreeNode[] = [];
      for (const folder of vscode.workspace.workspaceFolders ?? []) {
        const root = folder.uri.fsPath;
        if (!StoreManager.hasVersions(root)) continue;
        const store = await this.stores.reader(root);
        for (const workflow of await store.listWorkflows()) nodes.push({ type: 'workflow', root, workflow });
      }
      return nodes;
    }
    if (element.type === 'workflow') {
      const store = await this.stores.reader(element.root);
      const current = this.currentTexts(element.root, element.workflow);
      const nodes: PromptNode[] = [];
      for (const promptId of await store.listPrompts(element.workflow)) {
        const versions = await store.list(element.workflow, promptId);
        const latest = versions.find((v) => v.status !== 'rejected' && v.status !== 'proposed') ?? versions[0];
        const meta = (latest?.metadata ?? {}) as { nodeTitle?: string; kind?: string };
        const cur = current.get(promptId);
        const curVersion = cur ? versions.find((v) => v.text === cur.text) : undefined;
        nodes.push({
          type: 'prompt',
          root: element.root,
          workflow: element.workflow,
          promptId,
          title: cur?.title ?? meta.nodeTitle ?? promptId,
          kind: cur?.kind ?? meta.kind,
          score: (curVersion ?? latest)?.analysis?.overall,
          count: versions.length,
        });
      }
      return nodes;
    }
    if (element.type === 'prompt') {
      const store = await this.stores.reader(element.root);
      const cur = this.currentTexts(element.root, element.workflow).get(element.promptId);
      const versions = await store.list(element.workflow, element.promptId);
      return versions.map((v) => ({
        type: 'version' as const,
        root: element.root,
        workflow: element.workflow,
        promptId: element.promptId,
        title: element.title,
        version: v,
        current: !!cur && cur.text === v.text && v.status !== 'rejected' && v.status !== 'proposed',
      }));
    }
    return [];
  }

  getParent(element: VersionsTreeNode): VersionsTreeNode | undefined {
    if (element.type === 'workflow') return undefined;
    const cached = this.parents.get(VersionsTreeProvider.idOf(element));
    if (cached) return cached;
    if (element.type === 'prompt') return { type: 'workflow', root: element.root, workflow: element.workflow };
    return undefined;
  }

  getTreeItem(n: VersionsTreeNode): vscode.TreeItem {
    if (n.type === 'workflow') {
      const item = new vscode.TreeItem(path.posix.basename(n.workflow), vscode.TreeItemCollapsibleState.Expanded);
      item.id = VersionsTreeProvider.idOf(n);
      item.description = path.posix.dirname(n.workflow) === '.' ? undefined : path.posix.dirname(n.workflow);
      item.resourceUri = vscode.Uri.file(path.join(n.root, ...n.workflow.split('/')));
      item.iconPath = vscode.ThemeIcon.File;
      item.contextValue = 'workflow';
      item.command = { title: 'Open', command: 'vscode.open', arguments: [item.resourceUri] };
      return item;
    }
    if (n.type === 'prompt') {
      const item = new vscode.TreeItem(n.title, vscode.TreeItemCollapsibleState.Collapsed);
      item.id = VersionsTreeProvider.idOf(n);
      item.description = [n.kind, n.score !== undefined ? `score ${fmtScore(n.score)}` : undefined, `${n.count} version${n.count === 1 ? '' : 's'}`]
        .filter(Boolean)
        .join(' · ');
      item.tooltip = `${n.promptId}\n${n.workflow}`;
      item.iconPath = new vscode.ThemeIcon('symbol-string');
      item.contextValue = 'prompt';
      return item;
    }
    const v = n.version;
    const opt = v.optimization;
    const delta = opt ? `${opt.improvement >= 0 ? '+' : ''}${fmtScore(opt.improvement)}` : undefined;
    const parts = [
      opt?.strategy ?? (v.restoredFrom ? `restore of ${v.restoredFrom}` : v.status === 'baseline' ? 'original' : undefined),
      delta,
      v.analysis ? `score ${fmtScore(v.analysis.overall)}` : undefined,
      shortDate(v.createdAt),
      v.status,
      v.unproven ? 'unproven' : undefined,
      n.current ? 'current' : undefined,
    ].filter(Boolean);
    const item = new vscode.TreeItem(`v${v.version}`, vscode.TreeItemCollapsibleState.None);
    item.id = VersionsTreeProvider.idOf(n);
    item.description = parts.join(' · ');
    item.tooltip = new vscode.MarkdownString(
      // The rationale and the text came from a model: inert (escaped, in a fence no line of the text can close).
      [`**${mdInline(n.title)}** v${v.version} (${v.status}${v.unproven ? ', unproven: its test cases did not show it better' : ''}${n.current ? ', current' : ''})`, mdInline(opt?.rationale ?? ''), mdFence(v.text.slice(0, 1500))].join('\n\n'),
    );
    item.iconPath = new vscode.ThemeIcon(n.current ? 'pass-filled' : (STATUS_ICON[v.status] ?? 'circle-outline'));
    const hasReport = typeof (v.metadata as { evidence?: { reportFile?: unknown } }).evidence?.reportFile === 'string';
    item.contextValue = `promptVersion${v.parentVersion ? '.hasParent' : ''}${hasReport ? '.evidence' : ''}`;
    item.command = { title: 'Compare with Current', command: Commands.compareWithCurrent, arguments: [n] };
    return item;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
