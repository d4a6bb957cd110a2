import * as vscode from 'vscode';
import { replacePrompts } from '../../core/dsl';
import { applyIssueFix, quickFixFor } from '../../core/strategies/rules';
import { Commands, DIAGNOSTIC_SOURCE } from '../constants';
import { fmtScore, type ProposalQueue } from '../review/proposals';
import { minimalEdit } from '../review/textEdit';
import { promptAt, type DocumentCache } from '../services/documentCache';
import type { PromptDiagnostics } from './promptDiagnostics';

/**
 * On a prompt: "Optimize this prompt" (refactor.rewrite); on one of our diagnostics: a quick fix
 * when a rule fixes that issue in place (else "Optimize with <rule strategy>"); and "Apply
 * optimized prompt" when a proposal for the prompt is pending.
 */
export class PromptCodeActionProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix, vscode.CodeActionKind.RefactorRewrite];

  constructor(
    private readonly cache: DocumentCache,
    private readonly diagnostics: PromptDiagnostics,
    private readonly queue: ProposalQueue,
  ) {}

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const parsed = this.cache.get(document);
    if (!parsed.doc || parsed.doc.app.wrapped) return [];
    const doc = parsed.doc;
    const actions: vscode.CodeAction[] = [];
    const wants = (kind: vscode.CodeActionKind) => !context.only || context.only.contains(kind) || kind.contains(context.only);

    const rec = promptAt(doc, document.offsetAt(range.start));
    if (rec && wants(vscode.CodeActionKind.RefactorRewrite)) {
      const a = new vscode.CodeAction('Optimize this prompt', vscode.CodeActionKind.RefactorRewrite);
      a.command = { title: 'Optimize this prompt', command: Commands.optimizePrompt, arguments: [document.uri, rec.id] };
      actions.push(a);
    }
    if (rec) {
      const pending = this.queue.forPrompt(document.uri, rec.id);
      if (pending && wants(vscode.CodeActionKind.QuickFix)) {
        const a = new vscode.CodeAction(`Apply optimized prompt (${fmtScore(pending.scoreBefore)} → ${fmtScore(pending.scoreAfter)})`, vscode.CodeActionKind.QuickFix);
        a.command = { title: 'Apply optimized prompt', command: Commands.acceptProposal, arguments: [pending.id] };
        a.isPreferred = true;
        actions.push(a);
      }
    }

    if (!wants(vscode.CodeActionKind.QuickFix)) return actions;
    const items = this.diagnostics.itemsFor(document);
    for (const d of context.diagnostics) {
      if (d.source !== DIAGNOSTIC_SOURCE) continue;
      const item = items.find((i) => i.diagnostic.range.isEqual(d.range) && i.diagnostic.message === d.message);
      if (!item) continue;
      const target = doc.prompts.find((p) => p.id === item.promptId);
      if (!target) continue;
      const fixed = applyIssueFix(target.text, item.issue);
      if (fixed !== undefined && fixed !== target.text) {
        let edit: vscode.WorkspaceEdit | undefined;
        try {
          const change = minimalEdit(document.getText(), replacePrompts(doc, [{ id: target.id, text: fixed }], { verify: true }));
          if (change) {
            edit = new vscode.WorkspaceEdit();
            edit.replace(document.uri, new vscode.Range(document.positionAt(change.start), document.positionAt(change.end)), change.text);
          }
        } catch {
          edit = undefined; // the value cannot be written back (alias, wrapper): no in-place fix
        }
        if (edit) {
          const a = new vscode.CodeAction(`Fix: ${item.issue.suggestion ?? item.issue.message}`, vscode.CodeActionKind.QuickFix);
          a.edit = edit;
          a.diagnostics = [d];
          actions.push(a);
          continue;
        }
      }
      const strategy = quickFixFor(item.issue);
      if (strategy) {
        const a = new vscode.CodeAction(`Optimize this prompt with ${strategy}`, vscode.CodeActionKind.QuickFix);
        a.command = { title: a.title, command: Commands.optimizePrompt, arguments: [document.uri, target.id, { strategies: [strategy] }] };
        a.diagnostics = [d];
        actions.push(a);
      }
    }
    return actions;
  }
}
