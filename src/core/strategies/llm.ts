/**
 * LLM strategies: llm_guided, llm_clarity, llm_efficiency and hybrid (LLM, then a rule strategy).
 *
 * Variables are replaced by `[[VAR_n]]` placeholders before the prompt is sent and restored
 * after; the analysis of the input (scores and top issues) goes with the request; the answer is
 * JSON validated with zod ({prompt, rationale, confidence, changes}). A candidate that loses,
 * adds or alters a variable, is empty, or was cut off is refused with CandidateRejectedError
 * (LlmError code LLM_REJECTED_CANDIDATE) whose message states the reason.
 */
import * as z from 'zod';
import { EngineError, LlmError } from '../errors';
import type { Analysis, AnalysisInput } from '../analysis/types';
import { diffVariables, protectVariables, restoreVariables, sameVariables } from '../dsl/variables';
import { chatJson, responseOf } from '../llm/json';
import type { ChatRequest, ChatResponse, LlmClient } from '../llm/types';
import { SYSTEM_PROMPT, buildUserMessage } from './llmPrompts';
import type {
  CandidateRejection,
  LlmStrategyName,
  Strategy,
  StrategyCost,
  StrategyInput,
  StrategyOutput,
} from './types';

/** The answer a strategy asks the model for. `confidence` may come as 0..1 or as a percentage. */
export const CandidateAnswerSchema = z.object({
  prompt: z.string(),
  rationale: z.string().default(''),
  confidence: z.coerce
    .number()
    .min(0)
    .max(100)
    .transform((c) => (c > 1 ? c / 100 : c)),
  changes: z.array(z.string()).default([]),
});
export type CandidateAnswer = z.infer<typeof CandidateAnswerSchema>;

/** A refused candidate: code LLM_REJECTED_CANDIDATE, the reason, and what the call cost. */
export class CandidateRejectedError extends LlmError {
  constructor(
    readonly strategy: LlmStrategyName,
    readonly rejection: CandidateRejection,
    readonly cost?: StrategyCost,
  ) {
    super('LLM_REJECTED_CANDIDATE', `Candidate from ${strategy} rejected: ${rejection.detail}.`);
  }
}

export interface LlmStrategyOptions {
  /** Required for 'hybrid': the rule strategy applied to the LLM's candidate. */
  ruleStrategy?: Strategy;
  /** Defaults to the client's model. */
  model?: string;
  /** Default 0.2. */
  temperature?: number;
  /** max_tokens of the answer; default: none (the endpoint's). */
  maxTokens?: number;
  /** Analysis of the LLM's candidate for hybrid's rule step; without it the input's analysis is passed on. */
  analyze?: (input: AnalysisInput) => Analysis;
}

export type CandidateCheck = { ok: true; text: string } | { ok: false; rejection: CandidateRejection };

/**
 * Restores the variables of a candidate written with placeholders and checks it against the
 * original: not empty, no invented placeholder, and exactly the original's variable multiset.
 */
export function checkCandidate(original: string, candidate: string, slots: Map<string, string>): CandidateCheck {
  if (!candidate.trim()) return { ok: false, rejection: { reason: 'empty', detail: 'the model returned an empty prompt' } };
  const restored = restoreVariables(candidate, slots);
  const problems: string[] = [];
  if (restored.unknown.length) problems.push(`invented ${[...new Set(restored.unknown)].join(', ')}`);
  const d = diffVariables(original, restored.text);
  const originalSet = new Set(diffVariables('', original).added);
  if (d.missing.length) problems.push(`dropped ${[...new Set(d.missing)].join(', ')}`);
  const duplicated = [...new Set(d.added.filter((v) => originalSet.has(v)))];
  const added = [...new Set(d.added.filter((v) => !originalSet.has(v)))];
  if (duplicated.length) problems.push(`duplicated ${duplicated.join(', ')}`);
  if (added.length) problems.push(`added ${added.join(', ')}`);
  if (problems.length) return { ok: false, rejection: { reason: 'variables-changed', detail: problems.join('; ') } };
  return { ok: true, text: restored.text };
}

function costOfResponse(r: ChatResponse): StrategyCost {
  return {
    calls: r.cached ? 0 : 1,
    promptTokens: r.cached ? 0 : r.usage.promptTokens,
    completionTokens: r.cached ? 0 : r.usage.completionTokens,
    costUsd: r.costUsd,
  };
}

const CJK_RE = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/g;

