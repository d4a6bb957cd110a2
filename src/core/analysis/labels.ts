/**
 * Checks for labels: texts an LLM reads verbatim to route or extract (contract v2 label kinds).
 * - classifier-class (a question classifier's class name): vague ("other", "misc", "其他"),
 *   duplicated or overlapping with another class of the same node (the model cannot tell them
 *   apart), or a long sentence instead of a name.
 * - extractor-parameter (a parameter's description): says nothing of the type, unit or format
 *   the value must have.
 * - output-description (a structured-output field's description) and agent-output-description (an
 *   Agent v2 declared output's): empty of meaning (a word or two).
 * - memory-role-prefix (the name before each turn of a completion model's history): no check
 *   beyond the general ones; it is a label so that it is never rewritten unasked.
 * Each issue costs clarity points (LABEL_POINTS); labels are never asked for a role, a task or
 * an output format, which are instruction checks.
 */
import type { PromptKind } from '../dsl/types';
import { WEIGHTS } from './scorer';
import { wordUnits } from './text';
import type { Analysis, PromptIssue } from './types';

/** Clarity points one label issue costs. */
export const LABEL_POINTS = 20;

const VAGUE_CLASS = /^(?:other|others|misc|miscellaneous|general|default|else|anything else|everything else|something else|unknown|rest|various|n\/a|none|其他|其它|其他问题|其他类|其余|杂项|未知|默认|その他|他|기타)$/i;

/** Type, unit or format words a parameter description should carry. */
const TYPE_OR_FORMAT =
  /\b(?:number|numeric|integer|int|float|decimal|string|text|boolean|bool|true|false|yes\/no|date|time|datetime|timestamp|iso|yyyy|mm|dd|hh|format|formatted|unit|units|percent|percentage|currency|euros?|dollars?|usd|eur|cny|jpy|yen|rmb|kg|g|km|m|cm|mm|seconds?|minutes?|hours?|days?|months?|years?|list|array|comma|json|email|url|phone|code|id|count|amount|one of|either|enum|e\.g\.|for example|such as)\b|%|\d|数字|数值|整数|小数|字符串|文本|日期|时间|格式|单位|列表|数组|金额|元|个数|例如|比如|是否|数値|整数|文字列|日付|時間|形式|単位|リスト|金額|円|例えば/i;

export interface LabelInput {
  text: string;
  kind: PromptKind;
  /** The other labels of the same kind in the same node (other class names), for duplicates and overlaps. */
  siblings?: readonly string[];
}

/** Label-specific issues of one label. */
export function labelIssues(input: LabelInput): PromptIssue[] {
  const text = input.text;
  const t = text.trim();
  const out: PromptIssue[] = [];
  const whole = (kind: string, severity: PromptIssue['severity'], message: string, suggestion: string): void => {
    out.push({ kind, severity, message, start: 0, end: text.length, suggestion, fixedBy: [] });
  };
  if (t === '') return out; // empty: the general `empty-prompt` issue says it
  switch (input.kind) {
    case 'classifier-class': {
      if (VAGUE_CLASS.test(t.replace(/[.。!！?？]+$/, ''))) {
        whole('vague-class', 'warning', `The class "${t}" names no topic: the classifier can only pick it by elimination.`, 'Name what belongs here ("Billing and invoices"), or describe the catch-all in the instruction.');
      }
      const norm = normalise(t);
      const others = (input.siblings ?? []).map((s) => ({ raw: s, norm: normalise(s) })).filter((s) => s.norm !== '');
      const dup = others.find((o) => o.norm === norm);
      if (dup) {
        whole('duplicate-class', 'warning', `Another class of this classifier is also "${dup.raw.trim()}": the model cannot tell them apart.`, 'Merge the two classes or give each a distinct name.');
      } else {
        const over = others.find((o) => overlaps(norm, o.norm));
        if (over) {
          whole('overlapping-class', 'info', `The class "${t}" overlaps "${over.raw.trim()}": a question that fits both is routed by chance.`, 'Make the classes exclusive: say what distinguishes them.');
        }
      }
      if (wordUnits(t) > 20) {
        whole('long-class-name', 'info', `A class name of about ${Math.round(wordUnits(t))} words: a class should be a short name; put the explanation in the instruction.`, 'Shorten it to a few words.');
      }
      break;
    }
    case 'extractor-parameter':
      if (!TYPE_OR_FORMAT.test(t)) {
        whole('parameter-format-missing', 'info', 'The description does not say the type, unit or format of the value, so the extracted values vary.', 'Say what the value is and how to write it, e.g. "The amount in euros, as a number (12.5)".');
      }
      break;
    case 'output-description':
    case 'agent-output-description':
      if (wordUnits(t) < 3) {
        whole('thin-output-description', 'info', `"${t}" says little about what this field must hold.`, 'Describe the content and its form in a short sentence.');
      }
      break;
    default:
      break;
  }
  return out;
}

/** The analysis with the label issues added and their points taken from clarity. */
export function withLabelIssues(a: Analysis, issues: PromptIssue[]): Analysis {
  if (issues.length === 0) return a;
  const clarity = Math.max(0, a.clarity - LABEL_POINTS * issues.length);
  const overall = Math.max(0, Math.min(100, Math.round((WEIGHTS.clarity * clarity + WEIGHTS.efficiency * a.efficiency + WEIGHTS.structure * a.structure) * 10) / 10));
  const all = [...a.issues, ...issues].sort((x, y) => x.start - y.start || x.end - y.end || x.kind.localeCompare(y.kind));
  return { ...a, clarity, overall, issues: all };
}

function normalise(s: string): string {
  return s.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, ' ').trim();
}

/** One name contains the other, or most of their words are shared. */
function overlaps(a: string, b: string): boolean {
  if (a === '' || b === '') return false;
  if (a.length >= 3 && b.length >= 3 && (a.includes(b) || b.includes(a))) return true;
  const wa = new Set(a.split(' ').filter((w) => w.length > 2));
  const wb = new Set(b.split(' ').filter((w) => w.length > 2));
  if (wa.size < 2 || wb.size < 2) return false;
  let common = 0;
  for (const w of wa) if (wb.has(w)) common++;
  return common / Math.min(wa.size, wb.size) >= 0.75;
}

/** The analysis input of a prompt of a document: for a class name, the node's other class names. */
export function analysisInput(
  rec: { id: string; text: string; kind: PromptKind; role: import('../dsl/types').PromptRole; nodeId: string },
  prompts: readonly { id: string; text: string; kind: PromptKind; nodeId: string }[],
): LabelInput & { role: import('../dsl/types').PromptRole } {
  if (rec.kind !== 'classifier-class') return { text: rec.text, kind: rec.kind, role: rec.role };
  const siblings = prompts.filter((p) => p.kind === rec.kind && p.nodeId === rec.nodeId && p.id !== rec.id).map((p) => p.text);
  return { text: rec.text, kind: rec.kind, role: rec.role, siblings };
}
