/**
 * Dify template variables inside prompt text.
 *
 * Kinds:
 * - `node`        `{{#1718246807593.text#}}` a node's output (any `{{#a.b…#}}` not listed below)
 * - `sys`         `{{#sys.query#}}`
 * - `env`         `{{#env.API_URL#}}`
 * - `conversation` `{{#conversation.topic#}}`
 * - `context`     `{{#context#}}`
 * - `histories`   `{{#histories#}}`
 * - `mention`     `{{@llm.context@}}`
 * - `input`       `{{query}}` an app input in chat/completion apps (no spaces, no `#`)
 * - `jinja`       `{{ name }}` / `{{ name | filter }}` in jinja2 messages
 * - `jinja-block` `{% if x %}` … and `{# comment #}` jinja statements
 * - `prompt-mention` `[§kind:id[:label]§]` a slash-menu mention of DSL 0.7.0 (Agent v2 job and
 *   soul prompts; langgenius/dify api/services/agent/prompt_mentions.py `MENTION_PATTERN`).
 *   Kept exactly like `{{#…#}}`; a mention-shaped marker the strict grammar refuses is not a
 *   variable (see mentions.ts, which diagnoses it).
 *
 * A rewrite must keep the multiset of variables (by raw text) exactly.
 */

export type VariableKind =
  | 'node'
  | 'sys'
  | 'env'
  | 'conversation'
  | 'context'
  | 'histories'
  | 'mention'
  | 'input'
  | 'jinja'
  | 'jinja-block'
  | 'prompt-mention';

export interface Variable {
  /** The exact text, e.g. `{{#sys.query#}}`. */
  raw: string;
  kind: VariableKind;
  /** Selector parts, e.g. ['1718246807593', 'text'] or ['sys', 'query']; jinja: the expression. */
  selector: string[];
  /** Offsets in the decoded text (UTF-16 code units), end exclusive. */
  start: number;
  end: number;
}

// One alternation, leftmost match wins; order matters only for equal starts. The first branch is
// Dify's MENTION_PATTERN (prompt_mentions.py): `[§kind:id[:label]§]`, id without `:`/`§`, label
// the remainder (it may hold `:`).
const VARIABLE_RE =
  /\[§(skill|file|tool|cli_tool|knowledge|human|node_output|output):([^:§]+?)(?::([^§]*?))?§\]|\{\{#([^#{}\r\n]{1,256}?)#\}\}|\{\{@([^@{}\r\n]{1,256}?)@\}\}|\{%-?[\s\S]{0,2000}?-?%\}|\{#[\s\S]{0,2000}?#\}|\{\{-?\s*([^{}]{1,512}?)\s*-?\}\}/g;

/** Dify's limits (prompt_mentions.py): longer ids or labels make the token malformed. */
export const MAX_MENTION_REF_ID_LENGTH = 6144;
export const MAX_MENTION_LABEL_LENGTH = 255;

export function findVariables(text: string): Variable[] {
  const out: Variable[] = [];
  VARIABLE_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = VARIABLE_RE.exec(text)) !== null) {
    const raw = m[0];
    const start = m.index;
    const end = start + raw.length;
    if (m[1] !== undefined) {
      // Dify skips (treats as malformed) an id over 6144 or a label over 255 characters.
      if (m[2].length > MAX_MENTION_REF_ID_LENGTH || (m[3] !== undefined && m[3].length > MAX_MENTION_LABEL_LENGTH)) continue;
      out.push({ raw, kind: 'prompt-mention', selector: m[3] ? [m[1], m[2], m[3]] : [m[1], m[2]], start, end });
    } else if (m[4] !== undefined) {
      const selector = m[4].split('.');
      out.push({ raw, kind: hashKind(selector), selector, start, end });
    } else if (m[5] !== undefined) {
      out.push({ raw, kind: 'mention', selector: m[5].split('.'), start, end });
    } else if (raw.startsWith('{%') || raw.startsWith('{#')) {
      out.push({ raw, kind: 'jinja-block', selector: [raw.slice(2, -2).trim()], start, end });
    } else {
      const expr = (m[6] ?? '').trim();
      const simple = /^[A-Za-z_][A-Za-z0-9_]*$/.test(expr) && !/\s/.test(raw.slice(2, -2));
      out.push({ raw, kind: simple ? 'input' : 'jinja', selector: [expr], start, end });
    }
  }
  return out;
}

function hashKind(selector: string[]): VariableKind {
  const head = selector[0];
  if (selector.length === 1 && head === 'context') return 'context';
  if (selector.length === 1 && head === 'histories') return 'histories';
  if (head === 'sys') return 'sys';
  if (head === 'env') return 'env';
  if (head === 'conversation') return 'conversation';
  return 'node';
}

/** Sorted raw texts: two texts keep the same variables iff these arrays are equal. */
export function variableMultiset(text: string): string[] {
  return findVariables(text)
    .map((v) => v.raw)
    .sort();
}

export interface VariableDiff {
  missing: string[];
  added: string[];
}

/** Which variables `after` lost or gained compared with `before` (as multisets). */
export function diffVariables(before: string, after: string): VariableDiff {
  const count = new Map<string, number>();
  for (const v of findVariables(before)) count.set(v.raw, (count.get(v.raw) ?? 0) + 1);
  const added: string[] = [];
  for (const v of findVariables(after)) {
    const n = count.get(v.raw) ?? 0;
    if (n > 0) count.set(v.raw, n - 1);
    else added.push(v.raw);
  }
  const missing: string[] = [];
  for (const [raw, n] of count) for (let i = 0; i < n; i++) missing.push(raw);
  return { missing, added };
}

export function sameVariables(before: string, after: string): boolean {
  const d = diffVariables(before, after);
  return d.missing.length === 0 && d.added.length === 0;
}

export interface ProtectedText {
  text: string;
  /** placeholder -> original variable text */
  slots: Map<string, string>;
}

/**
 * Replaces each variable with a placeholder `[[VAR_n]]` an LLM will keep verbatim, so the
 * model cannot alter Dify syntax. `restoreVariables` puts them back.
 */
export function protectVariables(text: string): ProtectedText {
  const slots = new Map<string, string>();
  let out = '';
  let last = 0;
  let n = 0;
  for (const v of findVariables(text)) {
    n += 1;
    const ph = `[[VAR_${n}]]`;
    slots.set(ph, v.raw);
    out += text.slice(last, v.start) + ph;
    last = v.end;
  }
  out += text.slice(last);
  return { text: out, slots };
}

export interface RestoreResult {
  ok: boolean;
  text: string;
  /** Placeholders the answer dropped, repeated or invented. */
  missing: string[];
  duplicated: string[];
  unknown: string[];
}

export function restoreVariables(text: string, slots: Map<string, string>): RestoreResult {
  const seen = new Map<string, number>();
  const unknown: string[] = [];
  const restored = text.replace(/\[\[VAR_\d+\]\]/g, (ph) => {
    const raw = slots.get(ph);
    if (raw === undefined) {
      unknown.push(ph);
      return ph;
    }
    seen.set(ph, (seen.get(ph) ?? 0) + 1);
    return raw;
  });
  const missing = [...slots.keys()].filter((ph) => !seen.has(ph)).map((ph) => slots.get(ph)!);
  const duplicated = [...seen.entries()].filter(([, c]) => c > 1).map(([ph]) => slots.get(ph)!);
  return {
    ok: missing.length === 0 && duplicated.length === 0 && unknown.length === 0,
    text: restored,
    missing,
    duplicated,
    unknown,
  };
}
