import { setMaxListeners } from 'node:events';
import type { EngineEvent } from '../engine/events';
import type { StrategyName } from '../strategies/types';
import { CancelledError, DatasetError, isAbortError, isOptimizerError, toOptimizerError } from '../errors';
import { requestParts } from '../runtime/nodeRequest';
import { runExample, meanScore } from '../evaluation/run';
import type { Example, ExampleResult } from '../evaluation/types';
import type { LlmClient, Spend } from '../llm/types';
import { createLimiter } from '../util/limit';
import { CandidateManager } from './candidates';
import { MetricsTracker } from './metricsTracker';
import { RunStore, hashOf } from './runStore';
import type { Candidate, CostEstimate, OptimizerContext, OptimizerReport, ScoredCandidate } from './types';

/** What the budget counts for `client` so far: its own sent calls, tokens and cost (usage() when it cannot say). */
export function spentBy(client: LlmClient): Spend {
  if (client.spent) return client.spent();
  const u = client.usage();
  return { calls: u.calls, tokens: u.promptTokens + u.completionTokens, costUsd: u.costUsd };
}

/**
 * The settings a recorded result depends on besides candidate and example: task model, node
 * messages, metrics, and with a node spec the parts of the node's request (requestParts: its
 * other messages, classes, parameters, memory, model parameters). Without a spec it is what it
 * was before specs existed, so older run logs stay reusable.
 */
export function runFingerprint(ctx: Pick<OptimizerContext, 'taskModel' | 'messages' | 'metrics' | 'spec'>): string {
  const request = requestParts(ctx.spec);
  const base = [ctx.taskModel ?? '', ctx.messages?.map((m) => [m.role, m.text]) ?? [], ctx.metrics.map((m) => (m.settings ? [m.name, m.weight, m.settings] : [m.name, m.weight]))];
  return request ? hashOf(...base, request) : hashOf(...base);
}

/** LLM calls one example evaluation makes at most: the task call and the scoring metrics' own calls (judges). */
export function callsPerExample(ctx: Pick<OptimizerContext, 'metrics'>): number {
  return 1 + ctx.metrics.reduce((n, m) => n + (m.calls ?? 0), 0);
}

/** An engine event without the fields the session fills in (distributive over the union). */
export type EventBody = EngineEvent extends infer E ? (E extends EngineEvent ? Omit<E, 'runId' | 'promptId' | 'time'> : never) : never;

/**
 * The machinery every optimizer shares for one run: candidates, tracker, resume store,
 * concurrency, events and progress. Evaluating a candidate on a split reuses results already
 * in the store (keyed by hash of candidate content + example id + model + metrics) and appends
 * new ones as they arrive.
 *
 * The first session on a store tracks the attempt's spending in it and counts what earlier
 * attempts of the run spent against the client's budget (a resumed run does not get a fresh one).
 */
export class OptimizationSession {
  readonly candidates = new CandidateManager();
  readonly tracker: MetricsTracker;
  readonly store: RunStore;
  private readonly limit: ReturnType<typeof createLimiter>;
  private readonly now: () => number;
  private readonly fingerprint: string;
  /** Set by an aggregator (weighted vote) to pick the best instead of the top validation score. */
  preferred?: string;
  private done = 0;
  private total = 0;
  private readonly startedAt: number;
  private readonly usageAtStart: number;
  private failedProposals?: { count: number; message: string };

  constructor(
    readonly ctx: OptimizerContext,
    readonly optimizer: string,
    readonly signal: AbortSignal | undefined,
  ) {
    this.now = ctx.now ?? Date.now;
    // Every concurrent example and LLM call listens to the run's signal.
    if (signal) setMaxListeners(0, signal);
    this.tracker = new MetricsTracker(this.now);
    this.store = ctx.store ?? RunStore.memory(ctx.runId);
    this.limit = createLimiter(ctx.concurrency ?? 4);
    this.fingerprint = runFingerprint(ctx);
    this.startedAt = this.now();
    this.usageAtStart = ctx.client.usage().calls;
    const base = spentBy(ctx.client);
    if (this.store.trackSpend(() => minus(spentBy(ctx.client), base))) {
      ctx.client.chargeBudget?.(this.store.earlier);
      // Each call is recorded in the run log before it is sent (counted on resume even after kill -9).
      const off = ctx.client.onSend?.(() => this.store.recordSent());
      if (off) this.store.onClose(off);
    }
  }

