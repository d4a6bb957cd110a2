/** The estimate of an `optimize` run before it is confirmed (CLI and VS Code share it). */
import { analyzePrompt } from '../analysis';
import { isLlmStrategy } from '../engine/config';
import { estimateRun, type RunEstimate } from '../engine/estimate';
import { planStrategies } from '../engine/strategies';
import { parseDify } from '../dsl';
import type { CostTable } from '../llm/cost';
import { workflowKey } from '../storage';
import { judgeModels, selectPrompts, type OptimizeDocumentOptions } from './optimize';

export type EstimateDocumentOptions = Pick<OptimizeDocumentOptions, 'file' | 'text' | 'workspaceRoot' | 'config' | 'promptIds' | 'force' | 'includeLabels' | 'llm' | 'evidenceGate' | 'signal' | 'defaultModel'> & {
  /** The model requests without a model of their own go to (the endpoint's, or the editor model). */
  model: string;
  costTable?: CostTable;
};

/**
 * What `optimizeDocument` with the same options would send to the model, at most (see
 * engine/estimate.ts). Undefined when it calls no model (no client, or only rule strategies).
 */
export async function estimateOptimizeDocument(opts: EstimateDocumentOptions): Promise<RunEstimate | undefined> {
  if (!opts.llm) return undefined;
  const rel = workflowKey(opts.workspaceRoot, opts.file);
  const doc = parseDify(opts.text, { file: rel });
  const { prompts } = selectPrompts(doc, rel, opts);
  const modelOpts = { model: opts.config.model.name, temperature: opts.config.model.temperature };
  const plan = planStrategies(opts.config.strategies, opts.llm, modelOpts);
  if (!plan.strategies.some(isLlmStrategy)) return undefined;
  const factory = opts.evidenceGate;
  return estimateRun({
    prompts,
    config: { ...opts.config, strategies: plan.strategies },
    client: opts.llm,
    model: opts.model,
    costTable: opts.costTable,
    force: opts.force,
    analyze: analyzePrompt,
    strategies: (probe) => planStrategies(plan.strategies, probe, modelOpts).resolve,
    gate: factory && ((probe) => factory({ root: opts.workspaceRoot, workflowFile: opts.file, doc, client: probe, settings: opts.config.evidence, dryRun: true, ...judgeModels(opts) })),
    signal: opts.signal,
  });
}
