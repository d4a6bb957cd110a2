import { makeCandidate } from './candidates';
import { sumEstimates, taskCallTokens, buildEstimate } from './estimate';
import { OptimizationSession } from './session';
import type { CostEstimate, OptimizerContext, OptimizerReport, PromptOptimizer, ScoredCandidate } from './types';

export interface EnsembleOptions {
  /** 'best' (default): the highest validation score wins; 'weighted': weight of the member × validation score. */
  aggregation?: 'best' | 'weighted';
  /** Member weights by optimizer name (weighted aggregation); default 1. */
  weights?: Record<string, number>;
  /** Also try the best instruction with the best demos of the members (one more validation pass). Default true. */
  combine?: boolean;
}

/**
 * Ensemble (after DSPy's Ensemble, for a static prompt): runs several optimizers concurrently
 * on the same splits, store and client (shared budget), then aggregates their candidates:
 * the best on validation, or a weighted vote (member weight × validation score). With
 * `combine`, the best instruction found is also tried with the best demos found.
 */
export class EnsembleOptimizer implements PromptOptimizer {
  readonly name = 'ensemble';
  readonly opts: Required<EnsembleOptions>;

  constructor(
    readonly members: PromptOptimizer[],
    opts: EnsembleOptions = {},
  ) {
    if (members.length === 0) throw new RangeError('an ensemble needs at least one optimizer');
    this.opts = { aggregation: 'best', weights: {}, combine: true, ...opts };
  }

  estimate(ctx: OptimizerContext): CostEstimate {
    const parts = this.members.map((m) => m.estimate({ ...ctx, budget: undefined }));
    if (this.opts.combine) parts.push(buildEstimate({ ...ctx, budget: undefined }, { taskCalls: ctx.validation.length, task: taskCallTokens(ctx, 400) }));
    return sumEstimates(parts, ctx.budget);
  }

  async optimize(ctx: OptimizerContext, signal?: AbortSignal): Promise<OptimizerReport> {
    const s = new OptimizationSession(ctx, this.name, signal);
    const est = this.estimate(ctx);
    s.start();
    let stopped: 'budget' | undefined;
    const settled = await Promise.allSettled(this.members.map((m) => m.optimize({ ...ctx, store: s.store }, signal)));
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw s.fail(failed.reason);
    const reports = settled.map((r) => (r as PromiseFulfilledResult<OptimizerReport>).value);
    if (reports.some((r) => r.stoppedReason === 'budget')) stopped = 'budget';
    const baseline = s.candidates.add(reports[0]!.baseline).candidate;
    for (const r of reports) {
      for (const c of r.candidates) {
        const { candidate, added } = s.candidates.add(c);
        if (!added) {
          candidate.trainScore ??= c.trainScore;
          candidate.validationScore ??= c.validationScore;
          candidate.trainResults ??= c.trainResults;
          candidate.validationResults ??= c.validationResults;
        }
      }
    }
    try {
      if (this.opts.combine && !stopped) {
        const validated = s.candidates.top(Infinity, 'validation');
        const bestText = validated.find((c) => !c.demos?.length && c.text !== baseline.text);
        const bestDemos = validated.find((c) => c.demos?.length);
        const combined = bestText && bestDemos ? makeCandidate({ text: bestText.text, demos: bestDemos.demos, demoMode: bestDemos.demoMode, source: this.name, round: 1, parentId: bestText.id }) : undefined;
        if (combined && s.remainingCalls() >= s.callsNeeded(combined, ctx.validation)) {
          const { candidate, added } = s.add(combined);
          if (added) {
            s.plan(ctx.validation.length);
            await s.evaluate(candidate, 'validation', ctx.validation);
          }
        }
      }
    } catch (e) {
      if (OptimizationSession.isBudget(e)) stopped = 'budget';
      else throw s.fail(e);
    }
    if (this.opts.aggregation === 'weighted') this.applyWeights(s, baseline);
    const report = await s.finish(baseline, est, stopped);
    return { ...report, members: reports };
  }

  /** Weighted vote: reorders by weight × validation score by making `finish` see those scores; the raw scores stay on the report's candidates. */
  private applyWeights(s: OptimizationSession, baseline: ScoredCandidate): void {
    const w = (c: ScoredCandidate) => (c.id === baseline.id ? 1 : (this.opts.weights[c.source] ?? 1));
    const scored = s.candidates.top(Infinity, 'validation');
    const winner = [...scored].sort((a, b) => w(b) * b.validationScore! - w(a) * a.validationScore!)[0];
    if (winner) s.preferred = winner.id;
  }
}
