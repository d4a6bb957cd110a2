import * as path from 'node:path';
import type { PromptRecord } from '../dsl/types';
import { UsageError } from '../errors';
import { newRunId } from '../engine/runLog';
import type { EngineEventSink } from '../engine/events';
import { checkDatasetCoversPrompt, splitDataset, type SplitOptions } from '../evaluation/dataset';
import { assertMetrics } from '../evaluation/run';
import { createMetric, type MetricSpec } from '../evaluation/metrics';
import { changedRequestParts, requestParts, requestTexts } from '../runtime/nodeRequest';
import type { NodeMessage } from '../runtime/render';
import type { DifyDocument } from '../dsl/parse';
import { nodeSpecOf, readWorkflow, type NodeSpec } from '../runtime/workflow';
import { requestNoteOf } from '../runtime/request';
import type { Dataset, DatasetSplit } from '../evaluation/types';
import { unpricedNotes, type CostTable } from '../llm/cost';
import type { Budget, LlmClient } from '../llm/types';
import { recordAccepted } from './accept';
import { EmbeddingIndex } from './embeddingIndex';
import { addJudgeSetup, lessReused, withBudgetNotes, type ReuseCounts } from './estimate';
import { createOptimizer, type OptimizerDeps } from './factory';
import { JudgeMetric, currentChecklistSha, isLabelled } from './judgeMetric';
import { checklistFileFor } from '../evidence/checklist';
import { DatasetError } from '../errors';
import type { Metric } from '../evaluation/metrics';
import { RunStore, hashOf, type RunHeader } from './runStore';
import { runFingerprint } from './session';
import type { CostEstimate, OptimizerContext, OptimizerProgress, OptimizerReport, PromptOptimizer, TaskModelSource } from './types';
import { endpointEmbedder } from './vectors';

/** The model that runs the prompt on the examples, and where it came from. No name: the client's configured model. */
export interface TaskModelChoice {
  name?: string;
  source: TaskModelSource;
}

/**
 * Chooses the task model: `explicit` (chosen for the task, e.g. `--task-model`) when given, else
 * the node's own model (`record.model.name`, from the Dify export) when it names one, else
 * `configured` (the endpoint's model: `--model`, PROMPTOPT_MODEL, config.yaml, default).
 * Proposals and judges always use the configured model.
 */
export function chooseTaskModel(record: Pick<PromptRecord, 'model'>, opts: { explicit?: string; configured?: string } = {}): TaskModelChoice {
  const explicit = opts.explicit?.trim();
  if (explicit) return { name: explicit, source: 'flag' };
  const node = record.model?.name?.trim();
  if (node) return { name: node, source: 'node' };
  return { ...(opts.configured ? { name: opts.configured } : {}), source: 'configured' };
}

/**
 * The node of `record` as Dify builds its request, read once per run from the workflow file
 * (the evidence gate's nodeSpecOf); undefined when the file does not describe it.
 */
export function nodeSpecFor(doc: DifyDocument, record: PromptRecord): NodeSpec | undefined {
  return nodeSpecOf(readWorkflow(doc), record);
}

/** What a run's header records about its inputs (see RunHeader). */
export type RunInputs = Pick<RunHeader, 'promptId' | 'prompt' | 'messages' | 'request' | 'dataset' | 'examples' | 'datasetFile' | 'optimizer' | 'checklist'> & {
  /** The checklist's file name (for messages). */
  checklistFile?: string;
};

/** The inputs of a run as its header records them: hashes of the prompt, of its node's messages and request, and of the examples. */
export function runInputsOf(req: Pick<TrainingRequest, 'record' | 'messages' | 'spec' | 'dataset' | 'optimizer'>): RunInputs {
  const request = requestParts(req.spec);
  return {
    promptId: req.record.id,
    prompt: hashOf(req.record.text),
    messages: hashOf(req.messages?.map((m) => [m.role, m.text]) ?? []),
    ...(request ? { request } : {}),
    dataset: hashOf(req.dataset.examples.map((e) => [e.id, e.vars, e.expected ?? null, e.labels ?? null, e.split ?? null])),
    examples: req.dataset.examples.length,
    datasetFile: path.basename(req.dataset.file),
    optimizer: req.optimizer,
  };
}

