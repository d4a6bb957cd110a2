import * as vscode from 'vscode';
import type { PromptKind, PromptRole } from '../../core/dsl';
import { ContextKeys } from '../constants';

export { evidenceLabel, fmtScore, proposalTitle } from './labels';

/** A rewrite of one prompt waiting for the user's review. */
export interface Proposal {
  /** 'p1', 'p2', … unique in this window. */
  id: string;
  /** The workflow document the prompt lives in. */
  uri: vscode.Uri;
  root: string;
  workflow: string;
  promptId: string;
  nodeTitle: string;
  kind: PromptKind;
  role: PromptRole;
  /** The prompt's text when the proposal was made (used to find it again). */
  original: string;
  proposed: string;
  /** The winning strategy, or `restore 1.0.0`. */
  strategy: string;
  scoreBefore: number;
  scoreAfter: number;
  confidence: number;
  rationale: string;
  /** The proposal's version in the store when it was recorded (trusted workspaces). */
  version?: string;
  /** For a restore: the version whose text is proposed. */
  restoreOf?: string;
  /** The evidence on the prompt's test cases (LLM proposals with the gate on); reportFile is absolute. */
  evidence?: { verdict: string; winRate: number; lowerBound: number; upperBound?: number; cases: number; reportFile: string };
  /** The cases neither proved it better nor worse ("no evidence"): reviewable, marked, recorded as unproven when accepted. */
  unproven?: boolean;
  /**
   * Runs once the proposal has been accepted and written to the document (never on reject),
   * e.g. to teach the embeddings index only versions the user accepted. Its failure is logged.
   */
  onAccept?: () => Promise<void>;
  /** The user's text of the proposed side, when they edited it in the diff (unset when equal to `proposed`). */
  edited?: string;
  /** The score of `edited`. */
  editedScore?: number;
  /** Set when the prompt in the workflow file no longer holds `original` (Accept is refused). */
  stale?: boolean;
}

/** Summary of a proposal for the extension API and tests. */
export type ProposalSummary = Omit<Proposal, 'uri' | 'onAccept'> & { uri: string };

/** The serializable summary of a proposal. */
export function summarize(p: Proposal): ProposalSummary {
  const { uri, onAccept: _onAccept, ...rest } = p;
  return { ...rest, uri: uri.toString() };
}

/** The pending proposals, in review order (the queue). */
export class ProposalQueue implements vscode.Disposable {
  private readonly items: Proposal[] = [];
  private counter = 0;
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;

  nextId(): string {
    return `p${++this.counter}`;
  }

  add(ps: Proposal[]): void {
    for (const p of ps) {
      // A new proposal for the same prompt replaces the older pending one.
      const old = this.items.findIndex((q) => q.uri.toString() === p.uri.toString() && q.promptId === p.promptId);
      if (old >= 0) this.items.splice(old, 1);
      this.items.push(p);
    }
    this.changed();
  }

  remove(id: string): number {
    const i = this.items.findIndex((p) => p.id === id);
    if (i >= 0) {
      this.items.splice(i, 1);
      this.changed();
    }
    return i;
  }

  get(id: string): Proposal | undefined {
    return this.items.find((p) => p.id === id);
  }

  indexOf(id: string): number {
    return this.items.findIndex((p) => p.id === id);
  }

  at(i: number): Proposal | undefined {
    return this.items[i];
  }

  forPrompt(uri: vscode.Uri, promptId: string): Proposal | undefined {
    return this.items.find((p) => p.uri.toString() === uri.toString() && p.promptId === promptId);
  }

  all(): readonly Proposal[] {
    return this.items;
  }

  /** Tells listeners (CodeLens, views) that a proposal's state changed (edited, stale). */
  touch(): void {
    this.changed();
  }

  get size(): number {
    return this.items.length;
  }

  private changed(): void {
    void vscode.commands.executeCommand('setContext', ContextKeys.hasPendingProposals, this.items.length > 0);
    this.emitter.fire();
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
