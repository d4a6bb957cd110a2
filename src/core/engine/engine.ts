import { setMaxListeners } from 'node:events';
import type { Analysis, AnalysisInput } from '../analysis/types';
import type { PromptRecord } from '../dsl/types';
import { diffVariables } from '../dsl/variables';
import { CancelledError, EngineError, OptimizerError, isAbortError, toOptimizerError } from '../errors';
import type { Strategy, StrategyCost, StrategyName } from '../strategies/types';
import { createLimiter } from '../util/limit';
import type { EngineConfig } from './config';
import type { EngineEvent, EngineEventSink } from './events';
import type { EvidenceRecord } from '../evidence/gather';
import { PREFILTER_TOLERANCE, type EvidenceGate } from './gate';
import { better, gateChains } from './choice';
import { causeOfError, describeRejections, type RejectCause } from './reasons';
import { refusedWithEvidence, unprovenOf } from './unproven';
import {
  ZERO_COST,
  addCost,
  assembleResult,
  round,
  scoresOf,
  type CandidateSummary,
  type Chain,
  type OptimizationFailure,
  type OptimizationResult,
  type RunOutcome,
} from './result';

export { round } from './result';
export type { CandidateSummary, OptimizationFailure, OptimizationResult, RunOutcome, Scores } from './result';

export interface EngineDeps {
  analyze: (input: AnalysisInput) => Analysis;
  /** Resolves a strategy by name (the caller decides LLM fallbacks). */
  strategy: (name: StrategyName) => Strategy;
  events?: EngineEventSink;
  now?: () => number;
  /** The evidence gate for LLM proposals (absent: the heuristic decides, as without a model). */
  evidence?: EvidenceGate;
}

export interface OptimizeOptions {
  runId: string;
  signal?: AbortSignal;
  /** Optimize even when the prompt already scores at or above the threshold. */
  force?: boolean;
}

/** LLM answers that are refused as candidates (the strategy stops; the prompt goes on). Other errors fail the prompt. */
const CANDIDATE_FAULTS = new Set(['LLM_REJECTED_CANDIDATE', 'LLM_BAD_RESPONSE', 'LLM_TRUNCATED']);

/**
 * The multi-strategy × iteration loop. For each prompt: baseline analysis → for each strategy,
 * up to maxIterations refinements, each fed the best text so far, stopping at the first step
 * that does not improve by minImprovement or whose confidence is below minConfidence → best
 * across strategies (ties: confidence, then shorter text). A failing prompt never stops others.
 */
export class OptimizationEngine {
  constructor(private readonly deps: EngineDeps) {}

  private emit(e: EngineEvent): void {
    try {
      this.deps.events?.(e);
    } catch {
      // A failing listener must not break a run.
    }
  }

  private now(): number {
    return this.deps.now ? this.deps.now() : Date.now();
  }

  async optimizeAll(prompts: PromptRecord[], config: EngineConfig, opts: OptimizeOptions): Promise<RunOutcome> {
    // Every queued prompt and in-flight request listens on the one signal.
    if (opts.signal) setMaxListeners(0, opts.signal);
    const limit = createLimiter(config.concurrency);
    const results: (OptimizationResult | undefined)[] = new Array(prompts.length);
    const failures: OptimizationFailure[] = [];
    let cancelled = false;
    await Promise.all(
      prompts.map((p, i) =>
        limit(async () => {
          try {
            results[i] = await this.optimizePrompt(p, config, opts);
          } catch (e) {
            const err = toOptimizerError(e);
            if (err instanceof CancelledError) {
              cancelled = true;
              return;
            }
            failures.push({ promptId: p.id, nodeTitle: p.nodeTitle, error: err });
          }
        }, opts.signal).catch((e) => {
          // Still queued when cancelled.
          if (opts.signal?.aborted || isAbortError(e)) cancelled = true;
          else failures.push({ promptId: p.id, nodeTitle: p.nodeTitle, error: toOptimizerError(e) });
        }),
      ),
    );
    const done = results.filter((r): r is OptimizationResult => r !== undefined);
    return {
      runId: opts.runId,
      results: done,
      failures,
      cancelled: cancelled || !!opts.signal?.aborted,
      cost: done.reduce((c, r) => addCost(c, r.cost), ZERO_COST),
    };
  }

