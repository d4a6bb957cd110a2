import { cosine } from '../evaluation/metrics';
import { demoModesFor, nodeInput } from '../runtime/nodeRequest';
import { exampleOutput } from '../runtime/render';
import type { Demo, DemoMode, Example } from '../evaluation/types';
import { estimateTokens } from '../llm/cost';
import { makeCandidate } from './candidates';
import { buildEstimate, taskCallTokens } from './estimate';
import { OptimizationSession } from './session';
import type { CostEstimate, OptimizerContext, OptimizerReport, PromptOptimizer, ScoredCandidate } from './types';
import { endpointEmbedder, type Embedder } from './vectors';

export interface KnnOptions {
  /** Demos per candidate. Default 3. */
  k?: number;
  /** Demo placements tried. Default ['block', 'pairs']. */
  modes?: DemoMode[];
  /** Also score each candidate on the train examples it does not use as demos. Default true. */
  scoreTrain?: boolean;
}

/**
 * Chooses `k` train examples that cover the validation inputs: greedy facility location,
 * each step adding the demo that most raises Σ over validation inputs of the best similarity
 * to a chosen demo. `sim[v][t]` is the similarity of validation input v and train example t.
 */
export function coverDemos(sim: number[][], k: number): number[] {
  const nTrain = sim[0]?.length ?? 0;
  const chosen: number[] = [];
  const best = sim.map(() => 0);
  for (let step = 0; step < Math.min(k, nTrain); step++) {
    let pick = -1;
    let gain = -Infinity;
    for (let t = 0; t < nTrain; t++) {
      if (chosen.includes(t)) continue;
      let g = 0;
      for (let v = 0; v < sim.length; v++) g += Math.max(0, sim[v]![t]! - best[v]!);
      if (g > gain + 1e-12) {
        gain = g;
        pick = t;
      }
    }
    if (pick < 0) break;
    chosen.push(pick);
    for (let v = 0; v < sim.length; v++) best[v] = Math.max(best[v]!, sim[v]![pick]!);
  }
  return chosen;
}

/** The `k` train examples with the highest summed similarity to the validation inputs (nearest-neighbour votes). */
export function nearestDemos(sim: number[][], k: number): number[] {
  const nTrain = sim[0]?.length ?? 0;
  const votes = Array.from({ length: nTrain }, (_, t) => sim.reduce((s, row) => s + row[t]!, 0));
  return votes
    .map((v, t) => ({ v, t }))
    .sort((a, b) => b.v - a.v || a.t - b.t)
    .slice(0, k)
    .map((x) => x.t);
}

/**
 * KNN few-shot (after DSPy's KNNFewShot, for a static Dify prompt): embeds the inputs (the
 * endpoint's embeddings; local TF-IDF when none), picks k train demos that cover the
 * validation inputs (greedy coverage, and nearest-neighbour votes), inserts them as an
 * examples block in the system prompt or as user/assistant pairs, and measures every
 * candidate on validation.
 */
export class KnnOptimizer implements PromptOptimizer {
  readonly name = 'knn';
  readonly opts: Required<KnnOptions>;

  constructor(opts: KnnOptions = {}) {
    this.opts = { k: 3, modes: ['block', 'pairs'], scoreTrain: true, ...opts };
    if (!Number.isInteger(this.opts.k) || this.opts.k < 1) throw new RangeError('KNN k must be a positive integer');
  }

  /** The placements tried: those asked for that the node can send (Dify's own templates take the block only; see runtime/nodeRequest). */
  modesFor(ctx: Pick<OptimizerContext, 'spec'>): DemoMode[] {
    const can = demoModesFor(ctx.spec);
    const modes = this.opts.modes.filter((m) => can.includes(m));
    return modes.length ? modes : ['block'];
  }

