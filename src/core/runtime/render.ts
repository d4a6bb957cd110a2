import nunjucks from 'nunjucks';
import { DatasetError } from '../errors';
import type { PromptRecord } from '../dsl/types';
import type { ChatMessage } from '../llm/types';
import type { Demo, DemoMode, Example } from './types';

/** One chat message of a Dify llm node (`data.prompt_template[i]`), as the node holds it. */
export interface NodeMessage {
  role: 'system' | 'user' | 'assistant';
  text: string;
  editionType?: 'basic' | 'jinja2';
}

export interface RenderOptions {
  /** Replaces the record's text (the candidate under evaluation). */
  text?: string;
  /** Few-shot demos to insert. */
  demos?: Demo[];
  /** 'block' (default): an examples section in the system message; 'pairs': user/assistant messages. */
  demoMode?: DemoMode;
}

const DIFY_VAR_RE = /\{\{#([^#{}\r\n]{1,256}?)#\}\}|\{\{@([^@{}\r\n]{1,256}?)@\}\}|\{\{([A-Za-z_][A-Za-z0-9_]{0,255})\}\}/g;

const jinja = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });

/** Turns `{a.b: x}` keys into nested objects too, so jinja can read `a.b` as well as `a`. */
function jinjaContext(vars: Record<string, string>): Record<string, unknown> {
  const ctx: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(vars)) {
    ctx[k] = v;
    const parts = k.split('.');
    if (parts.length > 1) {
      let cur = ctx;
      for (const p of parts.slice(0, -1)) {
        const next = cur[p];
        if (next === undefined || typeof next !== 'object' || next === null) cur[p] = {};
        cur = cur[p] as Record<string, unknown>;
      }
      cur[parts[parts.length - 1]!] = v;
    }
  }
  return ctx;
}

/** Value of a Dify selector in an example: the full selector, else its last part (e.g. `text`). */
function lookup(vars: Record<string, string>, selector: string): string | undefined {
  if (selector in vars) return vars[selector];
  return undefined;
}

/** Dify's VARIABLE_PATTERN (graphon's variable template / VariablePool.convert_template): what it treats as a selector. */
const DIFY_SELECTOR_RE = /^[a-zA-Z0-9_]{1,50}(?:\.[a-zA-Z_][a-zA-Z0-9_]{0,29}){1,10}$/;

/**
 * Substitutes Dify variables (`{{#node.var#}}`, `{{#sys.query#}}`, `{{#context#}}`,
 * `{{@llm.context@}}`, `{{input}}`) with the example's values. A `{{#node.var#}}` the example
 * does not give renders as Dify's convert_template renders it: the selector text without its
 * braces (`node.var`), and text Dify's pattern does not take for a selector stays as written;
 * other forms render empty. Every variable not given is listed in `missing`.
 */
export function substituteVariables(text: string, vars: Record<string, string>, missing?: Set<string>): string {
  return text.replace(DIFY_VAR_RE, (raw: string, hash?: string, at?: string, plain?: string) => {
    const sel = (hash ?? at ?? plain ?? '').trim();
    const v = lookup(vars, sel);
    if (v === undefined) {
      missing?.add(sel);
      if (hash !== undefined) return DIFY_SELECTOR_RE.test(hash) ? hash : raw;
      return '';
    }
    return v;
  });
}

/** Renders a jinja2 message with nunjucks (a Jinja-compatible engine). Throws DATASET_RENDER on a template error. */
export function renderJinja(text: string, vars: Record<string, string>, where: { promptId?: string; exampleId?: string } = {}): string {
  try {
    return jinja.renderString(text, jinjaContext(vars));
  } catch (e) {
    const msg = e instanceof Error ? e.message.replace(/\s+/g, ' ') : String(e);
    throw new DatasetError('DATASET_RENDER', `cannot render the jinja2 template${where.exampleId ? ` for example ${where.exampleId}` : ''}: ${msg}`, { promptId: where.promptId }, e);
  }
}

function renderOne(text: string, edition: 'basic' | 'jinja2' | undefined, example: Example, promptId: string, referenced: Set<string>): string {
  for (const m of text.matchAll(DIFY_VAR_RE)) referenced.add((m[1] ?? m[2] ?? m[3] ?? '').trim());
  if (edition === 'jinja2') {
    // Any variable whose name appears in an expression or statement counts as referenced.
    const code = [...text.matchAll(/\{\{([\s\S]*?)\}\}|\{%([\s\S]*?)%\}/g)].map((m) => m[1] ?? m[2] ?? '').join(' ');
    const idents = new Set(code.match(/[A-Za-z_][\w.]*/g) ?? []);
    for (const k of Object.keys(example.vars)) if (idents.has(k) || idents.has(k.split('.')[0]!) || [...idents].some((i) => i.startsWith(`${k}.`))) referenced.add(k);
    return renderJinja(text, example.vars, { promptId, exampleId: example.id });
  }
  return substituteVariables(text, example.vars);
}

/**
 * The user input of an example as a user would type it: `sys.query` (or `query`, `input`) when
 * present, else the values of the variables the prompt does not reference itself, one per line.
 */
