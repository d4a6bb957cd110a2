import { analyzePrompt } from '../../analysis/analyze';
import type { Analysis } from '../../analysis/types';
import type { RuleStrategyName, Strategy, StrategyInput, StrategyOutput } from '../types';
import { checkSignal, finish, MAX_ROUNDS } from './base';
import { clarityTransform } from './clarity';
import { efficiencyTransform } from './efficiency';
import { structureTransform } from './structure';
import { chain, newResult, type EditResult } from './transforms';

type Focus = Exclude<RuleStrategyName, 'auto'>;
type Dim = 'clarity' | 'efficiency' | 'structure';

const BY_DIM: Record<Dim, { name: Focus }> = {
  clarity: { name: 'clarity_focus' },
  efficiency: { name: 'efficiency_focus' },
  structure: { name: 'structure_focus' },
};

/** Dimensions weakest first (ties keep the order clarity, efficiency, structure). */
export function autoOrder(a: Analysis): Focus[] {
  const dims: Dim[] = ['clarity', 'efficiency', 'structure'];
  return [...dims].sort((x, y) => a[x] - a[y] || dims.indexOf(x) - dims.indexOf(y)).map((d) => BY_DIM[d].name);
}

const TRANSFORMS: Record<Focus, (s: string) => EditResult> = {
  clarity_focus: clarityTransform,
  efficiency_focus: efficiencyTransform,
  structure_focus: structureTransform,
};

/**
 * Chains the focused transforms, weakest dimension first, each one kept only if it does not lower
 * the score; passes repeat until a whole pass changes nothing, so the result is a fixed point of
 * every focused strategy and auto is idempotent.
 */
export function autoTransform(text: string, input: Pick<StrategyInput, 'kind' | 'role'>): { result: EditResult; used: Focus[] } {
  const order = autoOrder(analyzePrompt({ text, kind: input.kind, role: input.role }));
  const acc = newResult(text);
  const used: Focus[] = [];
  for (let pass = 0; pass < MAX_ROUNDS; pass++) {
    let changed = false;
    for (const name of order) {
      const step = TRANSFORMS[name](acc.text);
      if (step.text === acc.text) continue;
      const out = finish(name, { text: acc.text, analysis: analyzePrompt({ text: acc.text, kind: input.kind, role: input.role }), kind: input.kind, role: input.role, iteration: 1 }, step, name);
      if (out.text === acc.text) continue;
      chain(acc, step);
      if (!used.includes(name)) used.push(name);
      changed = true;
    }
    if (!changed) break;
  }
  return { result: acc, used };
}

/** auto: picks the focused strategies by the analysis (weakest dimension first) and chains them. */
export const autoStrategy: Strategy = {
  name: 'auto',
  type: 'rule',
  apply(input: StrategyInput): Promise<StrategyOutput> {
    return Promise.resolve().then(() => {
      checkSignal(input);
      const { result, used } = autoTransform(input.text, input);
      return finish('auto', input, result, used.length ? `Auto (${used.join(' → ')})` : 'Auto');
    });
  },
};
