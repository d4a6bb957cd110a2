import { analyzePrompt } from '../analysis';
import { EngineError } from '../errors';
import type { LlmClient } from '../llm/types';
import { createLlmStrategy } from '../strategies/llm';
import { createRuleStrategy, isRuleStrategyName } from '../strategies/rules';
import type { LlmStrategyName, RuleStrategyName, Strategy, StrategyName } from '../strategies/types';
import { isLlmStrategy } from './config';

/** The rule strategy an LLM strategy stands in for when no endpoint/key is configured. */
export const RULE_FALLBACK: Record<LlmStrategyName, RuleStrategyName> = {
  llm_guided: 'auto',
  llm_clarity: 'clarity_focus',
  llm_efficiency: 'efficiency_focus',
  hybrid: 'auto',
};

export interface StrategyPlan {
  /** The strategies that will run, in order, without duplicates. */
  strategies: StrategyName[];
  /** Plain-words notes for the user, e.g. that LLM strategies fell back to rules. */
  notes: string[];
  resolve: (name: StrategyName) => Strategy;
}

/**
 * Decides which strategies run. With an LLM client, LLM strategies run as asked (hybrid applies
 * `auto` after the model); without one, each LLM strategy is replaced by its rule counterpart
 * and the user is told.
 */
export function planStrategies(
  requested: StrategyName[],
  llm?: LlmClient,
  opts: { model?: string; temperature?: number } = {},
): StrategyPlan {
  const notes: string[] = [];
  const out: StrategyName[] = [];
  const fellBack: string[] = [];
  for (const name of requested) {
    let effective: StrategyName = name;
    if (isLlmStrategy(name) && !llm) {
      effective = RULE_FALLBACK[name as LlmStrategyName];
      fellBack.push(`${name} → ${effective}`);
    }
    if (!out.includes(effective)) out.push(effective);
  }
  if (fellBack.length) {
    notes.push(
      `No API key is set, so the rule strategies run instead of the LLM ones (${fellBack.join(', ')}). ` +
        'Set OPENAI_API_KEY (CLI) or run "Prompt Optimizer: Set API Key" (VS Code) to use an LLM.',
    );
  }
  const cache = new Map<StrategyName, Strategy>();
  const resolve = (name: StrategyName): Strategy => {
    const hit = cache.get(name);
    if (hit) return hit;
    let s: Strategy;
    if (isRuleStrategyName(name)) s = createRuleStrategy(name);
    else if (isLlmStrategy(name)) {
      if (!llm) throw new EngineError('ENGINE_NO_STRATEGY', `${name} needs an LLM endpoint and key.`);
      s = createLlmStrategy(name as LlmStrategyName, llm, {
        model: opts.model,
        temperature: opts.temperature,
        ruleStrategy: name === 'hybrid' ? createRuleStrategy('auto') : undefined,
        analyze: analyzePrompt,
      });
    } else throw new EngineError('ENGINE_UNKNOWN_STRATEGY', `Unknown strategy "${name}".`);
    cache.set(name, s);
    return s;
  };
  return { strategies: out, notes, resolve };
}
