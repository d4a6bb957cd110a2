import { exampleOutput, renderPrompt } from '../evaluation/render';
import type { Budget } from '../llm/types';
import { costOf, estimateMessagesTokens, estimateTokens } from '../llm/cost';
import type { CostEstimate, OptimizerContext } from './types';

/** Average prompt and completion tokens of one task call with the baseline prompt (over up to 20 examples). */
export function taskCallTokens(ctx: OptimizerContext, extraPromptChars = 0): { prompt: number; completion: number } {
  const sample = [...ctx.train, ...ctx.validation].slice(0, 20);
  if (sample.length === 0) return { prompt: 0, completion: 0 };
  let p = 0;
  let c = 0;
  for (const ex of sample) {
    try {
      p += estimateMessagesTokens(renderPrompt(ctx.record, ctx.messages, ex));
    } catch {
      p += estimateTokens(ctx.record.text);
    }
    c += estimateTokens(exampleOutput(ex)) + 16;
  }
  return { prompt: Math.ceil(p / sample.length + extraPromptChars / 4), completion: Math.ceil(c / sample.length) };
}

/** Builds a CostEstimate from call counts and per-call token averages. */
export function buildEstimate(
  ctx: OptimizerContext,
  parts: { taskCalls: number; proposalCalls?: number; embeddingCalls?: number; task: { prompt: number; completion: number }; proposal?: { prompt: number; completion: number }; embedTokens?: number },
): CostEstimate {
  const judges = ctx.metrics.filter((m) => m.name === 'llm_judge').length;
  const embedMetrics = ctx.metrics.filter((m) => m.name === 'embedding').length;
  const taskCalls = parts.taskCalls;
  const proposalCalls = parts.proposalCalls ?? 0;
  const judgeCalls = taskCalls * judges;
  const embeddingCalls = (parts.embeddingCalls ?? 0) + taskCalls * embedMetrics;
  const model = ctx.taskModel ?? 'unknown';
  const taskP = taskCalls * parts.task.prompt;
  const taskC = taskCalls * parts.task.completion;
  const propP = proposalCalls * (parts.proposal?.prompt ?? 0);
  const propC = proposalCalls * (parts.proposal?.completion ?? 0);
  const judgeP = judgeCalls * (parts.task.prompt + parts.task.completion * 2 + 80);
  const judgeC = judgeCalls * 40;
  const embedT = (parts.embedTokens ?? 0) + taskCalls * embedMetrics * parts.task.completion * 2;
  const promptTokens = taskP + propP + judgeP + embedT;
  const completionTokens = taskC + propC + judgeC;
  const costUsd =
    costOf(model, taskP + judgeP, taskC + judgeC) + costOf(ctx.proposerModel ?? model, propP, propC) + costOf('text-embedding-3-small', embedT, 0);
  const est: CostEstimate = {
    taskCalls,
    proposalCalls,
    embeddingCalls,
    judgeCalls,
    calls: taskCalls + proposalCalls + embeddingCalls + judgeCalls,
    promptTokens,
    completionTokens,
    costUsd,
    notes: [],
  };
  return withBudgetNotes(est, ctx.budget);
}

/** Adds notes where the estimate goes past a budget (the run then stops early; the client never exceeds it). */
export function withBudgetNotes(est: CostEstimate, budget: Budget | undefined): CostEstimate {
  const notes = [...est.notes];
  if (budget?.maxCalls !== undefined && est.calls > budget.maxCalls) {
    notes.push(`The plan needs about ${est.calls} calls but the budget allows ${budget.maxCalls}: the search will stop early.`);
  }
  if (budget?.maxTokens !== undefined && est.promptTokens + est.completionTokens > budget.maxTokens) {
    notes.push(`The plan needs about ${est.promptTokens + est.completionTokens} tokens but the budget allows ${budget.maxTokens}: the search will stop early.`);
  }
  if (budget?.maxCostUsd !== undefined && est.costUsd > budget.maxCostUsd) {
    notes.push(`The plan may cost about $${est.costUsd.toFixed(4)} but the budget allows $${budget.maxCostUsd}: the search will stop early.`);
  }
  return { ...est, notes };
}

/** Sums estimates (Ensemble). */
export function sumEstimates(parts: CostEstimate[], budget: Budget | undefined): CostEstimate {
  const z: CostEstimate = { taskCalls: 0, proposalCalls: 0, embeddingCalls: 0, judgeCalls: 0, calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0, notes: [] };
  for (const p of parts) {
    z.taskCalls += p.taskCalls;
    z.proposalCalls += p.proposalCalls;
    z.embeddingCalls += p.embeddingCalls;
    z.judgeCalls += p.judgeCalls;
    z.calls += p.calls;
    z.promptTokens += p.promptTokens;
    z.completionTokens += p.completionTokens;
    z.costUsd += p.costUsd;
  }
  return withBudgetNotes(z, budget);
}