/**
 * Why a run started on `then` cannot be resumed with `now` (its recorded results would not hold),
 * in plain words; undefined when it can. The prompt and the dataset must be as they were.
 */
export function resumeMismatch(runId: string, then: RunInputs, now: RunInputs): string | undefined {
  const why: string[] = [];
  const promptChanged = then.prompt !== now.prompt || then.messages !== now.messages || JSON.stringify(then.request ?? null) !== JSON.stringify(now.request ?? null);
  if (then.prompt !== now.prompt) {
    why.push(then.promptId === now.promptId ? 'the prompt text has changed since the run started' : `the run was started on another prompt (${then.promptId})`);
  } else if (then.messages !== now.messages) {
    why.push("another message of the prompt's node has changed since the run started");
  } else if (JSON.stringify(then.request ?? null) !== JSON.stringify(now.request ?? null)) {
    // The prompt's own text is in some parts too: reached only when it is unchanged, so these are the node's other settings.
    why.push(
      !then.request
        ? "the run was recorded with a request other than the node's own (before dataset runs sent the node's request as Dify builds it)"
        : !now.request
          ? "the node's request as Dify builds it is no longer known (the workflow no longer describes the prompt's node)"
          : `${changedRequestParts(then.request, now.request).join(', ')} changed since the run started`,
    );
  }
  // The judge's results hold only for the requirements they were checked against.
  if (then.checklist !== undefined && then.checklist !== now.checklist) {
    const name = now.checklistFile ?? 'the requirement checklist';
    why.push(
      now.checklist
        ? `the requirement checklist ${name} has changed since the run started (its results were judged with the old requirements)`
        : `the requirement checklist ${name} is gone or no longer fits the prompt, so a new one would be drawn (the run's results were judged with the old one)`,
    );
  }
  if (then.dataset !== now.dataset) {
    const counts = then.examples !== now.examples ? ` (${then.examples} example(s) then, ${now.examples} now)` : '';
    why.push(
      then.datasetFile === now.datasetFile
        ? `the examples in ${now.datasetFile} have changed since the run started${counts}`
        : `the run started on other examples (${then.datasetFile}) than those of ${now.datasetFile}${counts}`,
    );
  }
  if (!why.length) return undefined;
  return `run ${runId} cannot be resumed: ${why.join('; ')}. Its recorded results would not hold; start a new run instead${then.dataset !== now.dataset && !promptChanged ? ', or resume with the dataset as it was' : ''}.`;
}

