/**
 * Why a candidate was not kept, as a stable cause and in plain words, so the CLI, `--json`,
 * VS Code and the run log can all name it per prompt instead of a generic "nothing improved".
 */
import type { OptimizerError } from '../errors';

export type RejectCause =
  | 'variables-changed'
  | 'unreadable-answer'
  | 'truncated'
  | 'empty'
  | 'no-change'
  | 'below-confidence'
  | 'worse-score'
  | 'evidence-worse'
  | 'evidence-none'
  | 'evidence-failed'
  | 'budget';

/** Causes that mean the model's answer itself could not be used (not a judgement of its quality). */
export const UNUSABLE_CAUSES: ReadonlySet<RejectCause> = new Set(['variables-changed', 'unreadable-answer', 'truncated', 'empty']);

const PLAIN: Record<RejectCause, string> = {
  'variables-changed': 'the rewrite changed a variable',
  'unreadable-answer': 'the answer could not be read',
  truncated: 'the answer was cut off',
  empty: 'the rewrite was empty',
  'no-change': 'nothing changed',
  'below-confidence': 'confidence too low',
  'worse-score': 'the score did not improve',
  'evidence-worse': 'worse on the test cases',
  'evidence-none': 'no evidence it is better on the test cases',
  'evidence-failed': 'the test cases could not be run',
  budget: 'the budget ran out',
};

export function plainCause(c: RejectCause): string {
  return PLAIN[c];
}

/** The cause of a refused candidate from the error the strategy threw. */
export function causeOfError(err: OptimizerError): RejectCause {
  const reason = (err as { rejection?: { reason?: string } }).rejection?.reason;
  if (reason === 'variables-changed') return 'variables-changed';
  if (reason === 'truncated' || err.code === 'LLM_TRUNCATED') return 'truncated';
  if (reason === 'empty') return 'empty';
  if (reason === 'unparseable' || err.code === 'LLM_BAD_RESPONSE') return 'unreadable-answer';
  if (err.code === 'LLM_BUDGET_EXCEEDED') return 'budget';
  return 'unreadable-answer';
}

export interface CauseSummary {
  strategy: string;
  cause?: RejectCause;
  reason?: string;
  kept: boolean;
}

/**
 * "no candidate was kept — llm_guided: the rewrite changed a variable (dropped {{#sys.query#}});
 * hybrid: the answer could not be read (…)": per strategy, the evidence's refusal, else its last one.
 */
export function describeRejections(candidates: readonly CauseSummary[]): string {
  // Per strategy: the evidence's refusal when there is one (it decided), else the last refusal.
  const last = new Map<string, CauseSummary>();
  for (const c of candidates) {
    if (c.kept) continue;
    const prev = last.get(c.strategy);
    if (!prev || !prev.cause?.startsWith('evidence-') || c.cause?.startsWith('evidence-')) last.set(c.strategy, c);
  }
  if (last.size === 0) return 'no candidate improved the prompt';
  const parts = [...last.values()].map((c) => `${c.strategy}: ${c.cause ? plainCause(c.cause) : 'refused'}${c.reason ? ` (${c.reason.replace(/^Candidate from \S+ rejected: /, '').replace(/\.$/, '')})` : ''}`);
  return `no candidate was kept — ${parts.join('; ')}`;
}