export function exampleInput(example: Example, referenced: ReadonlySet<string> = new Set()): string {
  for (const k of ['sys.query', 'query', 'input', 'question']) {
    const v = example.vars[k];
    if (v !== undefined && !referenced.has(k)) return v;
  }
  const rest = Object.entries(example.vars).filter(([k]) => !referenced.has(k));
  if (rest.length === 1) return rest[0]![1];
  return rest.map(([k, v]) => `${k}: ${v}`).join('\n');
}

/** The expected answer shown in a demo: `expected`, else the first label. */
export function exampleOutput(example: Example): string {
  return example.expected ?? example.labels?.[0] ?? '';
}

/** Formats demos as an examples section for a system prompt. */
export function demoBlock(demos: Demo[]): string {
  const parts = demos.map((d, i) => `Example ${i + 1}\nInput: ${d.input}\nOutput: ${d.output}`);
  return `## Examples\n\n${parts.join('\n\n')}`;
}

/**
 * Renders the prompt for one example into chat messages.
 *
 * With `messages` (the node's whole prompt_template), the record's message (by `messageIndex`)
 * gets `opts.text` when given, and every message is rendered (Dify variables substituted;
 * jinja2 messages through nunjucks). Without `messages`, the record's text becomes the system
 * message (or the user message for a user-role record), followed by the example's input as
 * the user message when the text does not already reference it.
 *
 * Demos: 'block' appends an examples section to the first system message (adding one when
 * there is none); 'pairs' inserts user/assistant pairs before the last user message.
 */
export function renderPrompt(record: PromptRecord, messages: NodeMessage[] | undefined, example: Example, opts: RenderOptions = {}): ChatMessage[] {
  const text = opts.text ?? record.text;
  const referenced = new Set<string>();
  let out: ChatMessage[];
  if (messages && messages.length > 0) {
    let idx = messages.findIndex((m) => m.text === record.text && m.role === record.role);
    if (idx < 0) idx = record.messageIndex ?? -1;
    out = messages.map((m, i) => ({
      role: m.role,
      content: renderOne(i === idx ? text : m.text, i === idx ? record.editionType : m.editionType, example, record.id, referenced),
    }));
    if (!out.some((m) => m.role === 'user')) {
      const input = exampleInput(example, referenced);
      if (input) out.push({ role: 'user', content: input });
    }
  } else {
    const content = renderOne(text, record.editionType, example, record.id, referenced);
    if (record.role === 'user') out = [{ role: 'user', content }];
    else {
      out = [{ role: 'system', content }];
      const input = exampleInput(example, referenced);
      if (input) out.push({ role: 'user', content: input });
    }
  }
  const demos = opts.demos ?? [];
  if (demos.length) {
    if ((opts.demoMode ?? 'block') === 'block') {
      const sys = out.find((m) => m.role === 'system');
      if (sys) sys.content = `${sys.content}\n\n${demoBlock(demos)}`;
      else out.unshift({ role: 'system', content: demoBlock(demos) });
    } else {
      let at = out.length;
      for (let i = out.length - 1; i >= 0; i--) if (out[i]!.role === 'user') {
        at = i;
        break;
      }
      const pairs: ChatMessage[] = demos.flatMap((d) => [
        { role: 'user' as const, content: d.input },
        { role: 'assistant' as const, content: d.output },
      ]);
      out.splice(at, 0, ...pairs);
    }
  }
  return out;
}

/**
 * The chat messages of the node `record` belongs to, from the file's prompt records: the
 * llm-message records of the same node in prompt_template order. Undefined for other kinds
 * (an instruction or pre-prompt is run as a system message with the example's input).
 */
export function nodeMessagesOf(prompts: readonly PromptRecord[], record: PromptRecord): NodeMessage[] | undefined {
  if (record.kind !== 'llm-message') return undefined;
  const siblings = prompts
    .filter((p) => p.nodeId === record.nodeId && p.kind === 'llm-message' && p.role)
    .sort((a, b) => (a.messageIndex ?? 0) - (b.messageIndex ?? 0));
  if (siblings.length === 0) return undefined;
  return siblings.map((p) => ({ role: p.role as NodeMessage['role'], text: p.text, editionType: p.editionType }));
}

/**
 * What the node receives from the user at run time for one example: the user turn of the
 * rendered prompt (the last user message, its variables, context and query substituted; for
 * a prompt with no user message, the input run after it). Falls back to `exampleInput` when
 * the rendered user turn is empty (e.g. the system prompt itself holds the query).
 * Demos and neighbour search use this, so a demo's input is what the node would be sent.
 */
export function runtimeInput(record: PromptRecord, messages: NodeMessage[] | undefined, example: Example): string {
  const rendered = renderPrompt(record, messages, example);
  let turn = '';
  for (let i = rendered.length - 1; i >= 0; i--) {
    if (rendered[i]!.role === 'user') {
      turn = rendered[i]!.content;
      break;
    }
  }
  return turn.trim() ? turn : exampleInput(example);
}