/** Everything a surface (CLI, VS Code) gives to set up a training run. */
export interface TrainingRequest {
  /** Workspace root: the run log goes to `<root>/.optimizer/runs/<runId>.jsonl`, the index to `<root>/.optimizer/embeddings/`. */
  root: string;
  record: PromptRecord;
  messages?: NodeMessage[];
  /**
   * The prompt's node as Dify builds its request (`nodeSpecFor`): every example runs with the
   * node's full request, the candidate in place. Without it (or for a prompt the builder does
   * not cover), the text runs as renderPrompt renders it.
   */
  spec?: NodeSpec;
  dataset: Dataset;
  split?: SplitOptions;
  /** Default: [{type: 'exact'}], or [{type: 'judge'}] when no example has `expected` or `labels` (see chooseMetrics). */
  metrics?: MetricSpec[];
  /** The node's structured output schema (a mechanical requirement of the judge's checklist); default `spec`'s. */
  structuredOutput?: Record<string, unknown>;
  optimizer: string;
  deps?: OptimizerDeps;
  /** The LLM client, created with the same `budget` (the client enforces it). */
  client: LlmClient;
  budget?: Budget;
  /** Prices the client was given (for the estimate and the notes on unpriced models); default the built-in list prices. */
  costTable?: CostTable;
  /**
   * Reuse to resume an interrupted run; default a new id. Refused (UsageError
   * RESUME_CHANGED) when the prompt or the dataset changed since the run started.
   */
  runId?: string;
  /** `runId` names a run to resume: refused (UsageError RESUME_NOT_FOUND) when it has no run log. */
  resume?: boolean;
  /** Model chosen for the task calls (e.g. `--task-model`): overrides the node's own model. */
  taskModel?: string;
  /** The configured model (the client's): proposals and judges use it, and the task when neither `taskModel` nor the node names one. */
  configuredModel?: string;
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
  /** The task model and where it came from (see chooseTaskModel). */
  taskModel: TaskModelChoice;
  /** Expected calls, tokens and cost, without what the run log already holds, with notes on the budget (earlier attempts counted). */
  estimate: CostEstimate;
  /** Results already in the run log (a resumed run reuses them). */
  resumedResults: number;
  /** What the estimate leaves out because the run log has it. */
  reuse: ReuseCounts;
  /** Prompt variables some examples leave out (they render empty, as in Dify). */
  partlyMissing: string[];
  /** The metrics the examples are scored with, and why (see chooseMetrics). */
  metricChoice: MetricChoice;
  run(signal?: AbortSignal): Promise<OptimizerReport>;
  /** Records the report's best candidate in the embeddings index (call when the user accepts it). */
  remember(report: OptimizerReport, signal?: AbortSignal): Promise<boolean>;
  close(): Promise<void>;
}

/** The metrics of a run and why: `auto` when chosen because the dataset has no labels. */
export interface MetricChoice {
  specs: MetricSpec[];
  auto: boolean;
  /** Set when the pairwise judge scores the examples: the checklist beside the dataset. */
  checklistFile?: string;
}

/** Metrics that need `expected` or `labels` in every example (regex with its own pattern does not). */
function needsLabels(m: MetricSpec): boolean {
  if (m.type === 'regex') return !m.pattern;
  if (m.type === 'llm_judge' || m.type === 'judge' || m.type === 'json' || m.type === 'json_schema') return false;
  return true;
}

/**
 * The metrics a dataset is scored with: the given ones, else exact match for a labelled dataset
 * and the pairwise judge (`judge`) for one without `expected`/`labels` anywhere (e.g. the cases
 * `promptopt cases` writes). Refused (DATASET_METRIC) when a metric needs labels some
 * examples lack, or KNN (whose demos are expected answers) would run on unlabelled examples.
 */
export function chooseMetrics(dataset: Dataset, specs: MetricSpec[] | undefined, optimizer?: string, members?: readonly string[]): MetricChoice {
  const unlabelled = dataset.examples.filter((e) => !isLabelled(e));
  const name = path.basename(dataset.file);
  let choice: MetricChoice;
  if (specs?.length) choice = { specs, auto: false };
  else if (dataset.examples.length > 0 && unlabelled.length === dataset.examples.length) choice = { specs: [{ type: 'judge' }], auto: true };
  else choice = { specs: [{ type: 'exact' }], auto: false };
  const labelling = choice.specs.filter(needsLabels);
  if (unlabelled.length && labelling.length) {
    const first = unlabelled[0]!;
    throw new DatasetError(
      'DATASET_METRIC',
      `${unlabelled.length} of ${dataset.examples.length} examples in ${name} have no "expected" or "labels" (the first: ${first.id}), which metric ${labelling.map((m) => m.type).join(', ')} needs. Label them, or score with --metric judge (the evidence judge against the current prompt's answers).`,
      first.source,
    );
  }
  if (choice.specs.some((m) => m.type === 'judge')) {
    // An Ensemble without chosen members runs copro and gepa (see judgeMembers).
    const knn = optimizer === 'knn' || (optimizer === 'ensemble' && (members ?? []).includes('knn'));
    if (knn && unlabelled.length) {
      throw new DatasetError(
        'DATASET_METRIC',
        `KNN's demonstrations are the examples' expected answers, and ${name} has none: use --optimizer gepa or copro${optimizer === 'ensemble' ? ', or --members copro,gepa' : ''}.`,
        unlabelled[0]!.source,
      );
    }
    choice.checklistFile = checklistFileFor(dataset.file);
  }
  return choice;
}

