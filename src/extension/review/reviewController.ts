import * as vscode from 'vscode';
import { analyzePrompt } from '../../core/analysis';
import { replacePrompts } from '../../core/dsl';
import { toOptimizerError } from '../../core/errors';
import { ContextKeys } from '../constants';
import type { DocumentCache } from '../services/documentCache';
import type { Logger } from '../services/logger';
import type { StoreManager } from '../services/stores';
import { checkAccept, ReviewCodes, type ReviewCode } from './checks';
import { proposalTitle } from './labels';
import { PromptContentProvider } from './promptContentProvider';
import type { Proposal, ProposalQueue } from './proposals';
import { recordAccepted } from './record';
import { minimalEdit } from './textEdit';

/** Outcome of accept / reject, returned by the commands (tests read it). */
export interface ReviewOutcome {
  ok: boolean;
  proposalId?: string;
  /** Why nothing happened, in plain words (also shown to the user). */
  message?: string;
  /** Stable code of a refusal (see ReviewCodes). */
  code?: ReviewCode;
  /** Store status written ('accepted' / 'rejected'), when the workspace records versions. */
  recorded?: string;
  /** The version written by the accept (a restore, or the user's `manual-edit`). */
  version?: string;
  /** True when the text written was the user's edit of the proposal. */
  edited?: boolean;
}

/** The diff title of a proposal (the proposal's own score change: an edit shows in the CodeLens). */
const titleOf = (p: Proposal) => proposalTitle({ ...p, editedScore: undefined });

/**
 * The review of proposals: a diff editor per proposal (decoded texts, titled with node, kind,
 * strategy and score change) whose right side the user may edit (and revert block by block with
 * the diff editor's own gutter actions); accept = the checks, then one undoable WorkspaceEdit
 * with the format-preserving write-back of the text as the user left it + the version recorded;
 * reject = file untouched + version marked rejected; a queue walked with next / previous. The
 * left side and the proposal's state follow the workflow file while the proposal is pending.
 */
