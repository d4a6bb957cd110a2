import * as path from 'node:path';
import type { PromptRecord } from '../dsl/types';
import { newRunId } from '../engine/runLog';
import type { EngineEventSink } from '../engine/events';
import { checkDatasetCoversPrompt, splitDataset, type SplitOptions } from '../evaluation/dataset';
import { assertMetrics } from '../evaluation/run';
import { createMetric, type MetricSpec } from '../evaluation/metrics';
import type { NodeMessage } from '../evaluation/render';
import type { Dataset, DatasetSplit } from '../evaluation/types';
import type { Budget, LlmClient } from '../llm/types';
import { recordAccepted } from './accept';
import { EmbeddingIndex } from './embeddingIndex';
import { createOptimizer, type OptimizerDeps } from './factory';
import { RunStore } from './runStore';
import type { CostEstimate, OptimizerContext, OptimizerProgress, OptimizerReport, PromptOptimizer } from './types';
import { endpointEmbedder } from './vectors';

/** Everything a surface (CLI, VS Code) gives to set up a training run. */
export interface TrainingRequest {
  /** Workspace root: the run log goes to `<root>/.optimizer/runs/<runId>.jsonl`, the index to `<root>/.optimizer/embeddings/`. */
  root: string;
  record: PromptRecord;
  messages?: NodeMessage[];
  dataset: Dataset;
  split?: SplitOptions;
  /** Default: [{type: 'exact'}]. */
  metrics?: MetricSpec[];
  optimizer: string;
  deps?: OptimizerDeps;
  /** The LLM client, created with the same `budget` (the client enforces it). */
  client: LlmClient;
  budget?: Budget;
  /** Reuse to resume an interrupted run; default a new id. */
  runId?: string;
  taskModel?: string;
  concurrency?: number;
  events?: EngineEventSink;
  onProgress?: (p: OptimizerProgress) => void;
  /** Seed COPRO from the embeddings index (default true). */
  useIndex?: boolean;
}

/** A prepared run: look at `estimate`, confirm, then `run()`. Always `close()`. */
export interface PreparedTraining {
  runId: string;
  runFile: string;
  split: DatasetSplit;
  optimizer: PromptOptimizer;
  ctx: OptimizerContext;
  estimate: CostEstimate;
  /** Results already in the run log (a resumed run reuses them). */
  resumedResults: number;
  /** Prompt variables some examples leave out (they render empty, as in Dify). */
  partlyMissing: string[];
  run(signal?: AbortSignal): Promise<OptimizerReport>;
  /** Records the report's best candidate in the embeddings index (call when the user accepts it). */
  remember(report: OptimizerReport, signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Sets up a dataset optimization: split, metrics, optimizer, run store (resume), embeddings
 * index, embedder (endpoint with local TF-IDF fallback) and the cost estimate.
 */
export async function prepareTraining(req: TrainingRequest): Promise<PreparedTraining> {
  const coverage = checkDatasetCoversPrompt(req.dataset, [req.record.text, ...(req.messages ?? []).map((m) => m.text)]);
  const split = splitDataset(req.dataset, req.split);
  const metrics = (req.metrics?.length ? req.metrics : [{ type: 'exact' } as MetricSpec]).map((m) => createMetric(m));
  assertMetrics(metrics);
  const optimizer = createOptimizer(req.optimizer, req.deps);
  const runId = req.runId ?? newRunId();
  const optimizerDir = path.join(req.root, '.optimizer');
  const store = await RunStore.open(path.join(optimizerDir, 'runs'), runId);
  const index = req.useIndex === false ? undefined : await EmbeddingIndex.open(optimizerDir);
  const embedder = endpointEmbedder(req.client, { store });
  const ctx: OptimizerContext = {
    runId,
    record: req.record,
    messages: req.messages,
    train: split.train,
    validation: split.validation,
    metrics,
    client: req.client,
    taskModel: req.taskModel,
    budget: req.budget,
    store,
    events: req.events,
    onProgress: req.onProgress,
    embeddingIndex: index,
    embedder,
    concurrency: req.concurrency,
  };
  return {
    runId,
    runFile: store.file,
    split,
    optimizer,
    ctx,
    estimate: optimizer.estimate(ctx),
    resumedResults: store.size,
    partlyMissing: coverage.partlyMissing,
    run: (signal) => optimizer.optimize(ctx, signal),
    remember: async (report, signal) => {
      if (!index) return false;
      return (await recordAccepted(report, index, { kind: req.record.kind, embedder, signal })) !== undefined;
    },
    close: () => store.close(),
  };
}
