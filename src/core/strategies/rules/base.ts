/**
 * Common runner of the rule strategies.
 *
 * 1. The strategy's transform is applied repeatedly until the text stops changing (at most
 *    MAX_ROUNDS), so applying a strategy twice equals applying it once.
 * 2. Guards: the variables (every kind, as a multiset) must be unchanged and a non-empty prompt
 *    must stay non-empty; otherwise the input is returned unchanged (confidence 0).
 * 3. Score gate: the result is analysed; if its overall score is lower than the input's, the
 *    input is returned unchanged with confidence 0 and a rationale saying so.
 *
 * ## Confidence (0..1)
 * Each kind of edit has a base confidence reflecting how safe it is for meaning:
 * whitespace 0.95, duplicate lines 0.9, filler phrases 0.85, vague wording 0.75, sentence splits
 * 0.7, list/line breaks 0.7, section headers 0.65. The result's confidence is the lowest base among
 * the edits applied, minus 0.5 × the share of the text changed beyond 30% (large rewrites are
 * less certain), bounded to 0.05..1. No change at all → 0 (nothing to propose).
 */
import { diffWordsWithSpace } from 'diff';
import { analyzePrompt } from '../../analysis/analyze';
import type { Analysis } from '../../analysis/types';
import { sameVariables } from '../../dsl/variables';
import { CancelledError } from '../../errors';
import type { RuleStrategyName, StrategyInput, StrategyOutput } from '../types';
import { chain, newResult, type EditKind, type EditResult } from './transforms';

export const MAX_ROUNDS = 6;

export const EDIT_CONFIDENCE: Record<EditKind, number> = {
  whitespace: 0.95,
  duplicate: 0.9,
  filler: 0.85,
  vague: 0.75,
  split: 0.7,
  list: 0.7,
  header: 0.65,
};

export type Transform = (text: string, analysis: Analysis) => EditResult;

/** Applies `t` until the text is stable. */
export function toFixpoint(text: string, t: (s: string) => EditResult): EditResult {
  const acc = newResult(text);
  for (let i = 0; i < MAX_ROUNDS; i++) {
    const step = t(acc.text);
    if (step.text === acc.text) break;
    chain(acc, step);
  }
  return acc;
}

/** Share of the characters of `before` that the edit touched (0..1+). */
export function changedShare(before: string, after: string): number {
  if (before.length === 0) return after.length > 0 ? 1 : 0;
  let changed = 0;
  for (const part of diffWordsWithSpace(before, after)) if (part.added || part.removed) changed += part.value.length;
  return changed / before.length / 2;
}

export function confidenceOf(result: EditResult, before: string): number {
  if (result.text === before || result.edits.size === 0) return 0;
  let base = 1;
  for (const e of result.edits.values()) base = Math.min(base, EDIT_CONFIDENCE[e.kind]);
  const share = changedShare(before, result.text);
  const c = base - 0.5 * Math.max(0, share - 0.3);
  return Math.round(Math.min(1, Math.max(0.05, c)) * 100) / 100;
}

export function describeEdits(result: EditResult): string[] {
  return [...result.edits.entries()].map(([label, e]) => (e.count > 1 ? `${label} ×${e.count}` : label));
}

function unchanged(input: StrategyInput, rationale: string): StrategyOutput {
  return { text: input.text, rationale, confidence: 0, changes: [] };
}

/** Guards, score gate, confidence and rationale around an edit already computed. */
export function finish(name: RuleStrategyName, input: StrategyInput, result: EditResult, focus: string): StrategyOutput {
  const before = input.text;
  if (result.text === before) return unchanged(input, `${focus}: nothing to change.`);
  if (before.trim() !== '' && result.text.trim() === '')
    return unchanged(input, `${focus}: the edit would have emptied the prompt, so it was discarded.`);
  if (!sameVariables(before, result.text))
    return unchanged(input, `${focus}: the edit would have changed a variable, so it was discarded.`);
  // Recomputed rather than trusted: the gate must compare like with like.
  const baseline: Analysis = analyzePrompt({ text: before, kind: input.kind, role: input.role });
  const after = analyzePrompt({ text: result.text, kind: input.kind, role: input.role });
  if (after.overall < baseline.overall)
    return unchanged(
      input,
      `${focus}: the edited prompt scored lower (${after.overall} < ${baseline.overall}), so it was discarded and the prompt left unchanged.`,
    );
  const changes = describeEdits(result);
  return {
    text: result.text,
    rationale: `${focus} (${name}): ${changes.join('; ')}. Score ${baseline.overall} → ${after.overall}.`,
    confidence: confidenceOf(result, before),
    changes,
  };
}

export function checkSignal(input: StrategyInput): void {
  if (input.signal?.aborted) throw new CancelledError();
}