function cjkShare(text: string): number {
  const t = text.replace(/\[\[VAR_\d+\]\]|\{\{[^{}]*\}\}/g, '');
  const letters = t.match(/[\p{L}]/gu)?.length ?? 0;
  return letters ? (t.match(CJK_RE)?.length ?? 0) / letters : 0;
}

/** Creates one of the LLM strategies. Throws EngineError ENGINE_NO_STRATEGY for 'hybrid' without a rule strategy. */
export function createLlmStrategy(name: LlmStrategyName, client: LlmClient, opts: LlmStrategyOptions = {}): Strategy {
  if (name === 'hybrid' && !opts.ruleStrategy) {
    throw new EngineError('ENGINE_NO_STRATEGY', 'The hybrid strategy needs a rule strategy to apply after the LLM.');
  }
  const temperature = opts.temperature ?? 0.2;

  async function rewrite(input: StrategyInput): Promise<StrategyOutput> {
    const prot = protectVariables(input.text);
    const req: ChatRequest = {
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        {
          role: 'user',
          content: buildUserMessage({
            strategy: name,
            protectedText: prot.text,
            analysis: input.analysis,
            slots: prot.slots,
            kind: input.kind,
            role: input.role,
            ...(input.options ? { options: input.options } : {}),
            iteration: input.iteration,
          }),
        },
      ],
      model: opts.model,
      temperature,
      maxTokens: opts.maxTokens,
      signal: input.signal,
      tag: `strategy:${name}`,
      responseFormat: 'json',
    };
    let answer: CandidateAnswer;
    let cost: StrategyCost;
    try {
      const res = await chatJson(client, req, CandidateAnswerSchema);
      answer = res.value;
      cost = costOfResponse(res.response);
    } catch (e) {
      // The request was sent and answered, just not usably: it is counted like any other.
      const answered = responseOf(e);
      if (e instanceof LlmError && e.code === 'LLM_TRUNCATED') {
        throw new CandidateRejectedError(name, { reason: 'truncated', detail: `the answer was cut off (finish_reason "length")` }, answered && costOfResponse(answered));
      }
      if (e instanceof LlmError && e.code === 'LLM_BAD_RESPONSE') {
        throw new CandidateRejectedError(name, { reason: 'unparseable', detail: e.message.replace(/\.$/, '') }, answered && costOfResponse(answered));
      }
      throw e;
    }
    const check = checkCandidate(input.text, answer.prompt, prot.slots);
    if (!check.ok) {
      await client.forget?.(req).catch(() => undefined);
      throw new CandidateRejectedError(name, check.rejection, cost);
    }
    let confidence = Math.min(1, Math.max(0, answer.confidence));
    const changes = answer.changes.map((c) => c.trim()).filter(Boolean).slice(0, 20);
    let rationale = answer.rationale.trim();
    const before = cjkShare(input.text);
    const after = cjkShare(check.text);
    if ((before >= 0.3 && after < 0.1) || (before < 0.05 && after >= 0.3)) {
      confidence = Math.min(confidence, 0.2);
      rationale = `${rationale}${rationale ? ' ' : ''}(The rewrite changed the prompt's language; confidence lowered.)`;
    }
    return { text: check.text, rationale, confidence, changes, cost };
  }

  return {
    name,
    type: 'llm',
    async apply(input: StrategyInput): Promise<StrategyOutput> {
      const llm = await rewrite(input);
      if (name !== 'hybrid' || !opts.ruleStrategy) return llm;
      const analysis = opts.analyze ? opts.analyze({ text: llm.text, kind: input.kind, role: input.role }) : input.analysis;
      const rule = await opts.ruleStrategy.apply({ ...input, text: llm.text, analysis });
      if (!sameVariables(input.text, rule.text) || !rule.text.trim()) {
        return { ...llm, rationale: `${llm.rationale} (The ${opts.ruleStrategy.name} step was skipped: it changed the variables.)` };
      }
      const ruleChanged = rule.text !== llm.text;
      return {
        text: rule.text,
        rationale: ruleChanged ? `${llm.rationale} Then ${opts.ruleStrategy.name}: ${rule.rationale}`.trim() : llm.rationale,
        confidence: ruleChanged ? Math.min(llm.confidence, rule.confidence) : llm.confidence,
        changes: ruleChanged ? [...llm.changes, ...rule.changes.map((c) => `${opts.ruleStrategy!.name}: ${c}`)] : llm.changes,
        cost: llm.cost,
      };
    },
  };
}

/** The four LLM strategy names, in the order the engine tries them. */
export const LLM_STRATEGY_NAMES: readonly LlmStrategyName[] = ['llm_guided', 'llm_clarity', 'llm_efficiency', 'hybrid'];
