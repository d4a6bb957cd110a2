import * as vscode from 'vscode';
import { replacePrompts } from '../../core/dsl';
import { toOptimizerError } from '../../core/errors';
import { ContextKeys } from '../constants';
import type { DocumentCache } from '../services/documentCache';
import type { Logger } from '../services/logger';
import { RestrictedModeError, type StoreManager } from '../services/stores';
import { PromptContentProvider } from './promptContentProvider';
import { proposalTitle, type Proposal, type ProposalQueue } from './proposals';
import { minimalEdit } from './textEdit';

/** Outcome of accept / reject, returned by the commands (tests read it). */
export interface ReviewOutcome {
  ok: boolean;
  proposalId?: string;
  /** Why nothing happened, in plain words (also shown to the user). */
  message?: string;
  /** Store status written ('accepted' / 'rejected'), when the workspace records versions. */
  recorded?: string;
}

/**
 * The review of proposals: a diff editor per proposal (decoded texts, titled with node, kind,
 * strategy and score change), accept = one undoable WorkspaceEdit with the format-preserving
 * write-back + the version marked accepted, reject = file untouched + version marked rejected,
 * and a queue walked with next / previous.
 */
export class ReviewController implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Proposal shown by the active editor, if any. */
  private activeId: string | undefined;
  /** Last position in the queue (for next / previous when no proposal is active). */
  private cursor = 0;

  constructor(
    private readonly queue: ProposalQueue,
    private readonly content: PromptContentProvider,
    private readonly cache: DocumentCache,
    private readonly stores: StoreManager,
    private readonly log: Logger,
  ) {
    this.disposables.push(vscode.window.onDidChangeActiveTextEditor((e) => this.track(e)));
    this.track(vscode.window.activeTextEditor);
  }

  private track(editor: vscode.TextEditor | undefined): void {
    const ref = editor ? PromptContentProvider.parse(editor.document.uri) : undefined;
    const id = ref?.kind === 'proposal' && this.queue.get(ref.id) ? ref.id : undefined;
    this.activeId = id;
    if (id) this.cursor = Math.max(0, this.queue.indexOf(id));
    void vscode.commands.executeCommand('setContext', ContextKeys.proposalActive, !!id);
  }

  /** The proposal the active diff shows. */
  active(): Proposal | undefined {
    return this.activeId ? this.queue.get(this.activeId) : undefined;
  }

  private uris(p: Proposal): { left: vscode.Uri; right: vscode.Uri } {
    const left = this.content.put(['proposal', p.id, 'original'], `${p.nodeTitle} (current)`, p.original);
    const right = this.content.put(['proposal', p.id, 'proposed'], `${p.nodeTitle} (proposed)`, p.proposed);
    return { left, right };
  }

  /** Opens the diff of a proposal. */
  async open(p: Proposal): Promise<void> {
    const { left, right } = this.uris(p);
    await vscode.commands.executeCommand('vscode.diff', left, right, proposalTitle(p), { preview: false });
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

  private async closeDiff(p: Proposal): Promise<void> {
    const tabs: vscode.Tab[] = [];
    for (const group of vscode.window.tabGroups.all) {
      for (const tab of group.tabs) {
        const input = tab.input;
        if (input instanceof vscode.TabInputTextDiff) {
          const ref = PromptContentProvider.parse(input.modified);
          if (ref?.kind === 'proposal' && ref.id === p.id) tabs.push(tab);
        }
      }
    }
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
   * Accepts a proposal: finds the prompt again by id and original text (refuses when it cannot),
   * applies the write-back as one WorkspaceEdit (document dirty, not saved), records the version
   * as accepted (a restore is recorded as a rollback).
   */
  async accept(id?: string): Promise<ReviewOutcome> {
    const p = this.resolve(id);
    if (!p) return this.refuse(id ? `There is no pending proposal ${id}.` : 'Open a proposal to accept it (no proposal diff is active).');
    const doc = await vscode.workspace.openTextDocument(p.uri);
    const parsed = this.cache.get(doc);
    const name = vscode.workspace.asRelativePath(p.uri, false);
    if (!parsed.doc) {
      return this.refuse(`${name} is no longer a valid Dify export (${parsed.error?.message ?? 'it cannot be read'}); the proposal for "${p.nodeTitle}" was not applied.`, p);
    }
    const rec = parsed.doc.prompts.find((r) => r.id === p.promptId && r.text === p.original);
    if (!rec) {
      const still = parsed.doc.prompts.some((r) => r.id === p.promptId);
      return this.refuse(
        still
          ? `The prompt "${p.nodeTitle}" (${p.promptId}) in ${name} changed after the proposal was made, so it was not applied. Run Optimize Prompt again on the current text.`
          : `The prompt "${p.nodeTitle}" (${p.promptId}) is no longer in ${name}, so the proposal was not applied.`,
        p,
      );
    }
    let newText: string;
    try {
      newText = replacePrompts(parsed.doc, [{ id: p.promptId, text: p.proposed }], { verify: true });
    } catch (e) {
      return this.refuse(`Could not write the proposal into ${name}: ${toOptimizerError(e).message}`, p);
    }
    const before = doc.getText();
    const change = minimalEdit(before, newText);
    let range: vscode.Range | undefined;
    if (change) {
      range = new vscode.Range(doc.positionAt(change.start), doc.positionAt(change.end));
      const edit = new vscode.WorkspaceEdit();
      edit.replace(p.uri, range, change.text, { label: `Apply optimized prompt "${p.nodeTitle}"`, needsConfirmation: false });
      const applied = await vscode.workspace.applyEdit(edit);
      if (!applied) return this.refuse(`VS Code did not apply the edit to ${name} (is the file read-only?).`, p);
    }
    let recorded: string | undefined;
    let note = '';
    try {
      if (vscode.workspace.isTrusted) {
        const store = await this.stores.writer(p.root, 'Recording the accepted version');
        if (p.restoreOf) {
          const v = await store.rollback(p.workflow, p.promptId, p.restoreOf);
          recorded = `accepted ${v.version} (restored ${p.restoreOf})`;
        } else if (p.version) {
          await store.setStatus(p.workflow, p.promptId, p.version, 'accepted');
          recorded = 'accepted';
        }
        this.stores.invalidate();
      } else {
        note = ' Restricted Mode: the version was not recorded in .optimizer/.';
      }
    } catch (e) {
      note = ` The edit was applied, but the version could not be recorded: ${e instanceof RestrictedModeError ? e.message : toOptimizerError(e).message}`;
      this.log.warn(note.trim());
    }
    if (p.onAccept) {
      try {
        await p.onAccept();
      } catch (e) {
        this.log.warn(`after accepting ${p.id}: ${toOptimizerError(e).message}`);
      }
    }
    const index = this.queue.remove(p.id);
    this.log.info(`accepted ${p.id}: ${p.workflow} ${p.promptId} (${p.strategy}${p.version ? `, version ${p.version}` : ''})${recorded ? ` → ${recorded}` : ''}`);
    const endPos = change ? doc.positionAt(change.start + change.text.length) : undefined;
    await this.afterDecision(p, index, range && endPos ? new vscode.Range(range.start, range.start) : undefined);
    void vscode.window.showInformationMessage(`Applied the optimized prompt "${p.nodeTitle}" to ${name} (not saved yet; Undo reverts it).${note}`);
    return { ok: true, proposalId: p.id, recorded, message: note.trim() || undefined };
  }

  /** Rejects a proposal: the file is untouched; the version is recorded as rejected. */
  async reject(id?: string): Promise<ReviewOutcome> {
    const p = this.resolve(id);
    if (!p) return this.refuse(id ? `There is no pending proposal ${id}.` : 'Open a proposal to reject it (no proposal diff is active).');
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

  private refuse(message: string, p?: Proposal): ReviewOutcome {
    this.log.warn(message);
    void vscode.window.showErrorMessage(message);
    return { ok: false, proposalId: p?.id, message };
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}
