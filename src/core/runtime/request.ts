/**
 * The request a Dify node sends for one test case. An llm node's is built as Dify's
 * AdvancedPromptTransform and LLM node build it (api/core/prompt/advanced_prompt_transform.py,
 * workflow/nodes/llm):
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
 * Prompts Dify wraps in its own templates are built by wrappers/ (the Dify source each follows
 * is named at the top of its file), with the candidate in place of the one text being optimized:
 * - question classifier (instruction, or one class name): Dify's system prompt, two few-shot
 *   pairs, and a user message with the query, the classes as JSON and the instruction.
 * - parameter extractor (instruction, or one parameter description): Dify's prompt mode — a
 *   system prompt with the instruction, two few-shot pairs, the parameters' JSON schema and the
 *   query. A function_call node is run this way too: a request here carries no tools (note).
 * - simple-mode app (pre_prompt): SimplePromptTransform — the context prompt when the app has
 *   datasets, the pre_prompt with the app's inputs, the conversation and the query.
 * - expert-mode app (chat_prompt_config / completion_prompt_config messages): as an llm node,
 *   with the conversation as memory in chat apps.
 * Other prompts (agent nodes, follow-up and ReAct prompts) use runtime/render's renderPrompt
 * (the text as the system message, the input as the user message).
 */
import type { PromptRecord } from '../dsl/types';
import { renderJinja, renderPrompt, substituteVariables } from './render';
import type { Example } from './types';
import type { ChatMessage, ChatRequest } from '../llm/types';
import type { NodeSpec } from './workflow';
import { classifierMessages } from './wrappers/classifier';
import { formatTemplate, historyText, lastPairs } from './wrappers/difyText';
import { extractorFunctionCall, extractorMessages } from './wrappers/extractor';
import { fillInputs, reactMessages } from './wrappers/agent';
import { agentV2Messages, summaryMessages } from './wrappers/agentV2';
import { simpleAppMessages } from './wrappers/appPrompt';
import { historiesOf } from './wrappers/turns';
import type { NodeWrapper } from './wrappers/types';

export { historiesOf, type Turn } from './wrappers/turns';

/**
 * The request parts that come from the node: messages, model and its params (temperature, top_p,
 * penalties, max tokens, the answer format and schema), and the functions it offers the model
 * (a function-call extractor's `extract_parameters`, an agent's tools).
 */
