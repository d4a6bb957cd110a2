/**
 * What optimizing a prompt produces: the result and run types the engine's callers see, the
 * chain a strategy builds on the way, and the assembly of a result from the chosen chain. It
 * sits below the engine and its helpers (choice, unproven), which all import from here.
 */
import { diffLines } from 'diff';
import type { Analysis } from '../analysis/types';
import type { PromptRecord } from '../dsl/types';
import type { OptimizerError } from '../errors';
import type { EvidenceRecord } from '../evidence/gather';
import type { StrategyCost, StrategyName } from '../strategies/types';
import type { RejectCause } from './reasons';

/** The scores kept with a result (a slice of Analysis). */
export interface Scores {
  overall: number;
  clarity: number;
  efficiency: number;
  structure: number;
}

export interface CandidateSummary {
  strategy: StrategyName;
  iteration: number;
  score?: number;
  confidence?: number;
  kept: boolean;
  /** Why a candidate was not kept, in plain words. */
  reason?: string;
  /** Why a candidate was not kept, as a stable code. */
  cause?: RejectCause;
  /** The evidence gathered on this candidate's test cases (LLM strategies with the gate on). */
  evidence?: EvidenceRecord;
}

export interface OptimizationResult {
  promptId: string;
  nodeId: string;
  nodeTitle: string;
  kind: PromptRecord['kind'];
  role: PromptRecord['role'];
  original: string;
  /** Equal to `original` when nothing was kept. */
  optimized: string;
  /** The winning strategy, or null when no candidate was kept. */
  strategy: StrategyName | null;
  iterations: number;
  before: Scores;
  after: Scores;
  /** after.overall - before.overall, cumulative over iterations. */
  improvement: number;
  /** Lowest step confidence along the winning chain (0 when nothing kept). */
  confidence: number;
  /** true when a candidate was kept: improved, confident and variable-safe. */
  accepted: boolean;
  /** When not accepted: why (already good, empty, and per strategy the cause of each refusal). */
  skippedReason?: string;
  /** The causes of the refusals (one per refused candidate, in order), for machines. */
  causes: RejectCause[];
  /** The evidence that let the kept LLM proposal through (verdict, win rate, cases file and hash). */
  evidence?: EvidenceRecord;
  /** Set when the kept proposal was decided without evidence (the cases could not be run). */
  evidenceNote?: string;
  /** Nothing kept, but a candidate's cases were inconclusive: it can still be reviewed, marked unproven. */
  unproven?: UnprovenProposal;
  /** Candidates the cases refused (worse, unreliable judge), each with its report. */
  refused?: RefusedWithEvidence[];
  lineChanges: { added: number; removed: number };
  rationale: string;
  changes: string[];
  cost: StrategyCost;
  candidates: CandidateSummary[];
  analysisBefore: Analysis;
  analysisAfter: Analysis;
}

export interface OptimizationFailure {
  promptId: string;
  nodeTitle: string;
  error: OptimizerError;
}

export interface RunOutcome {
  runId: string;
  results: OptimizationResult[];
  failures: OptimizationFailure[];
  cancelled: boolean;
  cost: StrategyCost;
}

/** A proposal the cases neither proved better nor worse. */
export interface UnprovenProposal {
  strategy: StrategyName;
  text: string;
  after: Scores;
  improvement: number;
  confidence: number;
  iterations: number;
  rationale: string;
  changes: string[];
  evidence: EvidenceRecord;
}

/** A candidate the cases refused, with its report (worse, or a judge found unreliable). */
export interface RefusedWithEvidence {
  strategy: StrategyName;
  verdict: EvidenceRecord['verdict'];
  evidence: EvidenceRecord;
}

/** A strategy's kept refinements: the best text so far and how it got there. */
export interface Chain {
  strategy: StrategyName;
  text: string;
  analysis: Analysis;
  confidence: number;
  iterations: number;
  rationale: string[];
  changes: string[];
}

export const ZERO_COST: StrategyCost = { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };

export function addCost(a: StrategyCost, b?: StrategyCost): StrategyCost {
  if (!b) return a;
  return {
    calls: a.calls + b.calls,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    costUsd: a.costUsd + b.costUsd,
  };
}

export function scoresOf(a: Analysis): Scores {
  return { overall: a.overall, clarity: a.clarity, efficiency: a.efficiency, structure: a.structure };
}

/** A score or a gain to one decimal, as results show them. */
export function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The result of a prompt from the chosen chain (none: the original, unchanged, with `skippedReason`). */
export function assembleResult(
  prompt: PromptRecord,
  baseline: Analysis,
  chain: Chain | undefined,
  candidates: CandidateSummary[],
  cost: StrategyCost,
  skippedReason?: string,
): OptimizationResult {
  const optimized = chain?.text ?? prompt.text;
  const after = chain?.analysis ?? baseline;
  let added = 0;
  let removed = 0;
  if (chain) {
    for (const part of diffLines(prompt.text, optimized)) {
      if (part.added) added += part.count ?? 0;
      else if (part.removed) removed += part.count ?? 0;
    }
  }
  return {
    promptId: prompt.id,
    nodeId: prompt.nodeId,
    nodeTitle: prompt.nodeTitle,
    kind: prompt.kind,
    role: prompt.role,
    original: prompt.text,
    optimized,
    strategy: chain?.strategy ?? null,
    iterations: chain?.iterations ?? 0,
    before: scoresOf(baseline),
    after: scoresOf(after),
    improvement: round(after.overall - baseline.overall),
    confidence: chain?.confidence ?? 0,
    accepted: !!chain,
    skippedReason,
    lineChanges: { added, removed },
    rationale: chain ? chain.rationale.join(' Then: ') : (skippedReason ?? ''),
    changes: chain?.changes ?? [],
    cost,
    candidates,
    causes: candidates.filter((c) => !c.kept && c.cause).map((c) => c.cause!),
    analysisBefore: baseline,
    analysisAfter: after,
  };
}
