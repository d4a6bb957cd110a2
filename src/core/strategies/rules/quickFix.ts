import { FILLER_PHRASES, VAGUE_TERMS } from '../../analysis/lexicon';
import { buildModel } from '../../analysis/text';
import type { PromptIssue } from '../../analysis/types';
import { sameVariables } from '../../dsl/variables';
import type { RuleStrategyName } from '../types';
import { replacePhrases } from './transforms';

const RULE_NAMES: readonly string[] = ['clarity_focus', 'efficiency_focus', 'structure_focus', 'auto'];

/** The rule strategy that fixes this issue (first of `fixedBy`), if any. */
export function quickFixFor(issue: PromptIssue): RuleStrategyName | undefined {
  const name = issue.fixedBy?.find((n) => RULE_NAMES.includes(n));
  return name as RuleStrategyName | undefined;
}

/**
 * A targeted fix of one issue (editor quick fix): the edited text, or undefined when the issue
 * has no single-place fix or no longer matches the text. Never changes a variable.
 */
export function applyIssueFix(text: string, issue: PromptIssue): string | undefined {
  if (issue.start < 0 || issue.end > text.length || issue.start > issue.end) return undefined;
  let out: string | undefined;
  switch (issue.kind) {
    case 'vague-term':
    case 'redundant-phrase': {
      const entries = issue.kind === 'vague-term' ? VAGUE_TERMS : FILLER_PHRASES;
      const r = replacePhrases(text, entries, issue.kind === 'vague-term' ? 'vague' : 'filler', new Set([issue.start]));
      out = r.text;
      break;
    }
    case 'trailing-whitespace':
      if (/^[ \t]+$/.test(text.slice(issue.start, issue.end))) out = text.slice(0, issue.start) + text.slice(issue.end);
      break;
    case 'excess-blank-lines': {
      if (text.slice(issue.start, issue.end).trim() !== '') break;
      const atStart = issue.start === 0;
      const end = atStart && text[issue.end] === '\n' ? issue.end + 1 : issue.end;
      out = text.slice(0, issue.start) + text.slice(end);
      break;
    }
    case 'duplicate-line': {
      const line = text.slice(issue.start, issue.end);
      if (line.includes('\n') || line.trim() === '') break;
      const end = text[issue.end] === '\n' ? issue.end + 1 : issue.end;
      const start = end === issue.end && issue.start > 0 ? issue.start - 1 : issue.start;
      out = text.slice(0, start) + text.slice(end);
      break;
    }
    case 'unbalanced-code-fence': {
      const fence = buildModel(text).fences.find((f) => !f.closed && f.start === issue.start);
      if (!fence) break;
      const marker = /^ {0,3}(`{3,}|~{3,})/.exec(text.slice(fence.start))?.[1] ?? '```';
      out = text + (text.endsWith('\n') ? '' : '\n') + marker;
      break;
    }
    default:
      return undefined;
  }
  if (out === undefined || out === text || !sameVariables(text, out)) return undefined;
  if (text.trim() !== '' && out.trim() === '') return undefined;
  return out;
}
