/**
 * The words a proposal is shown with: the diff editor's title and the CodeLens above the prompt
 * in the workflow file. One small function each, so a further field (e.g. a verdict or a win
 * rate) is added in one place. No vscode import: unit-tested in plain Node.
 */

import { unprovenLabel } from '../../core/engine/unproven';

/** What the labels read of a proposal. */
export interface ProposalLabelFields {
  nodeTitle: string;
  kind: string;
  role?: string | null;
  strategy: string;
  scoreBefore: number;
  scoreAfter: number;
  /** The score of the user's edited text, when the proposal was edited in the diff. */
  editedScore?: number;
  /** The prompt in the workflow file no longer holds the text the proposal was made from. */
  stale?: boolean;
  /** The evidence on the prompt's test cases (LLM proposals with the gate on). */
  evidence?: { verdict: string; winRate: number; lowerBound?: number; upperBound?: number; cases: number };
  /** The cases neither proved it better nor worse. */
  unproven?: boolean;
}

/** Rounds a score for display (one decimal, no trailing .0). */
export function fmtScore(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** "72 → 86", or "72 → 80 (edited)" once the user edited the proposal. */
export function scoreChange(p: ProposalLabelFields): string {
  return p.editedScore === undefined
    ? `${fmtScore(p.scoreBefore)} → ${fmtScore(p.scoreAfter)}`
    : `${fmtScore(p.scoreBefore)} → ${fmtScore(p.editedScore)} (edited)`;
}

/**
 * " · better, win rate 0.92 on 12 cases" for a proposal with evidence, " · unproven: 0.62 (90%
 * interval 0.41–0.80) on 24 cases" for one its cases did not decide, else "".
 */
export function evidenceLabel(p: Pick<ProposalLabelFields, 'evidence' | 'unproven'>): string {
  const e = p.evidence;
  if (!e) return '';
  if (p.unproven) return ` · ${unprovenLabel({ winRate: e.winRate, lowerBound: e.lowerBound ?? 0, upperBound: e.upperBound, cases: e.cases })}`;
  return ` · ${e.verdict}, win rate ${e.winRate.toFixed(2)} on ${e.cases} cases`;
}

/** Diff editor title: "<node title> · <kind> (role) · <strategy> · 72 → 86" (" · stale" when the prompt changed). */
export function proposalTitle(p: ProposalLabelFields): string {
  return `${p.nodeTitle} · ${p.kind}${p.role ? ` (${p.role})` : ''} · ${p.strategy} · ${scoreChange(p)}${evidenceLabel(p)}${p.stale ? ' · stale' : ''}`;
}

/** First CodeLens of a pending proposal: "Proposal 72 → 86" (followed by the Review · Accept · Reject lenses). */
export function pendingLensTitle(p: ProposalLabelFields): string {
  return `Proposal ${scoreChange(p)}${evidenceLabel(p)}${p.stale ? ' · stale: the prompt changed' : ''}`;
}

/** Tooltip of that CodeLens. */
export function pendingLensTooltip(p: ProposalLabelFields): string {
  const what = `${p.strategy} proposal for "${p.nodeTitle}"`;
  if (p.unproven && !p.stale) return `The ${what} is waiting for review. Its test cases did not show it better or worse: accepting it records the version as unproven. Evidence opens the report.`;
  return p.stale
    ? `The ${what} was made from an older text of this prompt; it can no longer be accepted. Review it or reject it, then optimize again.`
    : `The ${what} is waiting for review: Review opens the diff (edit the right side before accepting), Accept applies it to this file (not saved), Reject dismisses it.`;
}