  /** Up to 2 selections × modes candidates, each on validation (and the rest of train), plus the baseline. */
  estimate(ctx: OptimizerContext): CostEstimate {
    const k = Math.min(this.opts.k, ctx.train.length);
    const cands = 2 * this.modesFor(ctx).length;
    const perTrain = this.opts.scoreTrain ? Math.max(0, ctx.train.length - k) : 0;
    const taskCalls = (1 + cands) * ctx.validation.length + ctx.train.length * (this.opts.scoreTrain ? 1 : 0) + cands * perTrain;
    const inputs = [...ctx.train, ...ctx.validation].map((e) => nodeInput(ctx, e));
    const demoChars = inputs.slice(0, k).reduce((s, t) => s + t.length, 0) + 40 * k;
    return buildEstimate(ctx, {
      taskCalls,
      embeddingCalls: ctx.embedder && !ctx.embedder.stable ? 0 : 1,
      task: taskCallTokens(ctx, demoChars),
      embedTokens: inputs.reduce((s, t) => s + estimateTokens(t), 0),
    });
  }

  /** The baseline and one demo candidate on validation, plus the embedding call. */
  minimumCalls(ctx: OptimizerContext): number {
    return 2 * ctx.validation.length + (ctx.embedder && !ctx.embedder.stable ? 0 : 1);
  }

  async optimize(ctx: OptimizerContext, signal?: AbortSignal): Promise<OptimizerReport> {
    const s = new OptimizationSession(ctx, this.name, signal);
    const est = this.estimate(ctx);
    s.start();
    const baseline = s.add(makeCandidate({ text: ctx.record.text, source: 'baseline', round: 0 })).candidate;
    let stopped: 'budget' | undefined;
    const embedder: Embedder = ctx.embedder ?? endpointEmbedder(ctx.client, { store: s.store, onFallback: (m) => s.emit({ type: 'optimization_error', code: 'LLM_EMBEDDINGS_FALLBACK', message: m }) });
    // The input of an example is what the node receives at run time (its user turn), not the variables no message references.
    const inputOf = (e: Example) => nodeInput(ctx, e);
    try {
      s.plan(ctx.validation.length);
      await s.evaluate(baseline, 'validation', ctx.validation);
      const vectors = await embedder.embed([...ctx.train.map(inputOf), ...ctx.validation.map(inputOf)], signal);
      const tv = vectors.slice(0, ctx.train.length);
      const vv = vectors.slice(ctx.train.length);
      const sim = vv.map((v) => tv.map((t) => cosine(v, t)));
      const k = Math.min(this.opts.k, ctx.train.length);
      const selections = [coverDemos(sim, k), nearestDemos(sim, k)];
      const demosOf = (idx: number[]): Demo[] => idx.map((i) => ({ exampleId: ctx.train[i]!.id, input: inputOf(ctx.train[i]!), output: exampleOutput(ctx.train[i]!) }));
      const fresh = [];
      for (const sel of selections) {
        for (const mode of this.modesFor(ctx)) {
          const { candidate, added } = s.add(makeCandidate({ text: ctx.record.text, demos: demosOf(sel), demoMode: mode, source: this.name, round: 1, parentId: baseline.id }));
          if (added) fresh.push(candidate);
        }
      }
      const run = s.affordable(fresh, ctx.validation);
      if (run.length < fresh.length) stopped = 'budget';
      s.plan(run.length * ctx.validation.length);
      await Promise.all(run.map((c) => s.evaluate(c, 'validation', ctx.validation)));
      if (this.opts.scoreTrain && !stopped) {
        const restOf = (c: ScoredCandidate) => ctx.train.filter((e) => !c.demos!.some((d) => d.exampleId === e.id));
        const trainCost = s.callsNeeded(baseline, ctx.train) + run.reduce((n, c) => n + s.callsNeeded(c, restOf(c)), 0);
        if (trainCost <= s.remainingCalls()) {
          s.plan(ctx.train.length + run.reduce((n, c) => n + restOf(c).length, 0));
          await s.evaluate(baseline, 'train', ctx.train);
          await Promise.all(
            run.map((c) => {
              const rest = restOf(c);
              return rest.length ? s.evaluate(c, 'train', rest) : Promise.resolve(0);
            }),
          );
        }
      }
    } catch (e) {
      if (OptimizationSession.isBudget(e)) stopped = 'budget';
      else throw s.fail(e);
    }
    return s.finish(baseline, est, stopped);
  }
}
