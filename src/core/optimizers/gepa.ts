import { seededRandom } from '../evaluation/dataset';
import { feedbackOf } from '../evaluation/metrics';
import { nodeInput } from '../runtime/nodeRequest';
import type { Example, ExampleResult, Feedback } from '../evaluation/types';
import { estimateTokens } from '../llm/cost';
import type { ChatMessage } from '../llm/types';
import { makeCandidate } from './candidates';
import { buildEstimate, taskCallTokens } from './estimate';
import { paretoFront, pickFromFront } from './pareto';
import { proposalKnown, proposeInstruction, variablesChanged } from './proposals';
import { OptimizationSession, callsPerExample } from './session';
import type { CostEstimate, OptimizerContext, OptimizerReport, PromptOptimizer, ScoredCandidate } from './types';

/** Preset budgets, as DSPy's GEPA: the number of new instructions the run may propose. */
export const GEPA_AUTO = { light: 6, medium: 12, heavy: 18 } as const;
export type GepaAuto = keyof typeof GEPA_AUTO;

/** GEPA settings. Budget: `maxMetricCalls` when given, else the `auto` preset (default light). */
export interface GepaOptions {
  /** Preset: light (6 proposals), medium (12), heavy (18); the metric-call budget follows from it. */
  auto?: GepaAuto;
  /** Example evaluations the search may make (each one a task call and its scoring), results reused from the run log included. */
  maxMetricCalls?: number;
  /** Train examples per reflection step. Default 3. */
  minibatchSize?: number;
  /** Reflection temperature. Default 1. */
  temperature?: number;
  /** Seed of the minibatch order and the parent draws. Default 0. */
  seed?: number;
  /** 'pareto' (default): parents drawn from the Pareto front; 'best': always the best mean on validation. */
  selection?: 'pareto' | 'best';
}