/**
 * Sets up a dataset optimization: task model, split, metrics, optimizer, run store (resume:
 * refused when the prompt or the dataset changed since the run started), embeddings index,
 * embedder (endpoint with local TF-IDF fallback) and the cost estimate.
 */
export async function prepareTraining(req: TrainingRequest): Promise<PreparedTraining> {
  const coverage = checkDatasetCoversPrompt(req.dataset, requestTexts(req));
  const split = splitDataset(req.dataset, req.split);
  const metricChoice = chooseMetrics(req.dataset, req.metrics, req.optimizer, req.deps?.ensemble?.members);
  // KNN's demos are expected answers: an Ensemble on an unlabelled dataset runs its other members.
  const judgedEnsemble = req.optimizer === 'ensemble' && metricChoice.checklistFile !== undefined && !req.deps?.ensemble?.members;
  const optimizer = createOptimizer(req.optimizer, judgedEnsemble ? { ...req.deps, ensemble: { ...req.deps?.ensemble, members: ['copro', 'gepa'] } } : req.deps);
  const taskModel = chooseTaskModel(req.record, { explicit: req.taskModel, configured: req.configuredModel });
  const runId = req.runId ?? newRunId();
  const optimizerDir = path.join(req.root, '.optimizer');
  const runsDir = path.join(optimizerDir, 'runs');
  if (req.resume && !(await RunStore.exists(runsDir, runId))) {
    throw new UsageError('RESUME_NOT_FOUND', `there is no run ${runId} to resume (no run log .optimizer/runs/${runId}.jsonl).`, { promptId: req.record.id });
  }
  const store = await RunStore.open(runsDir, runId);
  // The store holds the run id's lock until closed: closed here when the setup fails.
  try {
    // The checklist beside the dataset as it stands (undefined: one will be drawn at the start of the run).
    const checklistNow = metricChoice.checklistFile ? await currentChecklistSha(metricChoice.checklistFile, req.record) : undefined;
    const inputs: RunInputs = {
      ...runInputsOf(req),
      ...(checklistNow ? { checklist: checklistNow } : {}),
      ...(metricChoice.checklistFile ? { checklistFile: path.basename(metricChoice.checklistFile) } : {}),
    };
    if (store.header) {
      const why = resumeMismatch(runId, { ...store.header, checklist: store.checklist }, inputs);
      if (why) {
        await store.close().catch(() => undefined);
        throw new UsageError('RESUME_CHANGED', why, { promptId: req.record.id });
      }
    } else {
      // A new run (or a log written before headers existed): what it runs on from now on.
      const { checklistFile: _name, ...header } = inputs;
      store.writeHeader(header);
    }
    const metrics: Metric[] = metricChoice.specs.map((m) =>
      m.type === 'judge'
        ? new JudgeMetric({
            client: req.client,
            record: req.record,
            messages: req.messages,
            spec: req.spec,
            taskModel: taskModel.name,
            judgeModel: m.model ?? req.configuredModel,
            checklistFile: metricChoice.checklistFile!,
            structuredOutput: req.structuredOutput ?? req.spec?.structuredOutput,
            store,
            checklistSha256: checklistNow,
            weight: m.weight,
          })
        : createMetric(m),
    );
    assertMetrics(metrics);
    const index = req.useIndex === false ? undefined : await EmbeddingIndex.open(optimizerDir);
    const embedder = endpointEmbedder(req.client, { store });
    const ctx: OptimizerContext = {
      runId,
      record: req.record,
      messages: req.messages,
      ...(req.spec ? { spec: req.spec } : {}),
      train: split.train,
      validation: split.validation,
      metrics,
      client: req.client,
      taskModel: taskModel.name,
      taskModelSource: taskModel.source,
      ...(req.configuredModel ? { proposerModel: req.configuredModel, judgeModel: req.configuredModel } : {}),
      costTable: req.costTable,
      budget: req.budget,
      store,
      events: req.events,
      onProgress: req.onProgress,
      embeddingIndex: index,
      embedder,
      concurrency: req.concurrency,
    };
    const found = store.reusable(runFingerprint(ctx));
    const reuse: ReuseCounts = { results: found.results + (found.memos.task ?? 0), proposals: found.memos.proposal ?? 0, embeddings: found.memos.embedding ?? 0 };
    // The judge's once-per-run checklist and the current prompt's answers it compares with (train examples the baseline may not run on).
    const setup = metricChoice.checklistFile && !checklistNow ? 1 : 0;
    const references = metricChoice.checklistFile && optimizer.name !== 'knn' ? Math.max(0, split.train.length - (found.memos.reference ?? 0)) : 0;
    const planned = lessReused(optimizer.estimate({ ...ctx, budget: undefined }), reuse);
    const estimate = withBudgetNotes(metricChoice.checklistFile ? addJudgeSetup(planned, ctx, setup, references) : planned, req.budget, store.earlier);
    if (store.skippedLines) {
      estimate.notes.unshift(
        `The run log ${store.file} had ${store.skippedLines} unreadable line(s) (cut short by a crash, or corrupt): skipped, so what they recorded is lost and that work is done again.`,
      );
    }
    if (reuse.results || reuse.proposals || reuse.embeddings) {
      const what = [`${reuse.results} result(s)`, reuse.proposals ? `${reuse.proposals} proposal(s)` : '', reuse.embeddings ? `${reuse.embeddings} embedding answer(s)` : ''].filter(Boolean);
      estimate.notes.unshift(`Reuses ${what.join(', ')} recorded by earlier attempts of this run: not counted above.`);
    }
    const note = requestNoteOf(req.spec);
    if (note) estimate.notes.push(`The node's request differs from Dify's here: ${note}.`);
    if (judgedEnsemble) estimate.notes.push('The Ensemble runs copro and gepa: KNN needs expected answers for its demonstrations, and this dataset has none.');
    if (metricChoice.checklistFile) {
      estimate.notes.push(
        `Scored by the evidence judge against the current prompt's answers: up to 2 judge calls per example evaluation (both orders), ${setup ? '1 call to draw the requirement checklist, ' : ''}and up to ${references} task call(s) for the current prompt's answers on train examples it has not run on; counted above.`,
      );
    }
    const usesConfigured = estimate.judgeCalls > 0 || estimate.proposalCalls > 0;
    estimate.notes.push(...unpricedNotes([taskModel.name, usesConfigured ? req.configuredModel : undefined], req.budget?.maxCostUsd, req.costTable));
    return {
      runId,
      runFile: store.file,
      split,
      optimizer,
      ctx,
      taskModel,
      estimate,
      resumedResults: store.size,
      reuse,
      partlyMissing: coverage.partlyMissing,
      metricChoice,
      run: async (signal) => {
        // The checklist first: every result is keyed by its content (see JudgeMetric.settings).
        for (const m of metrics) if (m instanceof JudgeMetric) await m.checklist(signal);
        return optimizer.optimize(ctx, signal);
      },
      remember: async (report, signal) => {
        if (!index) return false;
        return (await recordAccepted(report, index, { kind: req.record.kind, embedder, signal })) !== undefined;
      },
      close: () => store.close(),
    };
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
}
