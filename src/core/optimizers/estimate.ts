import { buildTaskCall } from '../runtime/nodeRequest';
import { exampleOutput } from '../runtime/render';
import type { Budget, Spend } from '../llm/types';
import { costOf, estimateMessagesTokens, estimateTokens } from '../llm/cost';
import type { CostEstimate, EstimatePart, OptimizerContext } from './types';

/** Average prompt and completion tokens of one task call with the baseline prompt, as the run sends it (over up to 20 examples). */
export function taskCallTokens(ctx: OptimizerContext, extraPromptChars = 0): { prompt: number; completion: number } {
  const sample = [...ctx.train, ...ctx.validation].slice(0, 20);
  if (sample.length === 0) return { prompt: 0, completion: 0 };
  let p = 0;
  let c = 0;
  for (const ex of sample) {
    try {
      p += estimateMessagesTokens(buildTaskCall(ctx, ex).messages);
    } catch {
      p += estimateTokens(ctx.record.text);
    }
    c += estimateTokens(exampleOutput(ex)) + 16;
  }
  return { prompt: Math.ceil(p / sample.length + extraPromptChars / 4), completion: Math.ceil(c / sample.length) };
}

const part = (calls: number, promptTokens: number, completionTokens: number, costUsd: number): EstimatePart => ({ calls, promptTokens, completionTokens, costUsd });

/** A CostEstimate whose totals are the sums of `breakdown` (no notes). */
function fromBreakdown(b: CostEstimate['breakdown'], judgeCalls: number): CostEstimate {
  const all = [b.task, b.proposal, b.embedding, b.scoring];
  return {
    taskCalls: b.task.calls,
    proposalCalls: b.proposal.calls,
    embeddingCalls: b.embedding.calls + (b.scoring.calls - judgeCalls),
    judgeCalls,
    calls: all.reduce((n, p) => n + p.calls, 0),
    promptTokens: all.reduce((n, p) => n + p.promptTokens, 0),
    completionTokens: all.reduce((n, p) => n + p.completionTokens, 0),
    costUsd: all.reduce((n, p) => n + p.costUsd, 0),
    breakdown: b,
    notes: [],
  };
}

/** Builds a CostEstimate from call counts and per-call token averages (prices from `ctx.costTable`). */
export function buildEstimate(
  ctx: OptimizerContext,
  parts: { taskCalls: number; proposalCalls?: number; embeddingCalls?: number; task: { prompt: number; completion: number }; proposal?: { prompt: number; completion: number }; embedTokens?: number },
): CostEstimate {
  const table = ctx.costTable;
  // Judges (llm_judge: one call per score; the pairwise judge: both orders) make their calls per task call.
  const judges = ctx.metrics.filter((m) => m.name !== 'embedding').reduce((n, m) => n + (m.calls ?? 0), 0);
  const embedMetrics = ctx.metrics.filter((m) => m.name === 'embedding').length;
  const taskCalls = parts.taskCalls;
  const proposalCalls = parts.proposalCalls ?? 0;
  const judgeCalls = taskCalls * judges;
  const model = ctx.taskModel ?? 'unknown';
  const taskP = taskCalls * parts.task.prompt;
  const taskC = taskCalls * parts.task.completion;
  const propP = proposalCalls * (parts.proposal?.prompt ?? 0);
  const propC = proposalCalls * (parts.proposal?.completion ?? 0);
  const judgeP = judgeCalls * (parts.task.prompt + parts.task.completion * 2 + 80);
  const judgeC = judgeCalls * 40;
  const metricEmbedT = taskCalls * embedMetrics * parts.task.completion * 2;
  const embedT = parts.embedTokens ?? 0;
  const est = fromBreakdown(
    {
      task: part(taskCalls, taskP, taskC, costOf(model, taskP, taskC, table)),
      proposal: part(proposalCalls, propP, propC, costOf(ctx.proposerModel ?? model, propP, propC, table)),
      embedding: part(parts.embeddingCalls ?? 0, embedT, 0, costOf('text-embedding-3-small', embedT, 0, table)),
      scoring: part(
        judgeCalls + taskCalls * embedMetrics,
        judgeP + metricEmbedT,
        judgeC,
        costOf(ctx.judgeModel ?? ctx.proposerModel ?? model, judgeP, judgeC, table) + costOf('text-embedding-3-small', metricEmbedT, 0, table),
      ),
    },
    judgeCalls,
  );
  return withBudgetNotes(est, ctx.budget);
}

/**
 * Adds what the pairwise judge metric costs besides its per-score calls (already in the
 * estimate): `setup` checklist draws (0 or 1) and up to `references` task calls for the current
 * prompt's answers on examples the baseline does not otherwise run on.
 */