  emit(e: EventBody): void {
    const full = { ...e, runId: this.ctx.runId, promptId: this.ctx.record.id, time: this.now() } as EngineEvent;
    this.ctx.events?.(full);
    this.store.append({ type: 'event', event: full });
  }

  /** Throws CancelledError when the run's signal has aborted. */
  checkCancelled(): void {
    if (this.signal?.aborted) throw new CancelledError('The optimization was cancelled.');
  }

  /** Adds `n` example evaluations to the planned total (for progress). */
  plan(n: number): void {
    this.total += n;
    this.progress('planning');
  }

  progress(phase: string): void {
    const best = this.candidates.top(1, 'validation')[0];
    this.ctx.onProgress?.({ optimizer: this.optimizer, phase, done: this.done, total: Math.max(this.total, this.done), bestValidation: best?.validationScore });
  }

  /** Calls still allowed by the budget (Infinity without a calls budget), earlier attempts of the run counted. */
  remainingCalls(): number {
    const max = this.ctx.budget?.maxCalls;
    return max === undefined ? Infinity : max - this.store.earlier.calls - spentBy(this.ctx.client).calls;
  }

  /** LLM calls one example evaluation makes at most: the task call and the scoring metrics' calls (judges). */
  callsPerExample(): number {
    return callsPerExample(this.ctx);
  }

  /** Calls that scoring `c` on `examples` still needs, judges' included (results in the store need none). */
  callsNeeded(c: Candidate, examples: Example[]): number {
    return examples.filter((ex) => !this.store.hasResult(hashOf(c.id, ex.id, this.fingerprint))).length * this.callsPerExample();
  }

  /**
   * The leading candidates whose scoring on `examples` fits in the calls budget after `reserve`
   * (results recorded by an earlier attempt cost nothing), in order.
   */
  affordable<C extends Candidate>(candidates: C[], examples: Example[], reserve = 0): C[] {
    let left = this.remainingCalls() - reserve;
    const out: C[] = [];
    for (const c of candidates) {
      const need = this.callsNeeded(c, examples);
      if (need > left) break;
      left -= need;
      out.push(c);
    }
    return out;
  }

  /** Registers a candidate (deduplicated) and emits candidate_generated when it is new. */
  add(c: Candidate): { candidate: ScoredCandidate; added: boolean } {
    const r = this.candidates.add(c);
    if (r.added) {
      this.emit({ type: 'candidate_generated', strategy: c.source, iteration: c.round, characters: c.text.length + (c.demos ?? []).reduce((s, d) => s + d.input.length + d.output.length, 0) });
    }
    return r;
  }

  /** Marks a candidate rejected without scoring (e.g. it lost a variable). */
  reject(c: ScoredCandidate, reason: string): void {
    c.rejectedReason = reason;
    this.emit({ type: 'candidate_evaluated', strategy: c.source, iteration: c.round, kept: false, reason });
  }

  /**
   * Scores `c` on a split (mean over `examples`), running at most `concurrency` examples at
   * once. Results found in the store are reused. Rejects with CancelledError on abort and
   * rethrows budget/auth/dataset errors after every started example has settled (so finished
   * results are in the store).
   */
  async evaluate(c: ScoredCandidate, split: 'train' | 'validation', examples: Example[]): Promise<number> {
    const started = this.now();
    const results = await this.results(c, split, examples);
    if (c.source === 'baseline' && split === 'validation') assertMeasured(results);
    const score = meanScore(results);
    if (split === 'train') {
      c.trainScore = score;
      c.trainResults = results;
    } else {
      c.validationScore = score;
      c.validationResults = results;
      c.validatedAtCalls = this.ctx.client.usage().calls - this.usageAtStart;
    }
    this.tracker.record('executionTimes', this.now() - started, { candidate: c.id, split });
    this.tracker.record('successRates', results.length ? results.filter((r) => !r.error).length / results.length : 1, { candidate: c.id, split });
    this.emit({
      type: 'candidate_evaluated',
      strategy: c.source,
      iteration: c.round,
      score,
      kept: true,
      ...(c.trainScore !== undefined ? { trainScore: c.trainScore } : {}),
      ...(c.validationScore !== undefined ? { validationScore: c.validationScore } : {}),
    });
    return score;
  }

