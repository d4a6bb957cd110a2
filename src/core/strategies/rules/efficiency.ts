import { FILLER_PHRASES } from '../../analysis/lexicon';
import type { Strategy, StrategyInput, StrategyOutput } from '../types';
import { checkSignal, finish, toFixpoint } from './base';
import { chain, normalizeWhitespace, removeDuplicateLines, replacePhrases, type EditResult } from './transforms';

/** Filler phrases removed or shortened, repeated lines removed, blank-line runs and trailing spaces cleaned. */
export function efficiencyTransform(text: string): EditResult {
  return toFixpoint(text, (t) => {
    const a = replacePhrases(t, FILLER_PHRASES, 'filler');
    chain(a, removeDuplicateLines(a.text));
    return chain(a, normalizeWhitespace(a.text));
  });
}

/** efficiency_focus: fewer tokens for the same instructions; meaningful line breaks are kept. */
export const efficiencyFocus: Strategy = {
  name: 'efficiency_focus',
  type: 'rule',
  apply(input: StrategyInput): Promise<StrategyOutput> {
    return Promise.resolve().then(() => {
      checkSignal(input);
      return finish('efficiency_focus', input, efficiencyTransform(input.text), 'Efficiency');
    });
  },
};
