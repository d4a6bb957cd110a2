/**
 * Rule strategies: deterministic, offline rewrites that never touch variables, code fences,
 * jinja regions, headers or list markers, never join lines, are idempotent, and are discarded
 * when they would lower the score (see base.ts for the runner and the confidence model).
 */
import { EngineError } from '../../errors';
import type { RuleStrategyName, Strategy } from '../types';
import { autoStrategy } from './auto';
import { clarityFocus } from './clarity';
import { efficiencyFocus } from './efficiency';
import { structureFocus } from './structure';

export const RULE_STRATEGIES: readonly RuleStrategyName[] = ['clarity_focus', 'efficiency_focus', 'structure_focus', 'auto'];

const BY_NAME: Record<RuleStrategyName, Strategy> = {
  clarity_focus: clarityFocus,
  efficiency_focus: efficiencyFocus,
  structure_focus: structureFocus,
  auto: autoStrategy,
};

export function isRuleStrategyName(name: string): name is RuleStrategyName {
  return (RULE_STRATEGIES as readonly string[]).includes(name);
}

/** The rule strategy of that name; throws EngineError ENGINE_UNKNOWN_STRATEGY otherwise. */
export function createRuleStrategy(name: RuleStrategyName | string): Strategy {
  if (!isRuleStrategyName(name))
    throw new EngineError('ENGINE_UNKNOWN_STRATEGY', `Unknown rule strategy "${name}". Known: ${RULE_STRATEGIES.join(', ')}.`);
  return BY_NAME[name];
}

export { quickFixFor, applyIssueFix } from './quickFix';
export { autoOrder } from './auto';
export { EDIT_CONFIDENCE } from './base';
