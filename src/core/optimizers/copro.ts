import { exampleInput, exampleOutput } from '../runtime/render';
import { estimateTokens } from '../llm/cost';
import type { ChatMessage } from '../llm/types';
import { makeCandidate } from './candidates';
import { buildEstimate, taskCallTokens } from './estimate';
import { proposalKnown, proposeInstruction, variablesChanged } from './proposals';
import { OptimizationSession, callsPerExample } from './session';
import type { CostEstimate, OptimizerContext, OptimizerReport, PromptOptimizer, ScoredCandidate } from './types';

/** COPRO settings (defaults as DSPy: breadth 10, depth 3, temperature 1.4). */
export interface CoproOptions {
  /** New instructions per round (the first round proposes breadth − 1, plus the current one). Default 10. */
  breadth?: number;
  /** Rounds of proposals. Default 3. */
  depth?: number;
  /** Proposal temperature. Default 1.4. */
  temperature?: number;
  /** Candidates (best on train) scored on validation at the end. Default 3. */
  validateTop?: number;
  /** Nearest accepted instructions from the embeddings index added to the first round. Default 2. */
  seeds?: number;
  /** Train examples shown to the proposer. Default 3. */
  examplesInProposal?: number;
}

const SYSTEM = [
  'You are an instruction optimizer for the prompts of an LLM application (a Dify workflow node).',
  'Propose an instruction that will lead a language model to perform the task well. Be creative, but stay on the task.',
  'Keep every template variable exactly as written, the same number of times: {{#node.var#}}, {{#sys.query#}}, {{#context#}}, {{@x.y@}}, {{name}}, {% … %}.',
  'Reply with a JSON object: {"instruction": "<the complete new instruction>"}.',
].join('\n');

/** Text of the proposal request of round 1 (from the current instruction). */
function firstRoundMessages(text: string, examples: string, j: number, n: number): ChatMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Current instruction:\n<instruction>\n${text}\n</instruction>\n\n${examples}Proposal ${j + 1} of ${n}: make it different from the other proposals.`,
    },
  ];
}

/** Text of a later round's request: the attempts so far with their train scores, lowest first (as DSPy). */
function laterRoundMessages(attempts: ScoredCandidate[], examples: string, j: number, n: number): ChatMessage[] {
  const lines = attempts.map((a, i) => `Instruction #${i + 1}:\n<instruction>\n${a.text}\n</instruction>\nScore #${i + 1}: ${a.trainScore!.toFixed(3)}`);
  return [
    { role: 'system', content: SYSTEM },
    {
      role: 'user',
      content: `Instructions tried so far, with their scores on training examples (0 to 1), in increasing order of score:\n\n${lines.join('\n\n')}\n\n${examples}Propose a new instruction that will score even higher. Proposal ${j + 1} of ${n}.`,
    },
  ];
}

/**
 * COPRO (after DSPy's): round 1 asks the proposer for breadth − 1 new instructions from the
 * current one (separate requests, noCache, so they differ even where `n` is ignored); each
 * later round shows the attempts so far with their train scores and asks for breadth more.
 * Every candidate is scored on the train split; the best few on train are scored on
 * validation, where the winner is chosen. The first round is seeded with the nearest accepted
 * instructions from the embeddings index. Stops early (stoppedReason 'budget') when the calls
 * budget would not leave enough to validate.
 */
export class CoproOptimizer implements PromptOptimizer {
  readonly name = 'copro';
  readonly opts: Required<CoproOptions>;

  constructor(opts: CoproOptions = {}) {
    this.opts = { breadth: 10, depth: 3, temperature: 1.4, validateTop: 3, seeds: 2, examplesInProposal: 3, ...opts };
    if (!Number.isInteger(this.opts.breadth) || this.opts.breadth < 2) throw new RangeError('COPRO breadth must be an integer of at least 2');
    if (!Number.isInteger(this.opts.depth) || this.opts.depth < 1) throw new RangeError('COPRO depth must be a positive integer');
  }

  /** ≈ (1 + seeds + proposals) × |train| task calls + (1 + validateTop) × |validation| + proposals. */
  estimate(ctx: OptimizerContext): CostEstimate {
    const { breadth, depth, validateTop } = this.opts;
    const seeds = ctx.embeddingIndex ? Math.min(this.opts.seeds, ctx.embeddingIndex.all().length) : 0;
    const proposals = breadth - 1 + (depth - 1) * breadth;
    const taskCalls = (1 + seeds + proposals) * ctx.train.length + (1 + Math.min(validateTop, seeds + proposals)) * ctx.validation.length;
    const textT = estimateTokens(ctx.record.text);
    return buildEstimate(ctx, {
      taskCalls,
      proposalCalls: proposals,
      task: taskCallTokens(ctx),
      proposal: { prompt: 250 + textT * Math.min(breadth, 6), completion: Math.ceil(textT * 1.5) + 20 },
    });
  }

