import type { Analysis } from '../analysis/types';
import type { PromptKind, PromptRole } from '../dsl/types';

export type RuleStrategyName = 'clarity_focus' | 'efficiency_focus' | 'structure_focus' | 'auto';
export type LlmStrategyName = 'llm_guided' | 'llm_clarity' | 'llm_efficiency' | 'hybrid';
export type StrategyName = RuleStrategyName | LlmStrategyName;

export interface StrategyInput {
  /** The text to improve (the original at iteration 1, the best so far after). */
  text: string;
  /** The analysis of `text`. */
  analysis: Analysis;
  kind?: PromptKind;
  role?: PromptRole;
  /** An extractor parameter's enum values (PromptRecord.options): context, never to be rewritten. */
  options?: readonly string[];
  /** 1-based refinement step. */
  iteration: number;
  signal?: AbortSignal;
}

export interface StrategyCost {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export interface StrategyOutput {
  text: string;
  /** Plain-words summary of what changed and why. */
  rationale: string;
  /** 0..1: rule strategies derive it from what they changed; LLM ones report the model's own, bounded. */
  confidence: number;
  /** Short list of the edits applied (e.g. 'replaced vague term "some" ×2'). */
  changes: string[];
  cost?: StrategyCost;
}

export interface Strategy {
  readonly name: StrategyName;
  readonly type: 'rule' | 'llm';
  apply(input: StrategyInput): Promise<StrategyOutput>;
}

/** Thrown (as LlmError code LLM_REJECTED_CANDIDATE) or reported when a candidate is refused. */
export interface CandidateRejection {
  reason: 'variables-changed' | 'empty' | 'truncated' | 'unparseable' | 'scored-lower' | 'low-confidence';
  detail: string;
}
