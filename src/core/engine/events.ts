import type { PromptKind } from '../dsl/types';
import type { StrategyCost, StrategyName } from '../strategies/types';
import type { Verdict } from '../evidence/stats';

interface Base {
  runId: string;
  promptId: string;
  /** ms since the epoch */
  time: number;
}

export interface ScoresSnapshot {
  overall: number;
  clarity: number;
  efficiency: number;
  structure: number;
}

export type EngineEvent =
  | (Base & {
      type: 'optimization_start';
      nodeTitle: string;
      kind: PromptKind;
      strategies: StrategyName[];
      scores: ScoresSnapshot;
    })
  | (Base & {
      type: 'candidate_generated';
      strategy: StrategyName | string;
      iteration: number;
      characters: number;
      confidence?: number;
      cost?: StrategyCost;
    })
  | (Base & {
      type: 'candidate_evaluated';
      strategy: StrategyName | string;
      iteration: number;
      score?: number;
      confidence?: number;
      kept: boolean;
      reason?: string;
      /** Dataset optimizers: scores on the splits. */
      trainScore?: number;
      validationScore?: number;
    })
  | (Base & {
      type: 'optimization_complete';
      durationMs: number;
      strategy: StrategyName | string | null;
      accepted: boolean;
      improvement: number;
      confidence: number;
      iterations: number;
      scoreBefore: number;
      scoreAfter: number;
      skippedReason?: string;
      /** Causes of the refused candidates (engine/reasons RejectCause). */
      causes?: string[];
      /** The evidence of the kept LLM proposal. */
      evidence?: { verdict: string; winRate: number; lowerBound: number; casesFile: string };
      cost: StrategyCost;
    })
  | (Base & {
      /** The evidence gate's decision on an LLM strategy's proposal (see engine/gate). */
      type: 'candidate_evidence';
      strategy: StrategyName | string;
      kept: boolean;
      verdict?: Verdict;
      winRate?: number;
      lowerBound?: number;
      cases?: number;
      casesFile?: string;
      reason?: string;
      cause?: string;
    })
  | (Base & { type: 'optimization_error'; code: string; message: string });

export type EngineEventType = EngineEvent['type'];

export type EngineEventSink = (e: EngineEvent) => void;

/** Fans one event out to several sinks. */
export function fanOut(...sinks: (EngineEventSink | undefined)[]): EngineEventSink {
  return (e) => {
    for (const s of sinks) s?.(e);
  };
}