export interface NodeCall extends Pick<ChatRequest, 'messages' | 'model' | 'temperature' | 'maxTokens' | 'responseFormat' | 'jsonSchema' | 'topP' | 'presencePenalty' | 'frequencyPenalty' | 'tools'> {
  /** With `tools`: the request Dify sends to a model without tool calling, for an endpoint that refuses tools. */
  withoutTools?: NodeCall;
  /** With `tools`: the node's answer when the model calls one — its arguments (an extractor), or the call described (an agent's first step). */
  toolAnswer?: 'arguments' | 'describe';
  /** Where the request differs from Dify's, in plain words (e.g. tools it cannot carry). */
  note?: string;
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

/** An app's inputs as Dify gives them to its templates: every form variable, empty when the case has none. */
function appInputs(form: readonly string[], vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(form.map((k) => [k, vars[k] ?? '']));
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** completion_params.json_schema as Dify's OpenAI-compatible providers take it: a JSON text of {name, schema, strict} (or the bare schema). */
function jsonSchemaOf(raw: unknown): NodeCall['jsonSchema'] {
  let v: unknown = raw;
  if (typeof raw === 'string') {
    try {
      v = JSON.parse(raw);
    } catch {
      return undefined;
    }
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (o.schema && typeof o.schema === 'object' && !Array.isArray(o.schema)) {
    return { name: typeof o.name === 'string' && o.name ? o.name : 'llm_response', schema: o.schema as Record<string, unknown>, ...(typeof o.strict === 'boolean' ? { strict: o.strict } : {}) };
  }
  return { name: 'llm_response', schema: o };
}

/**
 * Completion params Dify passes on to the model: temperature, top_p, presence and frequency
 * penalties, max_tokens, and the answer format (a JSON object, or json_schema with its schema).
 */
export function paramsOf(spec: NodeSpec | undefined): Omit<NodeCall, 'messages'> {
  if (!spec) return {};
  const p = spec.completionParams;
  const temperature = num(p.temperature);
  const maxTokens = typeof p.max_tokens === 'number' && p.max_tokens > 0 ? Math.floor(p.max_tokens) : undefined;
  const rf = p.response_format;
  const json = !!spec.structuredOutput || rf === 'json_object' || rf === 'json_schema' || rf === 'JSON';
  const schema = rf === 'json_schema' ? jsonSchemaOf(p.json_schema) : undefined;
  const topP = num(p.top_p);
  const presencePenalty = num(p.presence_penalty);
  const frequencyPenalty = num(p.frequency_penalty);
  return {
    model: spec.model,
    temperature,
    maxTokens,
    responseFormat: json ? 'json' : 'text',
    ...(schema ? { jsonSchema: schema } : {}),
    ...(topP !== undefined ? { topP } : {}),
    ...(presencePenalty !== undefined ? { presencePenalty } : {}),
    ...(frequencyPenalty !== undefined ? { frequencyPenalty } : {}),
  };
}

/**
 * The messages and parameters the node sends for `example`, with `text` (a candidate) in
 * place of `record`'s text. `spec` undefined: renderPrompt's single-prompt form.
 */
export function buildNodeCall(spec: NodeSpec | undefined, record: PromptRecord, example: Example, text = record.text): NodeCall {
  if (spec?.wrapper) return wrappedCall(spec, spec.wrapper, record, example, text);
  if (!spec || (!spec.messages && !spec.completion)) {
    return { messages: renderPrompt(record, undefined, example, { text }) };
  }
  const vars = example.vars;
  const context = vars.context ?? '';
  const turns = historiesOf(vars);
  const messages: ChatMessage[] = [];
  if (spec.completion) {
    const tpl = record.kind === 'llm-completion' || record.kind === 'app-completion-prompt' ? text : spec.completion.text;
    let content: string;
    if (spec.completion.editionType === 'jinja2') content = renderJinja(tpl, jinjaVars(spec, vars), { promptId: record.id, exampleId: example.id });
    else {
      const prefix = spec.memory?.rolePrefix ?? { user: 'Human', assistant: 'Assistant' };
      const histories = turns.map((t) => `${t.role === 'user' ? prefix.user : prefix.assistant}: ${t.content}`).join('\n');
      const query = vars['sys.query'] ?? vars.query ?? '';
      content = spec.appForm
        ? formatTemplate(tpl, { ...appInputs(spec.appForm, vars), '#context#': context, '#query#': query, ...(spec.memory ? { '#histories#': histories } : {}) })
        : substituteVariables(tpl, { ...vars, context, histories, query });
    }
    messages.push({ role: 'user', content });
    return { messages, ...paramsOf(spec) };
  }
  const own = record.kind === 'llm-message' || record.kind === 'app-chat-message' ? pickIndex(spec, record) : -1;
  spec.messages!.forEach((m, i) => {
    const t = i === own ? text : m.text;
    const content = m.editionType === 'jinja2' ? renderJinja(t, jinjaVars(spec, vars), { promptId: record.id, exampleId: example.id }) : spec.appForm ? formatTemplate(t, { ...appInputs(spec.appForm, vars), '#context#': context }) : basic(t, vars, context);
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

/** Index of `record` in a list of the node's (`classes`, `parameters`) from its YAML path. */
function listIndex(record: PromptRecord, list: string): number {
  const at = record.yamlPath.lastIndexOf(list);
  const i = at >= 0 ? record.yamlPath[at + 1] : undefined;
  return typeof i === 'number' ? i : -1;
}

/**
 * Where the runs of a node differ from the request Dify sends: tools, which a request here
 * cannot carry (a function-call extractor is run in Dify's prompt mode; an agent app's tools are
 * left out). It depends on the node only, so it is the same for every case.
 */
export function requestNoteOf(spec: NodeSpec | undefined): string | undefined {
  return wrapperNote(spec?.wrapper);
}

function wrapperNote(w: NodeWrapper | undefined): string | undefined {
  if (w?.kind === 'simple-app' && w.appMode === 'agent-chat') {
    const fc = w.agentStrategy === 'function_call';
    return `the agent's first step only (no tool is run); its tools are sent ${fc ? 'as functions' : 'in the ReAct prompt'} with the names and parameter names the export holds (their descriptions and types come from the tool providers)`;
  }
  if (w?.kind === 'agent-node') return "the agent's first step only: its tools are offered with their schemas, but no tool is run";
  if (w?.kind === 'agent-v2') {
    const soul = w.soul;
    const tools = isObj(soul.tools) ? soul.tools : {};
    const knowledge = isObj(soul.knowledge) ? soul.knowledge : {};
    const parts = [
      Array.isArray(tools.dify_tools) && tools.dify_tools.length ? 'tools' : '',
      Array.isArray(tools.cli_tools) && tools.cli_tools.length ? 'CLI tools' : '',
      (Array.isArray(knowledge.sets) && knowledge.sets.length) || (Array.isArray(knowledge.datasets) && knowledge.datasets.length) ? 'knowledge retrieval' : '',
    ].filter(Boolean);
    return `the agent's first model answer, from its soul and job prompts as Dify's Agent v2 request builder writes them${parts.length ? `; its ${parts.join(', ')} run in Dify's agent backend and were not sent` : ''}`;
  }
  return undefined;
}

const noteOf = (w: NodeWrapper): Pick<NodeCall, 'note'> => {
  const note = wrapperNote(w);
  return note ? { note } : {};
};

/** A prompt Dify wraps in its own template: the classifier, the extractor, a simple-mode app. */
function wrappedCall(spec: NodeSpec, w: NodeWrapper, record: PromptRecord, example: Example, text: string): NodeCall {
  const vars = example.vars;
  const turns = historiesOf(vars);
  if (w.kind === 'simple-app') {
    const prePrompt = record.kind === 'app-pre-prompt' ? text : w.prePrompt;
    if (w.appMode === 'agent-chat' && w.agentStrategy !== 'function_call') {
      const firstPrompt = record.kind === 'app-agent-prompt' ? text : w.firstPrompt;
      const inputs = Object.fromEntries(w.formKeys.map((k) => [k, vars[k] ?? '']));
      const query = vars['sys.query'] ?? vars.query ?? '';
      const messages = reactMessages(spec.mode, { firstPrompt, instruction: fillInputs(prePrompt, inputs), tools: w.agentTools ?? [], query, turns });
      return { messages, ...paramsOf(spec), ...noteOf(w) };
    }
    const messages = simpleAppMessages(w, { modelMode: spec.mode, provider: spec.provider, model: spec.model, prePrompt, vars, turns });
    const tools = w.appMode === 'agent-chat' && w.agentTools?.length ? { tools: w.agentTools, toolAnswer: 'describe' as const } : {};
    return { messages, ...paramsOf(spec), ...tools, ...noteOf(w) };
  }
  if (w.kind === 'agent-v2') {
    const messages = agentV2Messages({
      soulPrompt: record.kind === 'agent-soul-prompt' ? text : w.soulPrompt,
      soul: w.soul,
      jobPrompt: record.kind === 'agent-job-prompt' ? text : w.jobPrompt,
      job: w.job,
      vars,
    });
    const params = paramsOf(spec);
    return { ...params, messages, ...(w.outputSchema ? { responseFormat: 'json' as const, jsonSchema: { name: 'output', schema: w.outputSchema } } : {}), ...noteOf(w) };
  }
  if (w.kind === 'summary') {
    return { messages: summaryMessages(record.kind === 'summary-prompt' ? text : w.prompt, vars.text ?? ''), ...paramsOf(spec) };
  }
  if (w.kind === 'agent-node') {
    const instruction = substituteVariables(record.kind === 'agent-instruction' ? text : w.instruction, vars);
    const query = substituteVariables(record.kind === 'agent-query' ? text : w.query, vars);
    const messages: ChatMessage[] = [...(instruction ? [{ role: 'system' as const, content: instruction }] : []), ...turns.map((t): ChatMessage => ({ role: t.role, content: t.content })), { role: 'user', content: query }];
    return { messages, ...paramsOf(spec), ...(w.tools.length ? { tools: w.tools, toolAnswer: 'describe' as const } : {}) };
  }
  const histories = spec.memory ? historyText(lastPairs(turns, w.historyLimit)) : '';
  const query = vars[w.queryKey] ?? '';
  const own = record.kind === 'classifier-instruction' || record.kind === 'extractor-instruction';
  const instruction = substituteVariables(own ? text : w.instruction, vars);
  if (w.kind === 'classifier') {
    const at = record.kind === 'classifier-class' ? listIndex(record, 'classes') : -1;
    const classes = w.classes.map((c, i) => (i === at ? { ...c, name: text } : c));
    return { messages: classifierMessages(spec.mode, { classes }, { query, instruction, histories }), ...paramsOf(spec) };
  }
  const at = record.kind === 'extractor-parameter' ? listIndex(record, 'parameters') : -1;
  const parameters = w.parameters.map((p, i) => (i === at ? { ...p, description: text } : p));
  const promptMode: NodeCall = { messages: extractorMessages(spec.mode, parameters, { query, instruction, histories }), ...paramsOf(spec) };
  if (w.reasoningMode !== 'function_call' || spec.mode !== 'chat') return promptMode;
  const fc = extractorFunctionCall(parameters, { query, instruction, histories });
  return {
    ...paramsOf(spec),
    messages: fc.messages,
    tools: fc.tools,
    toolAnswer: 'arguments',
    withoutTools: { ...promptMode, note: FALLBACK_NOTE },
  };
}

/** Said when an endpoint refused the function-call extractor's tool. */
const FALLBACK_NOTE = "the endpoint refused tools, so the function-call extractor ran in Dify's prompt mode (what Dify does for a model without tool calling)";

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
    ...(call.jsonSchema && call.responseFormat === 'json' ? { jsonSchema: call.jsonSchema } : {}),
    ...(call.topP !== undefined ? { topP: call.topP } : {}),
    ...(call.presencePenalty !== undefined ? { presencePenalty: call.presencePenalty } : {}),
    ...(call.frequencyPenalty !== undefined ? { frequencyPenalty: call.frequencyPenalty } : {}),
    ...(call.tools?.length ? { tools: call.tools } : {}),
    signal: opts.signal,
    tag: opts.tag ?? 'evidence:task',
  };
}
