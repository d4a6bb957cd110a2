import { analyzePrompt } from '../../analysis/analyze';
import { buildModel, wordUnits } from '../../analysis/text';
import { SECTION_UNITS } from '../../analysis/scorer';
import type { Strategy, StrategyInput, StrategyOutput } from '../types';
import { checkSignal, finish, toFixpoint } from './base';
import { addSectionHeaders, chain, hasHeaders, newResult, splitInlineLists, splitWallLines, type EditResult } from './transforms';

/**
 * For an unstructured prompt of SECTION_UNITS+ words: inline numbered sequences become one item
 * per line, walls of text one sentence per line, and section headers (## Role / ## Task /
 * ## Constraints / ## Output format, or 角色/任务/约束/输出格式, 役割/タスク/制約/出力形式) are
 * inserted on their own lines. A prompt that already has a markdown header is left alone.
 */
export function structureTransform(text: string): EditResult {
  return toFixpoint(text, (t) => {
    if (hasHeaders(t)) return newResult(t);
    const m = buildModel(t);
    if (wordUnits(m.lines.filter((l) => !l.block).map((l) => l.masked).join('\n')) < SECTION_UNITS) return newResult(t);
    // Only when the analysis sees a structure problem this strategy can fix.
    if (!analyzePrompt({ text: t }).issues.some((i) => i.kind === 'missing-structure' || i.kind === 'wall-of-text')) return newResult(t);
    const a = splitInlineLists(t);
    chain(a, splitWallLines(a.text));
    return chain(a, addSectionHeaders(a.text));
  });
}

/** structure_focus: sections and lists for long unstructured prompts. */
export const structureFocus: Strategy = {
  name: 'structure_focus',
  type: 'rule',
  apply(input: StrategyInput): Promise<StrategyOutput> {
    return Promise.resolve().then(() => {
      checkSignal(input);
      return finish('structure_focus', input, structureTransform(input.text), 'Structure');
    });
  },
};
