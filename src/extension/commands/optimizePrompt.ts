import * as vscode from 'vscode';
import type { StrategyName } from '../../core/strategies/types';
import { Commands } from '../constants';
import { summarize } from '../review/proposals';
import type { RunSummary } from '../services/optimizer';
import type { CommandDef, Services } from '../services/types';
import { targetDocument, targetPrompt } from './target';

/** After a run: queue its proposals, open the first, tell the user what happened. */
export async function presentRun(s: Services, summary: RunSummary, what: string): Promise<void> {
  if (summary.cancelled) return;
  if (summary.proposals.length > 0) {
    s.queue.add(summary.proposals);
    await s.review.open(summary.proposals[0]);
    const more = summary.proposals.length > 1 ? ` ${summary.proposals.length} proposals: review them with Next/Previous Proposal.` : '';
    const notes = summary.notes.length ? ` ${summary.notes.join(' ')}` : '';
    const unproven = summary.proposals.filter((p) => p.unproven).length;
    const mark = unproven ? ` ${unproven === summary.proposals.length ? 'Its test cases did not show it better or worse: it is marked unproven (Evidence opens the report).' : `${unproven} of them are marked unproven: their test cases did not decide.`}` : '';
    void vscode.window.showInformationMessage(`Review the proposal (its right side is editable) and Accept or Reject it.${mark}${more}${notes}`);
  } else if (summary.failures.length === 0) {
    const reasons = [...new Set(Object.values(summary.skipped))];
    void vscode.window.showInformationMessage(`No better version found for ${what}${reasons.length ? ` (${reasons.slice(0, 3).join('; ')})` : ''}.${summary.notes.length ? ` ${summary.notes.join(' ')}` : ''}`);
  }
  // Refused candidates are not queued, but their reports are one click away (and named in the log).
  if (summary.refused.length) {
    const n = summary.refused.length;
    const first = summary.refused[0]!;
    void vscode.window
      .showInformationMessage(`${n} candidate${n === 1 ? ' was' : 's were'} refused by ${n === 1 ? 'its' : 'their'} test cases (${first.nodeTitle}: ${first.strategy} ${first.verdict}, win rate ${first.winRate.toFixed(2)} on ${first.cases} cases).`, n === 1 ? 'Show Report' : 'Show Reports')
      .then((pick) => {
        if (pick) void vscode.commands.executeCommand(Commands.showEvidenceReport, n === 1 ? first.reportFile : summary.refused.map((r) => ({ reportFile: r.reportFile, label: `${r.nodeTitle} · ${r.strategy} · ${r.verdict}` })));
      });
  }
}

/** The `estimateAnswer` option of the optimize commands, when valid. */
export function estimateAnswerOf(opts: unknown): 'Run' | 'Cancel' | undefined {
  const a = (opts as { estimateAnswer?: unknown } | undefined)?.estimateAnswer;
  return a === 'Run' || a === 'Cancel' ? a : undefined;
}

/** Serializable form of a run for callers (tests). */
export function describeRun(summary: RunSummary) {
  return { ...summary, proposals: summary.proposals.map(summarize) };
}

/**
 * Optimize Prompt: the prompt given (uri, promptId), else the one under the cursor, else a
 * quick pick. Forced (runs even when the prompt already scores well). Options: `{strategies,
 * estimateAnswer}` (estimateAnswer: 'Run' | 'Cancel' answers the estimate's question without the modal).
 */
export const optimizePrompt: CommandDef = {
  id: Commands.optimizePrompt,
  async run(s: Services, uri?: unknown, promptId?: unknown, opts?: unknown) {
    const doc = await targetDocument(s, uri);
    if (!doc) return undefined;
    const rec = await targetPrompt(s, doc, promptId);
    if (!rec) return undefined;
    const o = opts as { strategies?: StrategyName[]; estimateAnswer?: 'Run' | 'Cancel' } | undefined;
    const summary = await s.runner.run({ document: doc, promptIds: [rec.id], force: true, strategies: o?.strategies, estimateAnswer: estimateAnswerOf(o) });
    await presentRun(s, summary, `"${rec.nodeTitle}"`);
    return describeRun(summary);
  },
};