  /**
   * The per-example results of `c` on `examples` (logged under `split`), without setting the
   * candidate's split score: what GEPA's minibatches use. Same reuse, concurrency and error
   * handling as evaluate.
   */
  async results(c: Candidate, split: 'train' | 'validation', examples: Example[]): Promise<ExampleResult[]> {
    this.checkCancelled();
    const settled = await Promise.allSettled(
      examples.map((ex) =>
        this.limit(async () => {
          this.checkCancelled();
          const key = hashOf(c.id, ex.id, this.fingerprint);
          const old = this.store.getResult(key);
          if (old) {
            this.done += 1;
            return { ...old, reused: true };
          }
          const shared = this.store.pending.get(key);
          if (shared) {
            const r = await shared;
            this.done += 1;
            return r;
          }
          // A task answer kept by an earlier attempt whose scoring was cut short (no new task call).
          const knownOutput = this.store.getMemo<string>('task', key);
          let arrived: string | undefined;
          const p = runExample(
            { record: this.ctx.record, messages: this.ctx.messages, spec: this.ctx.spec, text: c.text, demos: c.demos, demoMode: c.demoMode, model: this.ctx.taskModel },
            ex,
            {
              client: this.ctx.client,
              metrics: this.ctx.metrics,
              signal: this.signal,
              judgeModel: this.ctx.judgeModel,
              knownOutput,
              onOutput: (o) => {
                arrived = o;
              },
            },
          );
          this.store.pending.set(key, p);
          let r: ExampleResult;
          try {
            r = await p;
          } catch (e) {
            // The answer arrived but scoring did not finish (cancelled, budget): keep the answer for a resumed run.
            if (arrived !== undefined) this.store.putMemo('task', key, arrived);
            throw e;
          } finally {
            this.store.pending.delete(key);
          }
          this.store.putResult(key, c.id, split, r, this.fingerprint);
          this.done += 1;
          this.progress(`${split}`);
          return r;
        }, this.signal),
      ),
    );
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await this.store.flush().catch(() => undefined);
      if (this.signal?.aborted || isAbortError(failed.reason)) throw new CancelledError('The optimization was cancelled.');
      throw toOptimizerError(failed.reason);
    }
    return settled.map((s) => (s as PromiseFulfilledResult<ExampleResult>).value);
  }

  /** Counts a proposal call that failed and was skipped (the report says so). */
  proposalFailed(message: string): void {
    this.failedProposals = { count: (this.failedProposals?.count ?? 0) + 1, message };
  }

  /** Whether `e` is the budget running out (the search then stops and reports what it has). */
  static isBudget(e: unknown): boolean {
    return isOptimizerError(e) && e.code === 'LLM_BUDGET_EXCEEDED';
  }

  /** Builds the report: best = highest validation score (baseline when nothing beats it). */
  async finish(baseline: ScoredCandidate, estimate: CostEstimate, stoppedReason?: 'budget'): Promise<OptimizerReport> {
    const validated = this.candidates.top(Infinity, 'validation');
    const bestOther =
      this.preferred !== undefined
        ? validated.find((c) => c.id === this.preferred && c.id !== baseline.id)
        : validated.find((c) => c.id !== baseline.id);
    const base = baseline.validationScore ?? 0;
    for (const c of validated) if (c.id !== baseline.id) this.tracker.record('improvementScores', c.validationScore! - base, { candidate: c.id });
    const accepted = bestOther !== undefined && bestOther.validationScore! > base;
    const best = accepted ? bestOther : baseline;
    const u = this.ctx.client.usage();
    const report: OptimizerReport = {
      runId: this.ctx.runId,
      optimizer: this.optimizer,
      promptId: this.ctx.record.id,
      ...(this.ctx.taskModel ? { taskModel: { name: this.ctx.taskModel, source: this.ctx.taskModelSource ?? 'configured' } } : {}),
      baseline,
      best,
      candidates: this.candidates.history(),
      improvement: (best.validationScore ?? 0) - base,
      accepted,
      ...(stoppedReason ? { stoppedReason } : {}),
      estimate,
      usage: { ...u, calls: u.calls - this.usageAtStart },
      ...(this.store.earlier.calls || this.store.earlier.tokens || this.store.earlier.costUsd ? { earlierUsage: { ...this.store.earlier } } : {}),
      reusedResults: this.store.reused,
      ...failedRunsOf(this.candidates.history()),
      ...(this.failedProposals ? { failedProposals: { ...this.failedProposals } } : {}),
      durationMs: this.now() - this.startedAt,
      metrics: this.tracker.summary(),
    };
    this.emit({
      type: 'optimization_complete',
      durationMs: report.durationMs,
      strategy: accepted ? best.source : null,
      accepted,
      improvement: report.improvement,
      confidence: best.validationScore ?? 0,
      iterations: Math.max(0, ...this.candidates.history().map((c) => c.round)),
      scoreBefore: base,
      scoreAfter: best.validationScore ?? 0,
      ...(accepted ? {} : { skippedReason: notAcceptedReason(report) }),
      cost: { calls: report.usage.calls, promptTokens: u.promptTokens, completionTokens: u.completionTokens, costUsd: u.costUsd },
    });
    this.store.append({ type: 'report', report: { ...report, candidates: report.candidates.map(stripResults), baseline: stripResults(baseline), best: stripResults(best) }, time: this.now() });
    await this.store.flush();
    return report;
  }

  /** Emits optimization_start. */
  start(): void {
    this.emit({
      type: 'optimization_start',
      nodeTitle: this.ctx.record.nodeTitle,
      kind: this.ctx.record.kind,
      // Dataset optimizers are not rule/LLM strategies; the event's list names the optimizer instead.
      strategies: [this.optimizer as unknown as StrategyName],
      scores: this.ctx.scores ?? { overall: 0, clarity: 0, efficiency: 0, structure: 0 },
    });
  }

  /** Emits optimization_error for `e` and returns it as an OptimizerError. */
  fail(e: unknown) {
    const err = toOptimizerError(e);
    this.emit({ type: 'optimization_error', code: err.code, message: err.message });
    return err;
  }
}