const SYSTEM = [
  'You are a reflective instruction editor for the prompts of an LLM application (a Dify workflow node).',
  'You are shown the current instruction, inputs it was run on, the answers it led to and feedback on each answer.',
  'Write an improved instruction: fix what the feedback says went wrong, keep what went right, and state any rule the feedback implies in general terms so it also holds for other inputs.',
  'The instruction is used as is for every input (a static prompt): write one instruction, not code and not a list of answers.',
  'Keep every template variable exactly as written, the same number of times: {{#node.var#}}, {{#sys.query#}}, {{#context#}}, {{@x.y@}}, {{name}}, {% … %}.',
  'Reply with a JSON object: {"instruction": "<the complete new instruction>"}.',
].join('\n');

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The reflection request: the current instruction and a minibatch with answers and feedback. */
export function reflectionMessages(text: string, items: Array<{ input: string; answer: string; feedback: string }>): ChatMessage[] {
  const blocks = items.map(
    (it, i) => `### Example ${i + 1}\nInput:\n<input>\n${clip(it.input, 1500)}\n</input>\nAnswer:\n<answer>\n${clip(it.answer, 1500)}\n</answer>\nFeedback:\n<feedback>\n${clip(it.feedback, 800)}\n</feedback>`,
  );
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Current instruction:\n<instruction>\n${text}\n</instruction>\n\nThe instruction was run on these examples (the input is what the node received):\n\n${blocks.join('\n\n')}\n\nWrite the new instruction.`,
    },
  ];
}

/**
 * GEPA (Agrawal et al., 2025; after DSPy's dspy.GEPA, for one static Dify prompt): reflective
 * evolution of the instruction with a Pareto front.
 *
 * The baseline is scored on validation. Each step draws a parent from the Pareto front over
 * per-example validation scores, runs it on a minibatch of train examples, and shows the
 * answers with the metric's textual feedback to a reflection call that writes a new
 * instruction (variables kept, or the proposal is rejected). The child runs on the same
 * minibatch; only when it beats its parent there is it scored on the whole validation split
 * and joins the front. The result is the best mean on validation: a single instruction.
 *
 * Budget: metric calls (example evaluations), from `maxMetricCalls` or the `auto` preset; a
 * step starts only when what it can cost, the validation of its child included, fits in what
 * remains of it and of the client's calls budget. Stops when a candidate scores 1 on every
 * validation example. Results, proposals and draws replay from the run log on resume.
 */
export class GepaOptimizer implements PromptOptimizer {
  readonly name = 'gepa';
  readonly opts: Required<Omit<GepaOptions, 'maxMetricCalls'>> & { maxMetricCalls?: number };

  constructor(opts: GepaOptions = {}) {
    this.opts = { auto: 'light', minibatchSize: 3, temperature: 1, seed: 0, selection: 'pareto', ...opts };
    if (!(this.opts.auto in GEPA_AUTO)) throw new RangeError('GEPA auto must be light, medium or heavy');
    if (!Number.isInteger(this.opts.minibatchSize) || this.opts.minibatchSize < 1) throw new RangeError('GEPA minibatch size must be a positive integer');
    if (this.opts.maxMetricCalls !== undefined && (!Number.isInteger(this.opts.maxMetricCalls) || this.opts.maxMetricCalls < 1)) throw new RangeError('GEPA max metric calls must be a positive integer');
  }

  private mb(ctx: OptimizerContext): number {
    return Math.max(1, Math.min(this.opts.minibatchSize, ctx.train.length));
  }

  /** The metric-call budget and the most proposals it allows. */
  plan(ctx: OptimizerContext): { metricCalls: number; proposals: number } {
    const step = 2 * this.mb(ctx);
    const v = ctx.validation.length;
    if (this.opts.maxMetricCalls !== undefined) {
      const m = this.opts.maxMetricCalls;
      return { metricCalls: m, proposals: Math.max(0, Math.floor((m - v) / step)) };
    }
    const n = GEPA_AUTO[this.opts.auto];
    return { metricCalls: v + n * (step + v), proposals: n };
  }

  /** At most: the metric-call budget as task calls, one reflection call per proposal. */
  estimate(ctx: OptimizerContext): CostEstimate {
    const { metricCalls, proposals } = this.plan(ctx);
    const textT = estimateTokens(ctx.record.text);
    const mb = this.mb(ctx);
    return buildEstimate(ctx, {
      taskCalls: metricCalls,
      proposalCalls: proposals,
      task: taskCallTokens(ctx),
      proposal: { prompt: 300 + textT + mb * 200, completion: Math.ceil(textT * 1.5) + 60 },
    });
  }

  /** Baseline on validation, one step (parent and child on a minibatch, one reflection) and the child's validation. */
  minimumCalls(ctx: OptimizerContext): number {
    return (2 * ctx.validation.length + 2 * this.mb(ctx)) * callsPerExample(ctx) + 1;
  }

  async optimize(ctx: OptimizerContext, signal?: AbortSignal): Promise<OptimizerReport> {
    const s = new OptimizationSession(ctx, this.name, signal);
    const est = this.estimate(ctx);
    const { metricCalls: budget, proposals: maxProposals } = this.plan(ctx);
    const mb = this.mb(ctx);
    const v = ctx.validation.length;
    const proposer = ctx.proposer ?? ctx.client;
    const random = seededRandom(this.opts.seed);
    s.start();
    const baseline = s.add(makeCandidate({ text: ctx.record.text, source: 'baseline', round: 0 })).candidate;
    const pool: ScoredCandidate[] = [];
    let used = 0;
    let proposals = 0;
    let stopped: 'budget' | undefined;
    const byId = new Map(ctx.train.map((e) => [e.id, e]));
    // Minibatches: train in a seeded order, reshuffled each epoch.
    let order: Example[] = [];
    const nextBatch = (): Example[] => {
      const out: Example[] = [];
      while (out.length < mb) {
        if (order.length === 0) order = shuffle(ctx.train, random);
        const ex = order.shift()!;
        if (!out.includes(ex)) out.push(ex);
      }
      return out;
    };
    const perfect = (c: ScoredCandidate) => c.validationResults?.every((r) => r.score >= 1) === true;
    const pickParent = (): ScoredCandidate => {
      if (this.opts.selection === 'best' || pool.length === 1) return [...pool].sort((a, b) => b.validationScore! - a.validationScore!)[0]!;
      const front = paretoFront(pool.map((c) => ({ id: c.id, scores: c.validationResults!.map((r) => r.score) })));
      const id = pickFromFront(front, random);
      return pool.find((c) => c.id === id) ?? pool[0]!;
    };
    try {
      s.plan(v);
      await s.evaluate(baseline, 'validation', ctx.validation);
      used += v;
      pool.push(baseline);
      while (proposals < maxProposals && used + 2 * mb + v <= budget) {
        s.checkCancelled();
        if (pool.some(perfect)) break;
        const parent = pickParent();
        const batch = nextBatch();
        const per = s.callsPerExample();
        const need = s.callsNeeded(parent, batch) + (mb + v) * per + 1;
        if (s.remainingCalls() < need) {
          stopped = 'budget';
          break;
        }
        s.plan(2 * mb);
        const before = await s.results(parent, 'train', batch);
        used += batch.length;
        const failing = before.filter((r) => r.score < 1);
        if (failing.length === 0) continue; // nothing to learn from a perfect minibatch
        const items = batch.map((ex, i) => ({ input: nodeInput(ctx, ex), answer: before[i]!.output, feedback: feedbackOf(before[i]!, ex) }));
        const msgs = reflectionMessages(parent.text, items);
        if (!proposalKnown(s, msgs) && s.remainingCalls() < 1 + (mb + v) * per) {
          stopped = 'budget';
          break;
        }
        proposals += 1;
        const text = await proposeInstruction(s, proposer, msgs, { model: ctx.proposerModel, temperature: this.opts.temperature, signal, tag: 'optimizer:gepa', label: 'GEPA reflection' });
        if (!text) continue;
        const answered: Feedback[] = failing.map((r) => ({ exampleId: r.exampleId, score: r.score, text: feedbackOf(r, byId.get(r.exampleId)!) }));
        const { candidate: child, added } = s.add(makeCandidate({ text, source: this.name, round: parent.round + 1, parentId: parent.id, answered }));
        if (!added) continue;
        const changed = variablesChanged(ctx.record.text, text);
        if (changed) {
          s.reject(child, changed);
          continue;
        }
        const after = await s.results(child, 'train', batch);
        used += batch.length;
        const sum = (rs: ExampleResult[]) => rs.reduce((n, r) => n + r.score, 0);
        child.minibatch = { exampleIds: batch.map((e) => e.id), parent: sum(before), child: sum(after) };
        if (sum(after) <= sum(before)) {
          s.reject(child, `did not beat its parent on its minibatch (${fmt(sum(after))} vs ${fmt(sum(before))} of ${batch.length})`);
          continue;
        }
        s.plan(v);
        await s.evaluate(child, 'validation', ctx.validation);
        used += v;
        pool.push(child);
      }
    } catch (e) {
      if (OptimizationSession.isBudget(e)) stopped = 'budget';
      else throw s.fail(e);
    }
    return s.finish(baseline, est, stopped);
  }
}

const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));

function shuffle<T>(xs: readonly T[], random: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