export function addJudgeSetup(est: CostEstimate, ctx: OptimizerContext, setup: number, references: number): CostEstimate {
  const b = est.breakdown;
  const task = taskCallTokens(ctx);
  const refP = references * task.prompt;
  const refC = references * task.completion;
  const listP = setup * (estimateTokens(ctx.record.text) + 200);
  const listC = setup * 200;
  const model = ctx.taskModel ?? 'unknown';
  const withTask = part(b.task.calls + references, b.task.promptTokens + refP, b.task.completionTokens + refC, b.task.costUsd + costOf(model, refP, refC, ctx.costTable));
  const judgeModel = ctx.judgeModel ?? ctx.proposerModel ?? model;
  const withList = part(b.scoring.calls + setup, b.scoring.promptTokens + listP, b.scoring.completionTokens + listC, b.scoring.costUsd + costOf(judgeModel, listP, listC, ctx.costTable));
  return { ...fromBreakdown({ ...b, task: withTask, scoring: withList }, est.judgeCalls + setup), notes: [...est.notes] };
}

/** What a resumed run takes from its log instead of calling: task results and memos (proposals, embeddings). */
export interface ReuseCounts {
  results: number;
  proposals: number;
  embeddings: number;
}

/**
 * The estimate of a resumed run: the calls (and their tokens and cost) that recorded results and
 * memos will replace are taken out (scoring calls go with their task results). Notes are not kept.
 */
export function lessReused(est: CostEstimate, reuse: ReuseCounts): CostEstimate {
  const scale = (p: EstimatePart, fraction: number, calls = Math.round(p.calls * fraction)): EstimatePart =>
    part(calls, Math.round(p.promptTokens * fraction), Math.round(p.completionTokens * fraction), p.costUsd * fraction);
  const left = (p: EstimatePart, n: number) => (p.calls > 0 ? Math.max(0, p.calls - n) / p.calls : 1);
  const b = est.breakdown;
  const taskLeft = left(b.task, reuse.results);
  return fromBreakdown(
    {
      task: scale(b.task, taskLeft, Math.max(0, b.task.calls - reuse.results)),
      proposal: scale(b.proposal, left(b.proposal, reuse.proposals), Math.max(0, b.proposal.calls - reuse.proposals)),
      embedding: scale(b.embedding, left(b.embedding, reuse.embeddings), Math.max(0, b.embedding.calls - reuse.embeddings)),
      scoring: scale(b.scoring, taskLeft),
    },
    Math.round(est.judgeCalls * taskLeft),
  );
}

/**
 * Adds notes where the estimate goes past a budget (the run then stops early; the client never
 * exceeds it). With `earlier` (what earlier attempts of a resumed run spent), the estimate is
 * compared with what remains of the budget, and a note says what was already used.
 */
export function withBudgetNotes(est: CostEstimate, budget: Budget | undefined, earlier?: Spend): CostEstimate {
  const notes = [...est.notes];
  const used = earlier ?? { calls: 0, tokens: 0, costUsd: 0 };
  const resumed = used.calls > 0 || used.tokens > 0 || used.costUsd > 0;
  if (resumed) {
    notes.push(
      `Earlier attempts of this run used ${used.calls} call(s), ${used.tokens} tokens, $${used.costUsd.toFixed(4)}; they count against the budget.`,
    );
  }
  const allows = (left: number, max: number, unit: (n: number) => string) =>
    resumed ? `the budget allows ${unit(Math.max(0, left))} more (of ${unit(max)})` : `the budget allows ${unit(max)}`;
  if (budget?.maxCalls !== undefined && est.calls > budget.maxCalls - used.calls) {
    notes.push(`The plan needs about ${est.calls} calls but ${allows(budget.maxCalls - used.calls, budget.maxCalls, String)}: the search will stop early.`);
  }
  const tokens = est.promptTokens + est.completionTokens;
  if (budget?.maxTokens !== undefined && tokens > budget.maxTokens - used.tokens) {
    notes.push(`The plan needs about ${tokens} tokens but ${allows(budget.maxTokens - used.tokens, budget.maxTokens, String)}: the search will stop early.`);
  }
  if (budget?.maxCostUsd !== undefined && est.costUsd > budget.maxCostUsd - used.costUsd) {
    notes.push(
      `The plan may cost about $${est.costUsd.toFixed(4)} but ${allows(budget.maxCostUsd - used.costUsd, budget.maxCostUsd, (n) => `$${resumed ? n.toFixed(4) : n}`)}: the search will stop early.`,
    );
  }
  return { ...est, notes };
}

/** Sums estimates (Ensemble). */
export function sumEstimates(parts: CostEstimate[], budget: Budget | undefined): CostEstimate {
  const add = (a: EstimatePart, b: EstimatePart) => part(a.calls + b.calls, a.promptTokens + b.promptTokens, a.completionTokens + b.completionTokens, a.costUsd + b.costUsd);
  const zero = part(0, 0, 0, 0);
  const b = { task: zero, proposal: zero, embedding: zero, scoring: zero };
  for (const p of parts) {
    b.task = add(b.task, p.breakdown.task);
    b.proposal = add(b.proposal, p.breakdown.proposal);
    b.embedding = add(b.embedding, p.breakdown.embedding);
    b.scoring = add(b.scoring, p.breakdown.scoring);
  }
  return withBudgetNotes(fromBreakdown(b, parts.reduce((n, p) => n + p.judgeCalls, 0)), budget);
}
