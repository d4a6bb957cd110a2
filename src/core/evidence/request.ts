/**
 * The request a Dify llm node sends for one test case, built as Dify's AdvancedPromptTransform
 * and LLM node build it (api/core/prompt/advanced_prompt_transform.py, workflow/nodes/llm):
 *
 * - chat mode: every message of prompt_template in order; basic messages get their
 *   `{{#selector#}}` variables and `{{#context#}}` substituted, jinja2 messages are rendered with
 *   the node's jinja2 variables; a system message that renders empty is left out (user and
 *   assistant messages are kept even when empty). With memory: the earlier turns follow the
 *   messages, then the user's query as the last user message, through the query template when
 *   there is one (`{{#sys.query#}}` and `{{#context#}}` substituted in it).
 * - completion mode: the one template becomes the user message; `{{#histories#}}` gets the
 *   earlier turns as "Human: …\nAssistant: …" lines with the memory's role prefixes.
 * - model and completion params: the node's model, temperature, max_tokens; JSON output when
 *   structured output is on or response_format asks for JSON.
 *
 * Prompts outside an llm node (classifier and extractor instructions, agent and app prompts)
 * use evaluation/render's renderPrompt (the instruction as the system message, the input as
 * the user message), which is as close as a single prompt gets without the node's own wrapper.
 */
import type { PromptRecord } from '../dsl/types';
import { renderJinja, renderPrompt, substituteVariables } from '../evaluation/render';
import type { Example } from '../evaluation/types';
import type { ChatMessage, ChatRequest } from '../llm/types';
import type { NodeSpec } from './workflow';

/** One earlier turn of the conversation, as a case gives it in `histories`. */
export interface Turn {
  role: 'user' | 'assistant';
  content: string;
}

/** The `histories` value of a case: a JSON list of turns; anything else reads as no history. */
export function historiesOf(vars: Record<string, string>): Turn[] {
  const raw = vars.histories;
  if (!raw) return [];
  try {
    const v = JSON.parse(raw) as unknown;
    if (!Array.isArray(v)) return [];
    return v
      .filter((t): t is { role: string; content: unknown } => typeof t === 'object' && t !== null && typeof (t as { role?: unknown }).role === 'string')
      .filter((t) => t.role === 'user' || t.role === 'assistant')
      .map((t) => ({ role: t.role as Turn['role'], content: typeof t.content === 'string' ? t.content : JSON.stringify(t.content ?? '') }));
  } catch {
    return [];
  }
}

/** The request parts that come from the node: model, temperature, max tokens, JSON answers. */
export interface NodeCall {
  messages: ChatMessage[];
  model?: string;
  temperature?: number;
  maxTokens?: number;
  responseFormat?: 'text' | 'json';
}

function jinjaVars(spec: NodeSpec, vars: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { ...vars };
  for (const j of spec.jinja2Variables) {
    const sel = j.selector.join('.');
    const v = vars[j.name] ?? vars[sel];
    if (v !== undefined) out[j.name] = v;
  }
  return out;
}

function basic(text: string, vars: Record<string, string>, context: string): string {
  return substituteVariables(text, { ...vars, context });
}

/** Completion params Dify passes on: temperature, max_tokens, and whether a JSON answer is asked for. */
export function paramsOf(spec: NodeSpec | undefined): Omit<NodeCall, 'messages'> {
  if (!spec) return {};
  const p = spec.completionParams;
  const temperature = typeof p.temperature === 'number' ? p.temperature : undefined;
  const maxTokens = typeof p.max_tokens === 'number' && p.max_tokens > 0 ? Math.floor(p.max_tokens) : undefined;
  const rf = p.response_format;
  const json = !!spec.structuredOutput || rf === 'json_object' || rf === 'json_schema' || rf === 'JSON';
  return { model: spec.model, temperature, maxTokens, responseFormat: json ? 'json' : 'text' };
}

/**
 * The messages and parameters the node sends for `example`, with `text` (a candidate) in
 * place of `record`'s text. `spec` undefined: renderPrompt's single-prompt form.
 */
export function buildNodeCall(spec: NodeSpec | undefined, record: PromptRecord, example: Example, text = record.text): NodeCall {
  if (!spec || (!spec.messages && !spec.completion)) {
    return { messages: renderPrompt(record, undefined, example, { text }) };
  }
  const vars = example.vars;
  const context = vars.context ?? '';
  const turns = historiesOf(vars);
  const messages: ChatMessage[] = [];
  if (spec.completion) {
    const tpl = record.kind === 'llm-completion' ? text : spec.completion.text;
    let content: string;
    if (spec.completion.editionType === 'jinja2') content = renderJinja(tpl, jinjaVars(spec, vars), { promptId: record.id, exampleId: example.id });
    else {
      const prefix = spec.memory?.rolePrefix ?? { user: 'Human', assistant: 'Assistant' };
      const histories = turns.map((t) => `${t.role === 'user' ? prefix.user : prefix.assistant}: ${t.content}`).join('\n');
      content = substituteVariables(tpl, { ...vars, context, histories, query: vars['sys.query'] ?? vars.query ?? '' });
    }
    messages.push({ role: 'user', content });
    return { messages, ...paramsOf(spec) };
  }
  const own = record.kind === 'llm-message' ? pickIndex(spec, record) : -1;
  spec.messages!.forEach((m, i) => {
    const t = i === own ? text : m.text;
    const content = m.editionType === 'jinja2' ? renderJinja(t, jinjaVars(spec, vars), { promptId: record.id, exampleId: example.id }) : basic(t, vars, context);
    if (m.role === 'system' && !content) return;
    messages.push({ role: m.role, content });
  });
  if (spec.memory) {
    let query = vars['sys.query'] ?? '';
    const tpl = record.yamlPath.includes('query_prompt_template') ? text : spec.memory.queryTemplate;
    if (tpl) query = substituteVariables(tpl, { ...vars, 'sys.query': query, context });
    const window = spec.memory.windowSize ? turns.slice(-spec.memory.windowSize * 2) : turns;
    for (const t of window) messages.push({ role: t.role, content: t.content });
    messages.push({ role: 'user', content: query });
  }
  return { messages, ...paramsOf(spec) };
}

function pickIndex(spec: NodeSpec, record: PromptRecord): number {
  const msgs = spec.messages ?? [];
  if (record.messageIndex !== undefined && msgs[record.messageIndex]?.text === record.text) return record.messageIndex;
  const i = msgs.findIndex((m) => m.text === record.text && m.role === record.role);
  return i >= 0 ? i : (record.messageIndex ?? -1);
}

/** The ChatRequest for the task call: the node's model unless `modelOverride`, temperature 0 when the node sets none. */
export function taskRequest(call: NodeCall, opts: { modelOverride?: string; signal?: AbortSignal; tag?: string } = {}): ChatRequest {
  return {
    messages: call.messages,
    model: opts.modelOverride ?? call.model,
    temperature: call.temperature ?? 0,
    maxTokens: call.maxTokens,
    responseFormat: call.responseFormat === 'json' ? 'json' : undefined,
    signal: opts.signal,
    tag: opts.tag ?? 'evidence:task',
  };
}