  async optimizePrompt(prompt: PromptRecord, config: EngineConfig, opts: OptimizeOptions): Promise<OptimizationResult> {
    const { runId, signal } = opts;
    const base = { runId, promptId: prompt.id };
    const started = this.now();
    try {
      throwIfAborted(signal);
      const baseline = this.deps.analyze({ text: prompt.text, kind: prompt.kind, role: prompt.role });
      this.emit({
        type: 'optimization_start',
        ...base,
        time: started,
        nodeTitle: prompt.nodeTitle,
        kind: prompt.kind,
        strategies: config.strategies,
        scores: scoresOf(baseline),
      });

      const result = (chain: Chain | undefined, candidates: CandidateSummary[], cost: StrategyCost, skipped?: string) =>
        assembleResult(prompt, baseline, chain, candidates, cost, skipped);

      if (!prompt.text.trim()) {
        const r = result(undefined, [], ZERO_COST, 'the prompt is empty');
        this.complete(r, runId, started);
        return r;
      }
      if (!opts.force && baseline.overall >= config.scoreThreshold) {
        const r = result(
          undefined,
          [],
          ZERO_COST,
          `already scores ${round(baseline.overall)}, at or above the threshold ${config.scoreThreshold}`,
        );
        this.complete(r, runId, started);
        return r;
      }

      // The strategies run at once (LLM requests queue in the client's concurrency limit); the
      // first that fails for real stops the others. Candidates and the choice follow the
      // configured order, so the outcome does not depend on which answer came first.
      const siblings = new AbortController();
      const onAbort = () => siblings.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) siblings.abort();
      let runs: PromiseSettledResult<{ chain?: Chain; cost: StrategyCost; budget?: OptimizerError; candidates: CandidateSummary[] }>[];
      try {
        runs = await Promise.allSettled(
          config.strategies.map(async (name) => {
            const own: CandidateSummary[] = [];
            try {
              throwIfAborted(siblings.signal);
              const out = await this.runStrategy(prompt, baseline, this.deps.strategy(name), config, own, { ...opts, signal: siblings.signal });
              return { ...out, candidates: own };
            } catch (e) {
              siblings.abort();
              throw e;
            }
          }),
        );
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      throwIfAborted(signal);
      const failure = runs.find(
        (r): r is PromiseRejectedResult => r.status === 'rejected' && !(toOptimizerError(r.reason) instanceof CancelledError),
      );
      if (failure) throw failure.reason;
      const candidates: CandidateSummary[] = [];
      let cost = ZERO_COST;
      let best: Chain | undefined;
      let budget: OptimizerError | undefined;
      const chains: Chain[] = [];
      for (const run of runs) {
        if (run.status === 'rejected') throw new CancelledError();
        candidates.push(...run.value.candidates);
        cost = addCost(cost, run.value.cost);
        budget ??= run.value.budget;
        if (run.value.chain) chains.push(run.value.chain);
      }
      let evidence: { record?: EvidenceRecord; note?: string } = {};
      if (this.gateOn(config)) {
        const gated = await gateChains(
          { evidence: this.deps.evidence!, typeOf: (n) => this.deps.strategy(n).type, emit: (e) => this.emit(e), now: () => this.now() },
          { prompt, baseline, chains, candidates, config, runId: opts.runId, signal: opts.signal },
        );
        best = gated.best;
        evidence = { record: gated.evidence, note: gated.note };
        cost = addCost(cost, gated.cost);
      } else for (const chain of chains) if (!best || better(chain, best)) best = chain;
      // Nothing found before the budget ran out: that is the answer to give, not "no improvement".
      if (!best && budget) throw budget;
      const r = result(best, candidates, cost, best ? undefined : describeRejections(candidates));
      if (best && evidence.record) r.evidence = evidence.record;
      if (best && evidence.note) r.evidenceNote = evidence.note;
      if (!best && this.gateOn(config)) {
        const u = unprovenOf(chains, candidates, baseline.overall, prompt.text);
        if (u) r.unproven = u;
      }
      const refused = refusedWithEvidence(candidates);
      if (refused.length) r.refused = refused;
      this.complete(r, runId, started);
      return r;
    } catch (e) {
      const err = toOptimizerError(e);
      if (!(err instanceof CancelledError)) {
        this.emit({ type: 'optimization_error', ...base, time: this.now(), code: err.code, message: err.message });
      }
      throw err instanceof CancelledError
        ? err
        : new EngineError('ENGINE_PROMPT_FAILED', `optimizing '${prompt.nodeTitle}' failed: ${err.message}`, { promptId: prompt.id }, err);
    }
  }

