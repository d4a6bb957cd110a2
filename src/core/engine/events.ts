import type { PromptKind } from '../dsl/types';
import type { StrategyCost, StrategyName } from '../strategies/types';

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
      cost: StrategyCost;
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