/** A candidate without its per-example results (for logs and compact reports). */
export function stripResults(c: ScoredCandidate): ScoredCandidate {
  const { trainResults: _t, validationResults: _v, ...rest } = c;
  return rest;
}

function minus(a: Spend, b: Spend): Spend {
  return { calls: a.calls - b.calls, tokens: a.tokens - b.tokens, costUsd: a.costUsd - b.costUsd };
}

/**
 * Throws DATASET_UNMEASURED when the current prompt's task call failed on every validation
 * example: the run would otherwise compare candidates against a baseline of 0 that no answer
 * earned, and end as "no candidate beat the baseline" when the cause was the calls.
 */
function assertMeasured(results: readonly ExampleResult[]): void {
  if (results.length === 0 || !results.every((r) => r.error)) return;
  const e = results[0]!.error!;
  throw new DatasetError(
    'DATASET_UNMEASURED',
    `The task call failed on all ${results.length} validation example(s), so the current prompt could not be measured and nothing was compared (${e.code}: ${e.message}).`,
  );
}

/** Task calls that failed over every candidate's results (each example run counted once per split). */
function failedRunsOf(candidates: readonly ScoredCandidate[]): Pick<OptimizerReport, 'failedRuns'> {
  let count = 0;
  let of = 0;
  let first: { code: string; message: string } | undefined;
  for (const c of candidates) {
    for (const r of [...(c.trainResults ?? []), ...(c.validationResults ?? [])]) {
      of += 1;
      if (!r.error) continue;
      count += 1;
      first ??= r.error;
    }
  }
  return count && first ? { failedRuns: { count, of, ...first } } : {};
}

/** Why nothing was accepted, in words that name the real cause. */
function notAcceptedReason(r: OptimizerReport): string {
  if (r.stoppedReason === 'budget') return 'budget exhausted before a better candidate was found';
  const measured = r.candidates.some((c) => c.id !== r.baseline.id && c.validationScore !== undefined);
  if (!measured && r.failedProposals) return `no candidate was measured: ${r.failedProposals.count} proposal call(s) failed (${r.failedProposals.message})`;
  return 'no candidate beat the baseline on validation';
}
