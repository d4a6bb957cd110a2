import type { PromptRecord } from '../dsl/types';
import type { EngineEventSink } from '../engine/events';
import type { NodeSpec } from '../runtime/workflow';
import type { Metric } from '../evaluation/metrics';
import type { NodeMessage } from '../runtime/render';
import type { Demo, DemoMode, Example, ExampleResult, Feedback } from '../evaluation/types';
import type { CostTable } from '../llm/cost';
import type { Budget, LlmClient, LlmUsageTotals, Spend } from '../llm/types';
import type { EmbeddingIndex } from './embeddingIndex';
import type { MemberPlan } from './ensembleBudget';
import type { MetricsSummary } from './metricsTracker';
import type { RunStore } from './runStore';
import type { Embedder } from './vectors';

/** Where the task model came from: chosen for the task (`--task-model`), the node's own model, or the configured one. */
export type TaskModelSource = 'flag' | 'node' | 'configured';

/** Names accepted by `createOptimizer`. */
export type OptimizerName = 'copro' | 'knn' | 'ensemble' | 'gepa';

/** A version of the prompt under evaluation: an instruction text and optional few-shot demos. */
export interface Candidate {
  /** Content hash (text, demos, demo mode): equal content ⇒ equal id. */
  id: string;
  text: string;
  demos?: Demo[];
  demoMode?: DemoMode;
  /** 'baseline', 'copro', 'knn', 'ensemble', 'index' (seeded from accepted versions). */
  source: string;
  /** Round that produced it (0 for baseline and seeds). */
  round: number;
  parentId?: string;
  /** GEPA: the feedback on its parent's answers that the reflection answered (failing minibatch examples). */
  answered?: Feedback[];
  /** GEPA: its parent's and its own summed scores on the minibatch it was tried on first. */
  minibatch?: { exampleIds: string[]; parent: number; child: number };
}

/** A candidate with its scores (0..1, mean over the split) and per-example results. */
export interface ScoredCandidate extends Candidate {
  trainScore?: number;
  validationScore?: number;
  trainResults?: ExampleResult[];
  validationResults?: ExampleResult[];
  /** Why the candidate was dropped without scoring (e.g. it lost a variable). */
  rejectedReason?: string;
  /** Calls the run had made (all members, for an Ensemble) when its validation score was in: for calls-to-target figures. */
  validatedAtCalls?: number;
}