  /** Baseline on both splits, one round of proposals, one candidate on train, and the validation reserve. */
  minimumCalls(ctx: OptimizerContext): number {
    const { breadth, depth, validateTop } = this.opts;
    const per = callsPerExample(ctx);
    return (ctx.validation.length + 2 * ctx.train.length + Math.min(validateTop, breadth * depth) * ctx.validation.length) * per + (breadth - 1);
  }

  async optimize(ctx: OptimizerContext, signal?: AbortSignal): Promise<OptimizerReport> {
    const s = new OptimizationSession(ctx, this.name, signal);
    const est = this.estimate(ctx);
    const { breadth, depth, validateTop } = this.opts;
    s.start();
    const baseline = s.add(makeCandidate({ text: ctx.record.text, source: 'baseline', round: 0 })).candidate;
    let stopped: 'budget' | undefined;
    const proposer = ctx.proposer ?? ctx.client;
    const demoText = ctx.train
      .slice(0, this.opts.examplesInProposal)
      .map((ex) => `- input: ${JSON.stringify(exampleInput(ex).slice(0, 300))} → expected: ${JSON.stringify(exampleOutput(ex).slice(0, 200))}`)
      .join('\n');
    const examples = demoText ? `Examples of the task (input → expected answer):\n${demoText}\n\n` : '';
    const reserve = Math.min(validateTop, breadth * depth) * ctx.validation.length * callsPerExample(ctx);
    s.plan(ctx.validation.length + ctx.train.length);

    const propose = (msgs: ChatMessage[]) =>
      proposeInstruction(s, proposer, msgs, { model: ctx.proposerModel, temperature: this.opts.temperature, signal, tag: 'optimizer:copro', label: 'COPRO' });

    /** Adds proposals as candidates and scores the new ones on train. Returns false when the budget stopped it. */
    const scoreOnTrain = async (texts: (string | undefined)[], source: string, round: number, parentId?: string): Promise<boolean> => {
      const fresh: ScoredCandidate[] = [];
      for (const t of texts) {
        if (!t) continue;
        const { candidate, added } = s.add(makeCandidate({ text: t, source, round, ...(parentId ? { parentId } : {}) }));
        if (!added) continue;
        const changed = variablesChanged(ctx.record.text, t);
        if (changed) {
          s.reject(candidate, changed);
          continue;
        }
        fresh.push(candidate);
      }
      const run = s.affordable(fresh, ctx.train, reserve);
      s.plan(run.length * ctx.train.length);
      await Promise.all(run.map((c) => s.evaluate(c, 'train', ctx.train)));
      return run.length === fresh.length;
    };

    try {
      await s.evaluate(baseline, 'validation', ctx.validation);
      await s.evaluate(baseline, 'train', ctx.train);
      if (ctx.embeddingIndex && this.opts.seeds > 0) {
        const near = await ctx.embeddingIndex.nearest(ctx.record.text, this.opts.seeds, { kind: ctx.record.kind, embedder: ctx.embedder, signal });
        if (!(await scoreOnTrain(near.map((n) => n.text), 'index', 0))) stopped = 'budget';
      }
      for (let d = 1; d <= depth && !stopped; d++) {
        s.checkCancelled();
        const n = d === 1 ? breadth - 1 : breadth;
        const attempts = s.candidates.top(breadth, 'train').reverse();
        const msgs = Array.from({ length: n }, (_, j) => (d === 1 ? firstRoundMessages(ctx.record.text, examples, j, n) : laterRoundMessages(attempts, examples, j, n)));
        const asks = msgs.filter((m) => !proposalKnown(s, m)).length;
        if (s.remainingCalls() < asks + reserve + ctx.train.length * callsPerExample(ctx)) {
          stopped = 'budget';
          break;
        }
        const texts = await Promise.all(msgs.map((m) => propose(m)));
        const best = s.candidates.top(1, 'train')[0];
        if (!(await scoreOnTrain(texts, this.name, d, best?.id))) stopped = 'budget';
      }
      const finalists = s.candidates.top(validateTop + 1, 'train').filter((c) => c.id !== baseline.id).slice(0, validateTop);
      s.plan(finalists.length * ctx.validation.length);
      await Promise.all(finalists.map((c) => s.evaluate(c, 'validation', ctx.validation)));
    } catch (e) {
      if (OptimizationSession.isBudget(e)) stopped = 'budget';
      else throw s.fail(e);
    }
    return s.finish(baseline, est, stopped);
  }
}
