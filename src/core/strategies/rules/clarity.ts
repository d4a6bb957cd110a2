import { VAGUE_TERMS } from '../../analysis/lexicon';
import type { Strategy, StrategyInput, StrategyOutput } from '../types';
import { checkSignal, finish, toFixpoint } from './base';
import { chain, replacePhrases, splitLongSentences, type EditResult } from './transforms';

/** Vague wording with a safe rewrite → direct, imperative wording; overlong sentences split at clause joints. */
export function clarityTransform(text: string): EditResult {
  return toFixpoint(text, (t) => {
    const a = replacePhrases(t, VAGUE_TERMS, 'vague');
    return chain(a, splitLongSentences(a.text));
  });
}

/** clarity_focus: replaces hedges and wishes with imperatives, splits overlong sentences. */
export const clarityFocus: Strategy = {
  name: 'clarity_focus',
  type: 'rule',
  apply(input: StrategyInput): Promise<StrategyOutput> {
    return Promise.resolve().then(() => {
      checkSignal(input);
      return finish('clarity_focus', input, clarityTransform(input.text), 'Clarity');
    });
  },
};