/** Calls, tokens and cost of one kind of call in an estimate. */
export interface EstimatePart {
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

/** What a run is expected to cost, before it starts. */
export interface CostEstimate {
  /** Task-model calls (one per candidate × example). */
  taskCalls: number;
  /** Calls that propose candidates (COPRO). */
  proposalCalls: number;
  /** Embedding calls (KNN with an endpoint, embedding metric). */
  embeddingCalls: number;
  /** Judge calls (llm_judge metric). */
  judgeCalls: number;
  /** Sum of the above: the number to compare with a calls budget. */
  calls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
  /** The same by kind of call (the totals above are their sums). */
  breakdown: {
    task: EstimatePart;
    proposal: EstimatePart;
    /** Embedding calls of the optimizer (KNN's vectors), not of a metric. */
    embedding: EstimatePart;
    /** Calls of LLM metrics (llm_judge, embedding): one per task call and metric. */
    scoring: EstimatePart;
  };
  /** Plain-words notes (e.g. "exceeds the calls budget of 50"). */
  notes: string[];
}

/** Progress of a run, for a progress bar. */
export interface OptimizerProgress {
  optimizer: string;
  phase: string;
  /** Example evaluations finished (including reused ones) and planned so far. */
  done: number;
  total: number;
  bestValidation?: number;
}

/** Everything an optimizer needs. Only `record`, the splits, `metrics` and `client` are required. */
export interface OptimizerContext {
  runId: string;
  record: PromptRecord;
  /** The node's chat messages (so a system prompt is run with its user message): renderPrompt's, when `spec` is not covered. */
  messages?: NodeMessage[];
  /**
   * The prompt's node as Dify builds its request (runtime/workflow nodeSpecOf): every example
   * is run with the node's full request, the candidate's text and demos in place (runtime/nodeRequest).
   */
  spec?: NodeSpec;
  train: Example[];
  validation: Example[];
  metrics: Metric[];
  /** Runs the task (and proposes, unless `proposer` is given). */
  client: LlmClient;
  /** Client for proposals (COPRO) when different from the task's. */
  proposer?: LlmClient;
  /** Model of the task calls (default: the client's configured model). */
  taskModel?: string;
  /** Where `taskModel` came from (shown in the report). */
  taskModelSource?: TaskModelSource;
  proposerModel?: string;
  judgeModel?: string;
  /** Prices for the estimate (default: the built-in list prices); give the client's table. */
  costTable?: CostTable;
  /** The client's budget, so the search stops early enough to still validate. Enforced by the client. */
  budget?: Budget;
  /** Resume store: results already in it are reused; new ones appended. */
  store?: RunStore;
  events?: EngineEventSink;
  onProgress?: (p: OptimizerProgress) => void;
  /** Accepted versions of earlier runs (COPRO seeds from it). */
  embeddingIndex?: EmbeddingIndex;
  /** Vectors for KNN and the index; default: the endpoint's embeddings, local TF-IDF when that fails. */
  embedder?: Embedder;
  /** Parallel example evaluations; default 4. */
  concurrency?: number;
  /** Analysis scores of the prompt for the start event (0 when unknown). */
  scores?: { overall: number; clarity: number; efficiency: number; structure: number };
  now?: () => number;
}

/** The outcome of one optimization. Scores are 0..1 means of the metric over a split. */
export interface OptimizerReport {
  runId: string;
  optimizer: string;
  promptId: string;
  baseline: ScoredCandidate;
  /** Best candidate on validation (may be the baseline when nothing beat it). */
  best: ScoredCandidate;
  /** Every candidate generated, baseline first, with its scores. */
  candidates: ScoredCandidate[];
  /** best.validationScore − baseline.validationScore */
  improvement: number;
  /** true when the best candidate beats the baseline on validation. */
  accepted: boolean;
  /** Set when the run stopped before its plan ended. */
  stoppedReason?: 'budget';
  estimate: CostEstimate;
  usage: LlmUsageTotals;
  /** The model that ran the task, and where it came from (absent when it was the client's default). */
  taskModel?: { name: string; source: TaskModelSource };
  /** What earlier attempts of this run id spent (counted against the budget); absent for a first attempt. */
  earlierUsage?: Spend;
  /** Example results taken from the run log instead of calling again. */
  reusedResults: number;
  /** Example runs whose task call failed (they scored 0), over every candidate; absent when none did. */
  failedRuns?: { count: number; of: number; code: string; message: string };
  /** Proposal calls that failed and were skipped; absent when none did. */
  failedProposals?: { count: number; message: string };
  durationMs: number;
  metrics: MetricsSummary;
  /** Ensemble: each member's report (members not run for want of budget have none). */
  members?: OptimizerReport[];
  /** Ensemble under a calls budget: each member's share, what it used, and why it was cut short. */
  budgetPlan?: MemberPlan[];
}

/** One interface for every dataset optimizer. */
export interface PromptOptimizer {
  readonly name: string;
  /** Calls and tokens the run is expected to take (no call made). */
  estimate(ctx: OptimizerContext): CostEstimate;
  /** Calls needed to validate at least one candidate besides the baseline (Ensemble plans with it). */
  minimumCalls?(ctx: OptimizerContext): number;
  /** Runs the optimization. Rejects with CancelledError when `signal` aborts (results so far stay in the store). */
  optimize(ctx: OptimizerContext, signal?: AbortSignal): Promise<OptimizerReport>;
}