  private async runStrategy(
    prompt: PromptRecord,
    baseline: Analysis,
    strategy: Strategy,
    config: EngineConfig,
    candidates: CandidateSummary[],
    opts: OptimizeOptions,
  ): Promise<{ chain?: Chain; cost: StrategyCost; budget?: OptimizerError }> {
    const base = { runId: opts.runId, promptId: prompt.id, strategy: strategy.name };
    let cost = ZERO_COST;
    let current: { text: string; analysis: Analysis } = { text: prompt.text, analysis: baseline };
    let chain: Chain | undefined;
    for (let iteration = 1; iteration <= config.maxIterations; iteration++) {
      throwIfAborted(opts.signal);
      let out;
      try {
        out = await strategy.apply({
          text: current.text,
          analysis: current.analysis,
          kind: prompt.kind,
          role: prompt.role,
          ...(prompt.options ? { options: prompt.options } : {}),
          iteration,
          signal: opts.signal,
        });
      } catch (e) {
        const err = toOptimizerError(e);
        if (err instanceof CancelledError || opts.signal?.aborted) throw new CancelledError();
        // A refused candidate (variables changed, truncated, bad answer) ends this strategy, not the prompt.
        if (CANDIDATE_FAULTS.has(err.code)) {
          cost = addCost(cost, (err as { cost?: StrategyCost }).cost);
          candidates.push({ strategy: strategy.name, iteration, kept: false, reason: err.message, cause: causeOfError(err) });
          this.emit({ type: 'candidate_evaluated', ...base, iteration, time: this.now(), kept: false, reason: err.message });
          break;
        }
        // The budget ran out: this strategy stops with what it has; the others keep theirs.
        if (err.code === 'LLM_BUDGET_EXCEEDED') {
          candidates.push({ strategy: strategy.name, iteration, kept: false, reason: err.message, cause: 'budget' });
          this.emit({ type: 'candidate_evaluated', ...base, iteration, time: this.now(), kept: false, reason: err.message });
          return { chain, cost, budget: err };
        }
        throw err;
      }
      cost = addCost(cost, out.cost);
      this.emit({
        type: 'candidate_generated',
        ...base,
        iteration,
        time: this.now(),
        characters: out.text.length,
        confidence: out.confidence,
        cost: out.cost,
      });

      const reject = (reason: string, cause: RejectCause, score?: number) => {
        candidates.push({ strategy: strategy.name, iteration, score, confidence: out.confidence, kept: false, reason, cause });
        this.emit({
          type: 'candidate_evaluated',
          ...base,
          iteration,
          time: this.now(),
          score,
          confidence: out.confidence,
          kept: false,
          reason,
        });
      };

      if (out.text === current.text) {
        reject('no change', 'no-change');
        break;
      }
      if (!out.text.trim()) {
        reject('the candidate is empty', 'empty');
        break;
      }
      const vd = diffVariables(prompt.text, out.text);
      if (vd.missing.length || vd.added.length) {
        reject(
          [vd.missing.length ? `lost ${vd.missing.join(', ')}` : '', vd.added.length ? `added ${vd.added.join(', ')}` : '']
            .filter(Boolean)
            .join('; '),
          'variables-changed',
        );
        break;
      }
      const analysis = this.deps.analyze({ text: out.text, kind: prompt.kind, role: prompt.role });
      const gain = analysis.overall - current.analysis.overall;
      if (out.confidence < config.minConfidence) {
        reject(`confidence ${out.confidence.toFixed(2)} is below ${config.minConfidence}`, 'below-confidence', analysis.overall);
        break;
      }
      // With the evidence gate, the heuristic only filters out clear drops: the cases decide.
      const gated = strategy.type === 'llm' && this.gateOn(config);
      if (gated ? gain < -PREFILTER_TOLERANCE : gain < config.minImprovement || gain <= 0) {
        reject(
          gated
            ? `score ${round(analysis.overall)} drops more than ${PREFILTER_TOLERANCE} points below ${round(current.analysis.overall)} (pre-filter before the test cases)`
            : `score ${round(analysis.overall)} does not improve on ${round(current.analysis.overall)}`,
          'worse-score',
          analysis.overall,
        );
        break;
      }
      candidates.push({ strategy: strategy.name, iteration, score: analysis.overall, confidence: out.confidence, kept: true });
      this.emit({
        type: 'candidate_evaluated',
        ...base,
        iteration,
        time: this.now(),
        score: analysis.overall,
        confidence: out.confidence,
        kept: true,
      });
      chain = {
        strategy: strategy.name,
        text: out.text,
        analysis,
        confidence: Math.min(chain?.confidence ?? 1, out.confidence),
        iterations: iteration,
        rationale: [...(chain?.rationale ?? []), out.rationale].filter(Boolean),
        changes: [...(chain?.changes ?? []), ...out.changes],
      };
      current = { text: out.text, analysis };
      // A step the heuristic sees as no gain goes to the cases as it is; refining it further would be blind.
      if (gated && gain < config.minImprovement) break;
    }
    return { chain, cost };
  }

  private gateOn(config: EngineConfig): boolean {
    return !!this.deps.evidence && config.evidence.mode !== 'off';
  }

  private complete(r: OptimizationResult, runId: string, started: number): void {
    this.emit({
      type: 'optimization_complete',
      runId,
      promptId: r.promptId,
      time: this.now(),
      durationMs: this.now() - started,
      strategy: r.strategy,
      accepted: r.accepted,
      improvement: r.improvement,
      confidence: r.confidence,
      iterations: r.iterations,
      scoreBefore: r.before.overall,
      scoreAfter: r.after.overall,
      skippedReason: r.skippedReason,
      causes: r.causes,
      ...(r.evidence ? { evidence: { verdict: r.evidence.verdict, winRate: r.evidence.winRate, lowerBound: r.evidence.lowerBound, casesFile: r.evidence.casesFile } } : {}),
      cost: r.cost,
    });
  }
}

function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError();
}
