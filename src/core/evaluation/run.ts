import { CancelledError, DatasetError, isAbortError, isOptimizerError } from '../errors';
import type { LlmClient } from '../llm/types';
import { scoreOutput, type Metric } from './metrics';
import type { PromptTarget } from '../runtime/nodeRequest';
import { modelNodeRunner, type NodeRunner } from '../runtime/runner';
import type { Demo, DemoMode, Example, ExampleResult } from './types';

/**
 * What to run: a prompt (optionally with replaced text and demos) and how to call the model.
 * With the node's `spec`, the request is the node's as Dify builds it (see nodeRequest.ts).
 */
export interface RunTarget extends PromptTarget {
  text?: string;
  demos?: Demo[];
  demoMode?: DemoMode;
  /** Model for the task call: default the client's configured model. */
  model?: string;
  temperature?: number;
  maxTokens?: number;
}

export interface RunContext {
  client: LlmClient;
  /** Runs the target on the example (default: the node's request on a model through `client`); metrics and judges use `client`. */
  runner?: NodeRunner;
  metrics: Metric[];
  signal?: AbortSignal;
  judgeModel?: string;
  /** The task answer, when an earlier attempt already received it: no task call is made, only scoring. */
  knownOutput?: string;
  /** Called with the task answer as soon as it arrives, before it is scored (so a caller can keep it if scoring is cut short). */
  onOutput?: (output: string) => void;
}

/**
 * LLM errors no other example can escape (no key or model, the user's refusal, a quota, a
 * backend that cannot do what is asked): the run stops with the message.
 */
const FATAL_LLM_CODES: ReadonlySet<string> = new Set([
  'LLM_BUDGET_EXCEEDED',
  'LLM_AUTH',
  'LLM_NO_KEY',
  'LLM_MODEL_NOT_FOUND',
  'LLM_NO_MODEL',
  'LLM_NO_PERMISSION',
  'LLM_BLOCKED',
  'LLM_NO_EMBEDDINGS',
  'LLM_UNSUPPORTED',
]);

/** Errors that stop a whole run instead of scoring one example 0. */
export function isFatal(e: unknown): boolean {
  if (isAbortError(e)) return true;
  if (!isOptimizerError(e)) return false;
  // A Dify error other than one case's failed run (sign-in, network, a refused copy) stops the run too.
  return e.family === 'cancelled' || e.family === 'dataset' || FATAL_LLM_CODES.has(e.code) || (e.family === 'dify' && e.code !== 'DIFY_RUN_FAILED');
}

/**
 * Runs the target on one example through `LlmClient.chat` (the node's request and parameters
 * with a spec; temperature 0 by default) and
 * scores the answer (or scores `ctx.knownOutput` without a call). A failed task call (timeout, bad answer…) scores 0 and records the error;
 * cancellation, budget exhaustion, auth and dataset errors are thrown.
 */
export async function runExample(target: RunTarget, example: Example, ctx: RunContext): Promise<ExampleResult> {
  const started = Date.now();
  let output: string;
  if (ctx.knownOutput !== undefined) output = ctx.knownOutput;
  else {
    try {
      const runner = ctx.runner ?? modelNodeRunner(ctx.client);
      // The node's own parameters (temperature 0 when it sets none), as the evidence gate sends them.
      const res = await runner.run(
        { ...target, example },
        { model: target.model, nodeModel: false, temperature: target.temperature, maxTokens: target.maxTokens, signal: ctx.signal, tag: 'evaluation:task' },
      );
      output = res.output;
    } catch (e) {
      if (isAbortError(e)) throw new CancelledError('The evaluation was cancelled.');
      if (isFatal(e)) throw e;
      const err = isOptimizerError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
      return { exampleId: example.id, score: 0, output: '', metrics: [], error: err, feedback: `Wrong: the call failed (${err.code}: ${err.message}).`, latencyMs: Date.now() - started };
    }
    ctx.onOutput?.(output);
  }
  const scored = await scoreOutput(ctx.metrics, output, example, {
    client: ctx.client,
    judgeModel: ctx.judgeModel,
    signal: ctx.signal,
    candidate: { text: target.text ?? target.record.text, demos: (target.demos?.length ?? 0) > 0 },
  });
  return { exampleId: example.id, score: scored.score, output, metrics: scored.metrics, feedback: scored.feedback, latencyMs: Date.now() - started };
}

/** Mean score of results (0 for none). */
export function meanScore(results: readonly ExampleResult[]): number {
  return results.length ? results.reduce((s, r) => s + r.score, 0) / results.length : 0;
}

/** Throws DATASET_INVALID when a metric list is empty. */
export function assertMetrics(metrics: Metric[]): void {
  if (metrics.length === 0) throw new DatasetError('DATASET_METRIC', 'at least one metric is needed to score examples.');
}
