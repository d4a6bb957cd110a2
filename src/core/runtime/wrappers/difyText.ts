/**
 * Small text helpers that reproduce what Dify's Python does to a prompt on the way out, so the
 * wrappers below build the very characters Dify sends:
 *
 * - `formatTemplate`: Dify's PromptTemplateParser.format (api/core/prompt/utils/
 *   prompt_template_parser.py): `{{name}}` (a letter or `_`, then up to 29 word characters)
 *   and the special keys `{{#context#}}`, `{{#query#}}`, `{{#histories#}}` are replaced by their
 *   value; a key without a value stays, but — like every substituted value — with its double
 *   braces made single (`{{x}}` → `{x}`); `<|…|>` sequences are removed from the result.
 * - `pyJson`: Python's `json.dumps` (separators `", "` and `": "`, `ensure_ascii` escaping),
 *   which is how Dify writes the categories and the parameter schema into its prompts.
 * - `historyText`: TokenBufferMemory.get_history_prompt_text, the earlier turns as
 *   "Human: …\nAssistant: …" lines.
 */
import type { Turn } from './turns';

const REGEX = /\{\{([a-zA-Z_][a-zA-Z0-9_]{0,29}|#histories#|#query#|#context#)\}\}/g;

function removeTemplateVariables(text: string): string {
  return text.replace(REGEX, (_m, key: string) => `{${key}}`);
}

/** PromptTemplateParser(template).format(inputs) with remove_template_variables=True. */
export function formatTemplate(template: string, inputs: Readonly<Record<string, string>>): string {
  const out = template.replace(REGEX, (m, key: string) => removeTemplateVariables(Object.prototype.hasOwnProperty.call(inputs, key) ? inputs[key]! : m));
  return out.replace(/<\|.*?\|>/g, '');
}

/** The `{{name}}` keys of a template, in order (PromptTemplateParser.variable_keys). */
export function templateKeys(template: string): string[] {
  return [...template.matchAll(REGEX)].map((m) => m[1]!);
}

function pyString(s: string, ensureAscii: boolean): string {
  const j = JSON.stringify(s);
  if (!ensureAscii) return j;
  return j.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Python's json.dumps(value, ensure_ascii=ensureAscii) for JSON-like values (insertion order kept). */
export function pyJson(value: unknown, ensureAscii = true): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return pyString(value, ensureAscii);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : value > 0 ? 'Infinity' : value < 0 ? '-Infinity' : 'NaN';
  if (Array.isArray(value)) return `[${value.map((v) => pyJson(v, ensureAscii)).join(', ')}]`;
  if (typeof value === 'object') {
    return `{${Object.entries(value as Record<string, unknown>)
      .map(([k, v]) => `${pyString(k, ensureAscii)}: ${pyJson(v, ensureAscii)}`)
      .join(', ')}}`;
  }
  return pyString(String(value), ensureAscii);
}

/** The earlier turns as Dify's memory writes them into a prompt: "Human: …" / "Assistant: …", one a line. */
export function historyText(turns: readonly Turn[], prefix: { user: string; assistant: string } = { user: 'Human', assistant: 'Assistant' }): string {
  return turns.map((t) => `${t.role === 'user' ? prefix.user : prefix.assistant}: ${t.content}`).join('\n');
}

/** The last `n` question/answer pairs of `turns` (Dify's message_limit counts pairs); all when n is unset. */
export function lastPairs(turns: readonly Turn[], n: number | undefined): Turn[] {
  return n && n > 0 ? turns.slice(-n * 2) : [...turns];
}
