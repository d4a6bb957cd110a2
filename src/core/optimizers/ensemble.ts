import { makeCandidate } from './candidates';
import { sumEstimates, taskCallTokens, buildEstimate } from './estimate';
import { MemberClient, planMemberBudgets } from './ensembleBudget';
import { OptimizationSession, callsPerExample } from './session';
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
 *
 * Under a calls budget the members do not race for it: the Ensemble reserves its own
 * validation, then gives each member a share up front (planMemberBudgets: at least what it
 * needs to validate one candidate, the rest in proportion to its estimate); a member whose
 * minimum does not fit is not run. Each member keeps its own reserve for validating its best
 * candidates inside its share, and a member that finishes under its share hands the rest to
 * those still running. The report's `budgetPlan` says which members were cut short and why.
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
    const plan = this.planBudget(ctx, s);
    const running = this.members.map((_, i) => !plan || !plan.plans[i]!.cutShort);
    const settled = await Promise.allSettled(
      this.members.map(async (m, i) => {
        if (!running[i]) return undefined;
        if (!plan) return m.optimize({ ...ctx, store: s.store }, signal);
        try {
          return await m.optimize({ ...ctx, client: plan.clients[i]!, budget: plan.budgets[i], store: s.store }, signal);
        } finally {
          plan.release(i);
        }
      }),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw s.fail(failed.reason);
    const ran = settled.map((r) => (r as PromiseFulfilledResult<OptimizerReport | undefined>).value);
    const reports = ran.filter((r): r is OptimizerReport => r !== undefined);
    if (reports.length === 0) {
      // No member could validate anything within the budget: only the baseline is scored.
      const baseline = s.add(makeCandidate({ text: ctx.record.text, source: 'baseline', round: 0 })).candidate;
      try {
        if (s.remainingCalls() >= s.callsNeeded(baseline, ctx.validation)) await s.evaluate(baseline, 'validation', ctx.validation);
      } catch (e) {
        if (!OptimizationSession.isBudget(e)) throw s.fail(e);
      }
      const report = await s.finish(baseline, est, 'budget');
      return { ...report, members: [], ...(plan ? { budgetPlan: plan.plans } : {}) };
    }
    if (plan) {
      ran.forEach((r, i) => {
        const p = plan.plans[i]!;
        if (!r) return;
        p.usedCalls = plan.clients[i]!.spent().calls;
        if (r.stoppedReason === 'budget') {
          p.cutShort = `stopped at its share of the calls budget (${p.usedCalls} of the ${plan.finalShare[i]} call(s) it could use, other members' leftovers included): candidates it could not afford to validate were left out`;
        }
      });
      if (plan.plans.some((p) => p.cutShort)) stopped = 'budget';
    }
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
    return { ...report, members: reports, ...(plan ? { budgetPlan: plan.plans } : {}) };
  }

  /**
   * The members' shares of a calls budget (undefined without one): the calls left after the
   * Ensemble's own validation of the combined candidate, split by planMemberBudgets. Each
   * member gets a client that counts its own calls and a budget whose limit grows when a
   * member that finished hands back what it did not use.
   */
  private planBudget(ctx: OptimizerContext, s: OptimizationSession) {
    if (ctx.budget?.maxCalls === undefined) return undefined;
    const reserve = this.opts.combine ? ctx.validation.length * callsPerExample(ctx) : 0;
    const free = { ...ctx, budget: undefined };
    const available = Math.max(0, s.remainingCalls() - reserve);
    const plans = planMemberBudgets(
      this.members.map((m) => ({ optimizer: m.name, estimatedCalls: m.estimate(free).calls, minimumCalls: m.minimumCalls?.(ctx) ?? 2 * ctx.validation.length })),
      available,
    );
    const clients = this.members.map(() => new MemberClient(ctx.client));
    // Calls no member's estimate asked for, then what finished members did not use: shared by the members still running.
    let pool = Math.max(0, available - plans.reduce((n, p) => n + p.allottedCalls, 0));
    const active = plans.map((p) => !p.cutShort);
    const earlier = s.store.earlier.calls;
    const share = (i: number) => {
      const n = active.filter(Boolean).length;
      return plans[i]!.allottedCalls + (active[i] && n ? pool / n : 0);
    };
    // A member's session measures remainingCalls() as maxCalls − earlier attempts − its own calls: give back what earlier attempts spent.
    const budgets = plans.map((_, i) => ({
      get maxCalls() {
        return Math.floor(share(i)) + earlier;
      },
    }));
    const finalShare = plans.map((p) => p.allottedCalls);
    const release = (i: number) => {
      if (!active[i]) return;
      finalShare[i] = Math.floor(share(i));
      const n = active.filter(Boolean).length;
      const portion = pool / n;
      pool = pool - portion + Math.max(0, share(i) - clients[i]!.spent().calls);
      active[i] = false;
    };
    return { plans, clients, budgets, release, finalShare };
  }

  /** Weighted vote: reorders by weight × validation score by making `finish` see those scores; the raw scores stay on the report's candidates. */
  private applyWeights(s: OptimizationSession, baseline: ScoredCandidate): void {
    const w = (c: ScoredCandidate) => (c.id === baseline.id ? 1 : (this.opts.weights[c.source] ?? 1));
    const scored = s.candidates.top(Infinity, 'validation');
    const winner = [...scored].sort((a, b) => w(b) * b.validationScore! - w(a) * a.validationScore!)[0];
    if (winner) s.preferred = winner.id;
  }
}
