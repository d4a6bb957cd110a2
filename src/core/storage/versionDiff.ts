import { createTwoFilesPatch, diffLines } from 'diff';
import { deepFreeze } from './freeze';
import type { CompareResult, PromptVersion, ScoreDelta } from './types';

/** Line diff from version `va` (number `a`) to `vb` (number `b`) of `promptId`, and their score deltas (b − a). */
export function diffVersions(promptId: string, a: string, va: PromptVersion, b: string, vb: PromptVersion): CompareResult {
  const changes = diffLines(va.text, vb.text).map((c) => ({ value: c.value, added: !!c.added, removed: !!c.removed, count: c.count }));
  const lines = (c: { value: string; count?: number }) => c.count ?? c.value.split('\n').length;
  const scoresOf = (v: PromptVersion) => v.analysis ?? v.optimization?.after;
  const sa = scoresOf(va);
  const sb = scoresOf(vb);
  const d = (k: keyof ScoreDelta): number | null => (sa && sb ? sb[k] - sa[k] : null);
  return deepFreeze({
    a: va,
    b: vb,
    changes,
    linesAdded: changes.filter((c) => c.added).reduce((n, c) => n + lines(c), 0),
    linesRemoved: changes.filter((c) => c.removed).reduce((n, c) => n + lines(c), 0),
    patch: createTwoFilesPatch(`${promptId}@${a}`, `${promptId}@${b}`, va.text, vb.text),
    scoreDelta: { overall: d('overall'), clarity: d('clarity'), efficiency: d('efficiency'), structure: d('structure') },
  });
}
