/** Datasets and evaluation results shared by `evaluation/` and `optimizers/` (examples and demos are the runtime's: `runtime/types`). */

export type { SplitName, ExampleSource, Example, Demo, DemoMode } from '../runtime/types';
import type { Example } from '../runtime/types';

export interface Dataset {
  /** The file it was read from (as given). */
  file: string;
  format: 'jsonl' | 'yaml' | 'csv';
  examples: Example[];
}

export interface DatasetSplit {
  train: Example[];
  validation: Example[];
  seed: number;
}

/** One metric's verdict on one output. */
export interface MetricScore {
  metric: string;
  /** 0..1 */
  score: number;
  weight: number;
  reason?: string;
  /** What went right or wrong, in words a reflection step can act on (see Feedback). */
  feedback?: string;
}

/**
 * A score with textual feedback on one example: what reflective optimizers (GEPA) learn from.
 * Every metric gives one: the built-in metrics say what was expected and what came back (and
 * why it failed, when they know); a judge (llm_judge, or a pairwise judge) gives its reason.
 * A metric returns it as `feedback` from `Metric.score`; `scoreOutput` fills in the default.
 */
export interface Feedback {
  exampleId: string;
  /** 0..1 */
  score: number;
  text: string;
}

/** The result of running one candidate on one example. */
export interface ExampleResult {
  exampleId: string;
  /** Weighted mean of `metrics`, 0..1; 0 when the call failed. */
  score: number;
  output: string;
  metrics: MetricScore[];
  /** Textual feedback on the answer (every metric's, one line each); absent in results logged before feedback existed. */
  feedback?: string;
  /** Set when the task call or a metric failed (code and message). */
  error?: { code: string; message: string };
  latencyMs: number;
  /** true when taken from the run log of an earlier, interrupted run (no call made). */
  reused?: boolean;
}