export class ReviewController implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Proposal shown by the active editor, if any. */
  private activeId: string | undefined;
  /** Last position in the queue (for next / previous when no proposal is active). */
  private cursor = 0;
  private touchTimer: NodeJS.Timeout | undefined;
  /** Proposed sides edited since the last settle. */
  private readonly editedDocs = new Map<string, vscode.TextDocument>();

  constructor(
    private readonly queue: ProposalQueue,
    private readonly content: PromptContentProvider,
    private readonly cache: DocumentCache,
    private readonly stores: StoreManager,
    private readonly log: Logger,
  ) {
    this.disposables.push(
      vscode.window.onDidChangeActiveTextEditor((e) => this.track(e)),
      vscode.workspace.onDidChangeTextDocument((e) => e.contentChanges.length > 0 && this.onEdited(e.document)),
      cache.onDidSettle((doc) => this.refreshFor(doc)),
    );
    this.track(vscode.window.activeTextEditor);
  }

  private track(editor: vscode.TextEditor | undefined): void {
    const ref = editor ? PromptContentProvider.parse(editor.document.uri) : undefined;
    const id = ref?.kind === 'proposal' && this.queue.get(ref.id) ? ref.id : undefined;
    this.activeId = id;
    if (id) this.cursor = Math.max(0, this.queue.indexOf(id));
    void vscode.commands.executeCommand('setContext', ContextKeys.proposalActive, !!id);
    void vscode.commands.executeCommand('setContext', ContextKeys.proposalHasEvidence, !!(id && this.queue.get(id)?.evidence));
    // A diff whose title no longer says what is true (the prompt changed in the YAML meanwhile)
    // is opened again with the right title when the user comes back to it.
    const p = id ? this.queue.get(id) : undefined;
    if (p && this.diffTabs(p).some((t) => t.label !== titleOf(p))) void this.open(p);
  }

  /** The tabs showing a proposal's diff. */
  private diffTabs(p: Proposal): vscode.Tab[] {
    const tabs: vscode.Tab[] = [];
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        if (tab.input instanceof vscode.TabInputTextDiff) {
          const ref = PromptContentProvider.parse(tab.input.modified);
          if (ref?.kind === 'proposal' && ref.id === p.id) tabs.push(tab);
        }
      }
    }
    return tabs;
  }

  /** The proposal the active diff shows. */
  active(): Proposal | undefined {
    return this.activeId ? this.queue.get(this.activeId) : undefined;
  }

  /** The URI of a proposal's editable (right) side. */
  proposedUri(p: Proposal): vscode.Uri {
    return PromptContentProvider.uriOf(['proposal', p.id, 'proposed'], `${p.nodeTitle} (proposed)`);
  }

  private uris(p: Proposal): { left: vscode.Uri; right: vscode.Uri } {
    const left = this.content.put(['proposal', p.id, 'original'], `${p.nodeTitle} (current)`, this.currentText(p) ?? p.original);
    const right = this.content.putEditable(['proposal', p.id, 'proposed'], `${p.nodeTitle} (proposed)`, p.proposed);
    return { left, right };
  }

  /** The text Accept takes: the right side as the user left it (saved or not), else the proposal. */
  proposedText(p: Proposal): string {
    const uri = this.proposedUri(p);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    return doc ? doc.getText() : (this.content.text(uri) ?? p.proposed);
  }

  /** The prompt's text in its workflow document now, when the document is open and holds it. */
  private currentText(p: Proposal): string | undefined {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === p.uri.toString());
    if (!doc) return undefined;
    return this.cache.get(doc).doc?.prompts.find((r) => r.id === p.promptId)?.text;
  }

  /** The user typed in a proposal's right side: its edited state (score, CodeLens) follows, debounced off the typing path. */
  private onEdited(doc: vscode.TextDocument): void {
    const ref = PromptContentProvider.parse(doc.uri);
    if (ref?.kind !== 'proposal' || ref.side !== 'proposed' || !this.queue.get(ref.id)) return;
    this.editedDocs.set(ref.id, doc);
    if (this.touchTimer) clearTimeout(this.touchTimer);
    this.touchTimer = setTimeout(() => this.settleEdits(), 250);
  }

  private settleEdits(): void {
    for (const [id, doc] of this.editedDocs) {
      const p = this.queue.get(id);
      if (!p) continue;
      const text = doc.getText();
      p.edited = text === p.proposed ? undefined : text;
      p.editedScore = p.edited === undefined ? undefined : analyzePrompt({ text, kind: p.kind, role: p.role }).overall;
    }
    this.editedDocs.clear();
    this.queue.touch();
  }

  /** The workflow document settled after a change: each of its proposals' left side and stale state follow. */
  private refreshFor(doc: vscode.TextDocument): void {
    let changed = false;
    for (const p of this.queue.all()) {
      if (p.uri.toString() !== doc.uri.toString()) continue;
      const parsed = this.cache.get(doc);
      if (!parsed.doc) continue; // mid-edit invalid YAML: judge again once it parses
      const now = parsed.doc.prompts.find((r) => r.id === p.promptId)?.text;
      const stale = now !== p.original;
      if (stale !== !!p.stale) {
        p.stale = stale || undefined;
        changed = true;
      }
      this.content.put(['proposal', p.id, 'original'], `${p.nodeTitle} (current)`, now ?? p.original);
    }
    if (changed) this.queue.touch();
  }

  /** Opens the diff of a proposal (again, in place, when its open tab shows an outdated title; the edit is kept). */
  async open(p: Proposal): Promise<void> {
    const { left, right } = this.uris(p);
    const title = titleOf(p);
    const outdated = this.diffTabs(p).filter((t) => t.label !== title);
    const column = outdated[0]?.group.viewColumn;
    if (outdated.length) await this.closeDiff(p);
    await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview: false, ...(column ? { viewColumn: column } : {}) });
    this.track(vscode.window.activeTextEditor);
  }

  /** Opens the next (+1) or previous (-1) proposal of the queue. */
  async step(delta: 1 | -1): Promise<Proposal | undefined> {
    if (this.queue.size === 0) {
      void vscode.window.showInformationMessage('No proposals are waiting for review.');
      return undefined;
    }
    const here = this.activeId ? this.queue.indexOf(this.activeId) : -1;
    const base = here >= 0 ? here : delta > 0 ? this.cursor - 1 : this.cursor + 1;
    const i = (((base + delta) % this.queue.size) + this.queue.size) % this.queue.size;
    const p = this.queue.at(i)!;
    this.cursor = i;
    await this.open(p);
    return p;
  }

  private resolve(id?: string): Proposal | undefined {
    return id ? this.queue.get(id) : (this.active() ?? (this.queue.size === 1 ? this.queue.at(0) : undefined));
  }

  /** Closes the diffs of a decided proposal; its edited side is saved into memory first, so closing asks nothing. */
  private async closeDiff(p: Proposal): Promise<void> {
    const right = vscode.workspace.textDocuments.find((d) => d.uri.toString() === this.proposedUri(p).toString());
    if (right?.isDirty) await right.save();
    const tabs = this.diffTabs(p);
    if (tabs.length) await vscode.window.tabGroups.close(tabs, true);
  }

  /** After a decision: the next proposal of the queue, else the workflow document at the prompt. */
  private async afterDecision(p: Proposal, index: number, reveal?: vscode.Range): Promise<void> {
    await this.closeDiff(p);
    this.content.drop(['proposal', p.id]);
    const next = this.queue.at(Math.min(index, this.queue.size - 1));
    if (next) {
      this.cursor = this.queue.indexOf(next.id);
      await this.open(next);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(p.uri);
    await vscode.window.showTextDocument(doc, { preview: false, selection: reveal });
  }

  /**
   * Accepts a proposal as the user left it in the diff (edited or not): finds the prompt again by
   * id and original text, runs the checks (text left, variables kept, valid write-back) and
   * refuses, keeping the edit, when one fails; applies the write-back as one WorkspaceEdit
   * (document dirty, not saved); records the version (an edit as its own `manual-edit` version).
   */
  async accept(id?: string): Promise<ReviewOutcome> {
    const p = this.resolve(id);
    if (!p) return this.refuse(ReviewCodes.noProposal, id ? `There is no pending proposal ${id}.` : 'Open a proposal to accept it (no proposal diff is active).');
    const text = this.proposedText(p);
    const edited = text !== p.proposed;
    const doc = await vscode.workspace.openTextDocument(p.uri);
    const parsed = this.cache.get(doc);
    const name = vscode.workspace.asRelativePath(p.uri, false);
    if (!parsed.doc) {
      return this.refuse(ReviewCodes.invalidDocument, `${name} is no longer a valid Dify export (${parsed.error?.message ?? 'it cannot be read'}); the proposal for "${p.nodeTitle}" was not applied.`, p);
    }
    const rec = parsed.doc.prompts.find((r) => r.id === p.promptId && r.text === p.original);
    if (!rec) {
      const still = parsed.doc.prompts.some((r) => r.id === p.promptId);
      if (still && !p.stale) {
        p.stale = true;
        this.queue.touch();
      }
      return still
        ? this.refuse(ReviewCodes.stale, `The prompt "${p.nodeTitle}" (${p.promptId}) in ${name} changed after the proposal was made, so it was not applied. Run Optimize Prompt again on the current text.`, p)
        : this.refuse(ReviewCodes.promptGone, `The prompt "${p.nodeTitle}" (${p.promptId}) is no longer in ${name}, so the proposal was not applied.`, p);
    }
    const problem = checkAccept({ current: rec.text, text, edited, nodeTitle: p.nodeTitle, promptId: p.promptId, file: name });
    if (problem) return this.refuse(problem.code, problem.message, p);
    let newText: string;
    try {
      newText = replacePrompts(parsed.doc, [{ id: p.promptId, text }], { verify: true });
    } catch (e) {
      return this.refuse(ReviewCodes.writeFailed, `Could not write the ${edited ? 'edited ' : ''}proposal into ${name}: ${toOptimizerError(e).message}${edited ? ' Your edit is kept in the diff.' : ''}`, p);
    }
    const change = minimalEdit(doc.getText(), newText);
    let range: vscode.Range | undefined;
    if (change) {
      range = new vscode.Range(doc.positionAt(change.start), doc.positionAt(change.end));
      const edit = new vscode.WorkspaceEdit();
      edit.replace(p.uri, range, change.text, { label: `Apply optimized prompt "${p.nodeTitle}"`, needsConfirmation: false });
      const applied = await vscode.workspace.applyEdit(edit);
      if (!applied) return this.refuse(ReviewCodes.editRefused, `VS Code did not apply the edit to ${name} (is the file read-only?).`, p);
    }
    const { recorded, version, note } = await recordAccepted(this.stores, this.log, p, text);
    if (p.onAccept && !edited) {
      try {
        await p.onAccept();
      } catch (e) {
        this.log.warn(`after accepting ${p.id}: ${toOptimizerError(e).message}`);
      }
    } else if (p.onAccept) {
      this.log.info(`accepted ${p.id} as edited by the user: its follow-up for the unedited proposal was skipped`);
    }
    const index = this.queue.remove(p.id);
    this.log.info(`accepted ${p.id}${edited ? ' (edited)' : ''}: ${p.workflow} ${p.promptId} (${p.strategy}${p.version ? `, version ${p.version}` : ''})${recorded ? ` → ${recorded}` : ''}`);
    await this.afterDecision(p, index, range ? new vscode.Range(range.start, range.start) : undefined);
    void vscode.window.showInformationMessage(
      `Applied the ${edited ? 'edited ' : 'optimized '}prompt "${p.nodeTitle}" to ${name} (not saved yet; Undo reverts it).${note}`,
    );
    return { ok: true, proposalId: p.id, recorded, version, edited, message: note.trim() || undefined };
  }

  /** Rejects a proposal: the file is untouched; the version is recorded as rejected. */
  async reject(id?: string): Promise<ReviewOutcome> {
    const p = this.resolve(id);
    if (!p) return this.refuse(ReviewCodes.noProposal, id ? `There is no pending proposal ${id}.` : 'Open a proposal to reject it (no proposal diff is active).');
    let recorded: string | undefined;
    if (p.version && vscode.workspace.isTrusted) {
      try {
        const store = await this.stores.writer(p.root, 'Recording the rejection');
        await store.setStatus(p.workflow, p.promptId, p.version, 'rejected');
        recorded = 'rejected';
        this.stores.invalidate();
      } catch (e) {
        this.log.warn(`could not record the rejection of ${p.promptId}: ${toOptimizerError(e).message}`);
      }
    }
    const index = this.queue.remove(p.id);
    this.log.info(`rejected ${p.id}: ${p.workflow} ${p.promptId} (${p.strategy})`);
    await this.afterDecision(p, index);
    return { ok: true, proposalId: p.id, recorded };
  }

  private refuse(code: ReviewCode, message: string, p?: Proposal): ReviewOutcome {
    this.log.warn(message);
    void vscode.window.showErrorMessage(message);
    return { ok: false, code, proposalId: p?.id, message };
  }

  dispose(): void {
    if (this.touchTimer) clearTimeout(this.touchTimer);
    for (const d of this.disposables) d.dispose();
  }
}
