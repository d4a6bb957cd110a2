import * as vscode from 'vscode';
import { Commands } from '../constants';
import { fmtScore, pendingLensTitle, pendingLensTooltip } from '../review/labels';
import type { Proposal, ProposalQueue } from '../review/proposals';
import type { DocumentCache } from '../services/documentCache';
import { codeLensEnabled } from '../services/settings';
import { StoreManager, workflowOf } from '../services/stores';
import { isOnDisk } from './packageFileSystem';

/**
 * The lenses of a pending proposal, in the workflow file above its prompt:
 * "Proposal 72 → 86 · Review · Accept · Reject" (no Accept once the prompt changed under it).
 */
export function pendingLenses(range: vscode.Range, p: Proposal): vscode.CodeLens[] {
  const lens = (title: string, command: string, tooltip: string) => new vscode.CodeLens(range, { title, tooltip, command, arguments: [p.id] });
  return [
    lens(pendingLensTitle(p), Commands.nextProposal, pendingLensTooltip(p)),
    lens('Review', Commands.nextProposal, 'Open the proposal as a diff; edit its right side before accepting if you like'),
    ...(p.evidence ? [lens('Evidence', Commands.showEvidenceReport, 'Open the evidence report: per case the input, both answers and the judge\'s reasons')] : []),
    ...(p.stale ? [] : [lens('Accept', Commands.acceptProposal, 'Apply the proposal (as edited in its diff) to this file; the file is not saved')]),
    lens('Reject', Commands.rejectProposal, 'Dismiss the proposal; the file stays as it is'),
  ];
}

/** Above each prompt: its score (and issue count), "Optimize", its number of versions, a pending proposal. */
export class PromptCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];

  constructor(
    private readonly cache: DocumentCache,
    private readonly stores: StoreManager,
    private readonly queue: ProposalQueue,
  ) {
    const fire = () => this.emitter.fire();
    this.disposables.push(cache.onDidSettle(fire), stores.onDidChange(fire), queue.onDidChange(fire));
  }

  async provideCodeLenses(document: vscode.TextDocument, token: vscode.CancellationToken): Promise<vscode.CodeLens[]> {
    if (!codeLensEnabled()) return [];
    const parsed = this.cache.get(document);
    if (!parsed.doc || parsed.doc.app.wrapped) return [];
    const { root, workflow } = workflowOf(document.uri);
    let counts: Map<string, number> | undefined;
    if (isOnDisk(document.uri) && StoreManager.hasVersions(root)) {
      try {
        const store = await this.stores.reader(root);
        const known = new Set(await store.listPrompts(workflow));
        counts = new Map();
        for (const p of parsed.doc.prompts) if (known.has(p.id)) counts.set(p.id, await store.count(workflow, p.id));
      } catch {
        counts = undefined; // a broken store must not hide the scores
      }
    }
    if (token.isCancellationRequested) return [];
    const lenses: vscode.CodeLens[] = [];
    for (const p of parsed.doc.prompts) {
      if (!p.range) continue;
      const line = Math.max(0, p.range.start.line - 1);
      const range = new vscode.Range(line, 0, line, 0);
      // While a proposal is pending, the line reads "Proposal 72 → 86 · Review · Accept · Reject".
      const pending = this.queue.forPrompt(document.uri, p.id);
      if (pending) {
        lenses.push(...pendingLenses(range, pending));
      } else {
        const a = this.cache.analysis(p);
        const issues = a.issues.length;
        lenses.push(
          new vscode.CodeLens(range, {
            title: `Score ${fmtScore(a.overall)}${issues ? ` · ${issues} issue${issues === 1 ? '' : 's'}` : ''}`,
            tooltip: `${p.nodeTitle} · ${p.kind}${p.role ? ` (${p.role})` : ''}: clarity ${fmtScore(a.clarity)}, efficiency ${fmtScore(a.efficiency)}, structure ${fmtScore(a.structure)}`,
            command: Commands.analyzePrompts,
            arguments: [document.uri],
          }),
          new vscode.CodeLens(range, {
            title: 'Optimize',
            tooltip: `Optimize "${p.nodeTitle}" and review the proposal as a diff`,
            command: Commands.optimizePrompt,
            arguments: [document.uri, p.id],
          }),
          new vscode.CodeLens(range, {
            title: 'Test cases',
            tooltip: `Generate test cases for "${p.nodeTitle}" from the workflow (a dataset the evidence gate, eval and train use)`,
            command: Commands.generateTestCases,
            arguments: [document.uri, p.id],
          }),
        );
      }
      const n = counts?.get(p.id) ?? 0;
      if (n > 0) {
        lenses.push(
          new vscode.CodeLens(range, {
            title: `${n} version${n === 1 ? '' : 's'}`,
            tooltip: 'Show the stored versions of this prompt',
            command: Commands.showVersions,
            arguments: [document.uri, p.id],
          }),
        );
      }
      if (pending?.stale) {
        lenses.push(new vscode.CodeLens(range, { title: 'Optimize', tooltip: `Optimize "${p.nodeTitle}" again from its current text`, command: Commands.optimizePrompt, arguments: [document.uri, p.id] }));
      }
    }
    return lenses;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
