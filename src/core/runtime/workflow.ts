/**
 * What one prompt's node receives and how Dify calls its model, read from the export itself:
 * the node's messages and settings (model, completion params, memory, context, jinja2
 * variables, structured output), the start node's variable definitions, and what the upstream
 * nodes are (knowledge retrieval, llm, code …), so test cases can give every variable a value
 * of the right kind.
 */
import { load } from 'js-yaml';
import type { DifyDocument } from '../dsl/parse';
import type { PromptRecord } from '../dsl/types';
import { findVariables } from '../dsl/variables';
import type { NodeMessage } from './render';
import { declaredOutputSchema, nodeOutputSelectors } from './wrappers/agentV2';
import { agentNodeWrapOf, classifierWrapOf, extractorWrapOf, formKeysOf, simpleAppWrapOf } from './wrappers/read';
import type { AnswerShape, NodeWrapper } from './wrappers/types';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** The settings of the node a prompt belongs to, as Dify uses them to build its request. */
export interface NodeSpec {
  nodeId: string;
  nodeType: string;
  title: string;
  /** chat (a list of messages) or completion (one text sent as the user message). */
  mode: 'chat' | 'completion';
  provider?: string;
  model?: string;
  /** `completion_params`: temperature, max_tokens, top_p, response_format … as written. */
  completionParams: Record<string, unknown>;
  /** chat mode: every message of prompt_template, in order. */
  messages?: NodeMessage[];
  /** completion mode: the one template. */
  completion?: { text: string; editionType: 'basic' | 'jinja2' };
  memory?: { queryTemplate?: string; rolePrefix?: { user: string; assistant: string }; windowSize?: number };
  /** `{{#context#}}` is filled from this selector (a knowledge retrieval's result, usually). */
  context?: { selector: string[] };
  /** jinja2 messages read these names; each is bound to a selector. */
  jinja2Variables: Array<{ name: string; selector: string[] }>;
  /** The JSON schema of the node's structured output, when enabled. */
  structuredOutput?: Obj;
  /**
   * The template Dify wraps the prompt in when it is not an llm node's own message
   * (question classifier, parameter extractor, simple-mode app); see wrappers/.
   */
  wrapper?: NodeWrapper;
  /** The answer Dify can use from this node (classifier, extractor): checked in code by the evidence checklist. */
  answer?: AnswerShape;
  /**
   * Expert-mode app prompts: the app's form variables. Their messages are filled as Dify's
   * PromptTemplateParser fills them (`{{name}}` and `{{#context#}}`, see wrappers/difyText).
   */
  appForm?: string[];
}

/** One value a test case must give. `key` is how a dataset names it (see evaluation/types Example.vars). */
export interface InputSpec {
  key: string;
  /** What the value is, in plain words, for the case generator and the reader. */
  description: string;
  source: 'start' | 'sys' | 'context' | 'upstream-llm' | 'upstream-code' | 'upstream' | 'memory' | 'app-input';
  type?: string;
  required?: boolean;
  options?: string[];
  maxLength?: number;
}

export interface WorkflowView {
  mode: string;
  nodes: Map<string, Obj>;
  /** Node ids that feed each node (graph edges). */
  upstream: Map<string, string[]>;
  appInputs: InputSpec[];
  modelConfig?: Obj;
  /** The export's top level (agent_packages, agent, rag_pipeline of DSL 0.7.0). */
  root: Obj;
}

/** Reads the app's graph (nodes, edges, app inputs) from a parsed document's YAML text. */
export function readWorkflow(doc: DifyDocument): WorkflowView {
  let root: unknown;
  try {
    root = load(doc.text, { json: true });
  } catch {
    root = {};
  }
  const r = isObj(root) ? root : {};
  const app = isObj(r.app) ? r.app : {};
  const wf = isObj(r.workflow) ? r.workflow : {};
  const graph = isObj(wf.graph) ? wf.graph : {};
  const nodes = new Map<string, Obj>();
  for (const n of Array.isArray(graph.nodes) ? graph.nodes : []) {
    if (isObj(n) && (typeof n.id === 'string' || typeof n.id === 'number')) nodes.set(String(n.id), n);
  }
  const upstream = new Map<string, string[]>();
  for (const e of Array.isArray(graph.edges) ? graph.edges : []) {
    if (!isObj(e)) continue;
    const s = e.source === undefined ? undefined : String(e.source);
    const t = e.target === undefined ? undefined : String(e.target);
    if (s && t) upstream.set(t, [...(upstream.get(t) ?? []), s]);
  }
  const modelConfig = isObj(r.model_config) ? r.model_config : undefined;
  const appInputs: InputSpec[] = [];
  for (const item of Array.isArray(modelConfig?.user_input_form) ? modelConfig.user_input_form : []) {
    if (!isObj(item)) continue;
    for (const [type, def] of Object.entries(item)) {
      if (!isObj(def) || !str(def.variable)) continue;
      appInputs.push(inputFromDefinition(def.variable as string, type, def, 'app-input'));
    }
  }
  // A knowledge pipeline (kind: rag_pipeline) has no app.mode: its graph is read like a workflow's.
  const mode = str(app.mode) ?? (r.kind === 'rag_pipeline' ? 'rag-pipeline' : '');
  return { mode, nodes, upstream, appInputs, modelConfig, root: r };
}

function inputFromDefinition(key: string, type: string, def: Obj, source: InputSpec['source']): InputSpec {
  const label = str(def.label) ?? key;
  const options = Array.isArray(def.options) ? def.options.filter((o): o is string => typeof o === 'string') : undefined;
  const maxLength = num(def.max_length);
  const kind = type === 'paragraph' ? 'a paragraph of text' : type === 'select' ? 'one of the options' : type === 'number' ? 'a number' : type.startsWith('file') ? 'file names (files cannot be attached here)' : 'a short text';
  return {
    key,
    description: `user input "${label}": ${kind}`,
    source,
    type,
    required: def.required === true,
    ...(options?.length ? { options } : {}),
    ...(maxLength ? { maxLength } : {}),
  };
}

function dataOf(node: Obj | undefined): Obj {
  return node && isObj(node.data) ? node.data : {};
}

function selectorOf(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' || typeof s === 'number') ? v.map(String) : undefined;
}

function modelOf(spec: NodeSpec, model: Obj): void {
  spec.provider = str(model.provider);
  spec.model = str(model.name);
  spec.completionParams = isObj(model.completion_params) ? { ...model.completion_params } : {};
}

/**
 * The spec of an app-level prompt (chat, completion and agent-chat apps): simple mode wraps the
 * pre_prompt (wrappers/appPrompt); expert mode sends chat_prompt_config's messages or
 * completion_prompt_config's text as an llm node does, with the conversation as memory in chat
 * apps. Undefined for other app-level kinds (follow-up, ReAct prompts) and workflow apps.
 */
function appSpecOf(view: WorkflowView, record: PromptRecord): NodeSpec | undefined {
  const mc = view.modelConfig;
  if (!mc) return undefined;
  const model = isObj(mc.model) ? mc.model : {};
  const spec: NodeSpec = {
    nodeId: 'app',
    nodeType: view.mode,
    title: record.nodeTitle,
    mode: str(model.mode) === 'completion' ? 'completion' : 'chat',
    completionParams: {},
    jinja2Variables: [],
  };
  modelOf(spec, model);
  const conversation = view.mode === 'chat' || view.mode === 'agent-chat';
  if (record.kind === 'app-pre-prompt' || (record.kind === 'app-agent-prompt' && record.role === 'first_prompt')) {
    const wrapper = simpleAppWrapOf(view.mode, mc);
    if (!wrapper) return undefined;
    // A ReAct agent's first_prompt is its template; next_iteration is not sent by Dify's current runners.
    if (record.kind === 'app-agent-prompt' && (wrapper.appMode !== 'agent-chat' || wrapper.agentStrategy === 'function_call')) return undefined;
    spec.wrapper = wrapper;
    if (conversation) spec.memory = {};
    return spec;
  }
  if (record.kind === 'app-chat-message') {
    const cpc = isObj(mc.chat_prompt_config) ? mc.chat_prompt_config : {};
    spec.mode = 'chat';
    spec.messages = (Array.isArray(cpc.prompt) ? cpc.prompt : []).filter(isObj).flatMap((m): NodeMessage[] => {
      const role = str(m.role);
      return role === 'system' || role === 'user' || role === 'assistant' ? [{ role, text: str(m.text) ?? '', editionType: 'basic' }] : [];
    });
  } else if (record.kind === 'app-completion-prompt') {
    const cpc = isObj(mc.completion_prompt_config) ? mc.completion_prompt_config : {};
    const prompt = isObj(cpc.prompt) ? cpc.prompt : {};
    const roles = isObj(cpc.conversation_histories_role) ? cpc.conversation_histories_role : {};
    spec.mode = 'completion';
    spec.completion = { text: str(prompt.text) ?? '', editionType: 'basic' };
    if (conversation) spec.memory = { rolePrefix: { user: str(roles.user_prefix) || 'Human', assistant: str(roles.assistant_prefix) || 'Assistant' } };
    spec.appForm = formKeysOf(mc);
    return spec;
  } else return undefined;
  if (conversation) spec.memory = {};
  spec.appForm = formKeysOf(mc);
  return spec;
}

/** An agent package of the export (agent_packages.<ref>). */
function packageOf(view: WorkflowView, ref: string | undefined): Obj | undefined {
  const pk = isObj(view.root.agent_packages) ? view.root.agent_packages : {};
  const p = ref ? pk[ref] : undefined;
  return isObj(p) ? p : undefined;
}

/** The package a v2 agent node runs: agent_binding.package_ref (api/services/agent/dsl_service.py). */
function nodePackageRef(data: Obj): string | undefined {
  return isObj(data.agent_binding) ? str(data.agent_binding.package_ref) : undefined;
}

/**
 * The spec of a DSL 0.7.0 prompt (an Agent v2 job or soul prompt, a pipeline's summary prompt);
 * null when `record` is none of those, undefined when its node cannot be read.
 */
function agentV2SpecOf(view: WorkflowView, record: PromptRecord): NodeSpec | undefined | null {
  const base = (nodeId: string, nodeType: string, title: string): NodeSpec => ({ nodeId, nodeType, title, mode: 'chat', completionParams: {}, jinja2Variables: [] });
  /** The spec of an agent run: the soul's model, and the soul and job the request builder reads. */
  const agentSpec = (spec: NodeSpec, soul: Obj, job: Obj): NodeSpec => {
    const m = isObj(soul.model) ? soul.model : {};
    spec.provider = str(m.model_provider);
    spec.model = str(m.model);
    spec.completionParams = isObj(m.model_settings) ? { ...m.model_settings } : {};
    const prompt = isObj(soul.prompt) ? soul.prompt : {};
    const outputs = Array.isArray(job.declared_outputs) ? job.declared_outputs.filter(isObj) : [];
    spec.wrapper = { kind: 'agent-v2', soul, job, soulPrompt: str(prompt.system_prompt) ?? '', jobPrompt: str(job.workflow_prompt) ?? '', outputSchema: declaredOutputSchema(outputs) };
    return spec;
  };
  const jobOf = (data: Obj): Obj => (isObj(data.agent_job) ? data.agent_job : {});
  if (record.kind === 'agent-job-prompt') {
    const data = dataOf(view.nodes.get(record.nodeId));
    const pkg = packageOf(view, nodePackageRef(data));
    const soul = pkg && isObj(pkg.soul) ? pkg.soul : {};
    return agentSpec(base(record.nodeId, 'agent', str(data.title) ?? record.nodeTitle), soul, jobOf(data));
  }
  if (record.kind === 'agent-soul-prompt') {
    const ref = record.nodeId.startsWith('agent_packages.') ? record.nodeId.slice('agent_packages.'.length) : record.nodeId;
    const pkg = packageOf(view, ref);
    if (!pkg) return undefined;
    // A workflow node that runs this package gives the job (its first one); an agent app (top-level agent.package_ref) has none.
    const node = [...view.nodes.values()].find((n) => nodePackageRef(dataOf(n)) === ref);
    const meta = isObj(pkg.metadata) ? pkg.metadata : {};
    return agentSpec(base(record.nodeId, 'agent-package', str(meta.name) ?? record.nodeTitle), isObj(pkg.soul) ? pkg.soul : {}, jobOf(dataOf(node)));
  }
  if (record.kind === 'summary-prompt') {
    const data = dataOf(view.nodes.get(record.nodeId));
    const sis = isObj(data.summary_index_setting) ? data.summary_index_setting : {};
    const spec = base(record.nodeId, str(data.type) ?? 'knowledge-index', str(data.title) ?? record.nodeTitle);
    spec.provider = str(sis.model_provider_name);
    spec.model = str(sis.model_name);
    const source = [...view.nodes.values()].map(dataOf).find((d) => str(d.type) === 'datasource');
    const sourceKind = str(source?.provider_type) ?? str(source?.datasource_name) ?? str(source?.plugin_id);
    spec.wrapper = { kind: 'summary', prompt: str(sis.summary_prompt) ?? '', ...(sourceKind ? { sourceKind } : {}) };
    return spec;
  }
  return null;
}

/** Agent strategies whose request is the instruction, the turns and the query with the tools (Dify's agent plugin's function_calling). */
export function isFunctionCallingStrategy(name: string): boolean {
  return /function_?call/i.test(name);
}

/** The node spec of `record`'s node (for app-level prompts, the app's); undefined for unknown nodes. */
export function nodeSpecOf(view: WorkflowView, record: PromptRecord): NodeSpec | undefined {
  if (record.nodeId === 'app') return appSpecOf(view, record);
  const v2 = agentV2SpecOf(view, record);
  if (v2 !== null) return v2;
  const node = view.nodes.get(record.nodeId);
  if (!node) return undefined;
  const data = dataOf(node);
  const model = isObj(data.model) ? data.model : {};
  const tpl = data.prompt_template;
  const spec: NodeSpec = {
    nodeId: record.nodeId,
    nodeType: str(data.type) ?? record.nodeType,
    title: str(data.title) ?? record.nodeTitle,
    mode: Array.isArray(tpl) ? 'chat' : isObj(tpl) ? 'completion' : str(model.mode) === 'completion' ? 'completion' : 'chat',
    provider: str(model.provider),
    model: str(model.name),
    completionParams: isObj(model.completion_params) ? { ...model.completion_params } : {},
    jinja2Variables: [],
  };
  if (Array.isArray(tpl)) {
    spec.messages = [];
    for (const m of tpl) {
      if (!isObj(m)) continue;
      const role = str(m.role);
      if (role !== 'system' && role !== 'user' && role !== 'assistant') continue;
      const jinja = m.edition_type === 'jinja2';
      spec.messages.push({ role, text: (jinja ? str(m.jinja2_text) : str(m.text)) ?? '', editionType: jinja ? 'jinja2' : 'basic' });
    }
  } else if (isObj(tpl)) {
    const jinja = tpl.edition_type === 'jinja2';
    spec.completion = { text: (jinja ? str(tpl.jinja2_text) : str(tpl.text)) ?? '', editionType: jinja ? 'jinja2' : 'basic' };
  }
  // Memory is the conversation's: a workflow app has none, so Dify sends no earlier turns and no
  // query turn there whatever the node's memory setting says (its LLM node reads sys.query only
  // with memory, and a workflow has no sys.query).
  if (isObj(data.memory) && view.mode !== 'workflow') {
    const mem = data.memory;
    const rp = isObj(mem.role_prefix) ? mem.role_prefix : undefined;
    const win = isObj(mem.window) ? mem.window : undefined;
    spec.memory = {
      queryTemplate: str(mem.query_prompt_template) || undefined,
      ...(rp ? { rolePrefix: { user: str(rp.user) ?? 'Human', assistant: str(rp.assistant) ?? 'Assistant' } } : {}),
      ...(win?.enabled === true && num(win.size) ? { windowSize: num(win.size) } : {}),
    };
  }
  const ctx = isObj(data.context) ? data.context : undefined;
  const ctxSel = selectorOf(ctx?.variable_selector);
  if (ctx?.enabled === true && ctxSel) spec.context = { selector: ctxSel };
  const pc = isObj(data.prompt_config) ? data.prompt_config : undefined;
  for (const v of Array.isArray(pc?.jinja2_variables) ? pc.jinja2_variables : []) {
    const sel = isObj(v) ? selectorOf(v.value_selector) : undefined;
    if (isObj(v) && str(v.variable) && sel) spec.jinja2Variables.push({ name: v.variable as string, selector: sel });
  }
  const soOn = data.structured_output_enabled === true || data.structured_output_switch_on === true;
  const so = isObj(data.structured_output) ? data.structured_output : undefined;
  if (soOn && so && isObj(so.schema)) spec.structuredOutput = so.schema;
  if (spec.nodeType === 'agent' && (record.kind === 'agent-instruction' || record.kind === 'agent-query')) {
    const w = agentNodeWrapOf(data);
    // The strategy's model is one of its parameters.
    const ap = isObj(data.agent_parameters) ? data.agent_parameters : {};
    const mv = isObj(ap.model) && isObj((ap.model as Obj).value) ? ((ap.model as Obj).value as Obj) : undefined;
    if (mv) {
      spec.provider = str(mv.provider) ?? spec.provider;
      spec.model = str(mv.model) ?? spec.model;
      spec.mode = str(mv.mode) === 'completion' ? 'completion' : 'chat';
      if (isObj(mv.completion_params)) spec.completionParams = { ...mv.completion_params };
    }
    if (isFunctionCallingStrategy(w.strategy)) spec.wrapper = w;
    return spec;
  }
  if (spec.nodeType === 'question-classifier' || spec.nodeType === 'parameter-extractor') {
    const w = spec.nodeType === 'question-classifier' ? classifierWrapOf(data) : extractorWrapOf(data);
    spec.wrapper = w.wrap;
    spec.answer = w.answer;
  }
  return spec;
}

function excerpt(s: string, max = 240): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/** What the output `name` of node `id` is, in plain words, from that node's kind. */
function describeUpstream(view: WorkflowView, id: string, name: string): Pick<InputSpec, 'description' | 'source'> {
  const node = view.nodes.get(id);
  const data = dataOf(node);
  const type = str(data.type) ?? 'unknown';
  const title = str(data.title) ?? id;
  if (type === 'knowledge-retrieval') return { source: 'context', description: `passages retrieved by the knowledge retrieval node "${title}" (a few paragraphs of reference text)` };
  if (type === 'llm') {
    const tpl = data.prompt_template;
    const texts = Array.isArray(tpl) ? tpl.filter(isObj).map((m) => str(m.text) ?? str(m.jinja2_text) ?? '') : isObj(tpl) ? [str(tpl.text) ?? ''] : [];
    return { source: 'upstream-llm', description: `text written by the LLM node "${title}", whose prompt says: ${excerpt(texts.join(' / '))}` };
  }
  if (type === 'code') return { source: 'upstream-code', description: `output "${name}" of the code node "${title}", whose code is: ${excerpt(str(data.code) ?? '', 300)}` };
  if (type === 'start') {
    const def = (Array.isArray(data.variables) ? data.variables : []).find((v): v is Obj => isObj(v) && v.variable === name);
    if (def) {
      const spec = inputFromDefinition(name, str(def.type) ?? 'text-input', def, 'start');
      return { source: 'start', description: spec.description };
    }
  }
  return { source: 'upstream', description: `output "${name}" of the ${type} node "${title}"` };
}

/**
 * Every value the prompt's node receives, with what kind of value it is: the variables its
 * texts use (all messages, the query template), `sys.query` for a node with memory,
 * `context` when context is on, and `histories` (earlier turns) when it has memory.
 */
export function inputsOf(view: WorkflowView, record: PromptRecord, spec: NodeSpec | undefined): InputSpec[] {
  const w = spec?.wrapper;
  const texts = w ? wrapperTexts(w) : (spec?.messages?.map((m) => m.text) ?? (spec?.completion ? [spec.completion.text] : [record.text]));
  if (!texts.includes(record.text)) texts.push(record.text);
  if (spec?.memory?.queryTemplate) texts.push(spec.memory.queryTemplate);
  const out = new Map<string, InputSpec>();
  const add = (s: InputSpec) => {
    if (!out.has(s.key)) out.set(s.key, s);
  };
  const bySelector = (sel: string[], key = sel.join('.')) => {
    const [head, ...rest] = sel;
    if (head === 'sys') {
      const name = rest.join('.');
      add({ key, source: 'sys', description: name === 'query' ? "the user's message" : name === 'files' ? 'files the user sent (as file names; files cannot be attached here)' : `system variable sys.${name}` });
      return;
    }
    const upstreamData = dataOf(view.nodes.get(head!));
    const startVars = str(upstreamData.type) === 'start' && Array.isArray(upstreamData.variables) ? (upstreamData.variables as unknown[]) : [];
    const startDef = startVars.find((v): v is Obj => isObj(v) && v.variable === rest.join('.'));
    if (startDef) {
      add({ ...inputFromDefinition(rest.join('.'), str(startDef.type) ?? 'text-input', startDef, 'start'), key });
      return;
    }
    add({ key, ...describeUpstream(view, head!, rest.join('.')) });
  };
  for (const t of texts) {
    for (const v of findVariables(t)) {
      if (v.kind === 'node' || v.kind === 'sys') bySelector(v.selector);
      else if (v.kind === 'context') {
        const from = spec?.context?.selector;
        add({ key: 'context', source: 'context', description: from ? describeUpstream(view, from[0]!, from.slice(1).join('.')).description : 'reference passages (the node\'s context)' });
      } else if (v.kind === 'mention') add({ key: v.selector.join('.'), source: 'upstream', description: `the value of @${v.selector.join('.')}` });
      else if (v.kind === 'input') {
        const app = view.appInputs.find((a) => a.key === v.selector[0]);
        const bound = spec?.jinja2Variables.find((j) => j.name === v.selector[0]);
        if (bound) bySelector(bound.selector, v.selector[0]);
        else add(app ?? { key: v.selector[0]!, source: 'app-input', description: `the input "${v.selector[0]}"` });
      }
    }
  }
  // jinja2 messages name their variables through prompt_config.jinja2_variables.
  for (const j of spec?.jinja2Variables ?? []) {
    if (texts.some((t) => new RegExp(`\\b${j.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(t) && /\{\{|\{%/.test(t))) bySelector(j.selector, j.name);
  }
  // An app's prompts get only the app's form variables (Dify keeps no other input); any other {{name}} stays as text.
  const form = w?.kind === 'simple-app' ? w.formKeys : spec?.appForm;
  if (form) for (const [k, v] of out) if (v.source === 'app-input' && !form.includes(k)) out.delete(k);
  const histories = 'earlier turns of the conversation: a JSON list of {"role": "user"|"assistant", "content": "…"} (may be empty)';
  if (w?.kind === 'classifier' || w?.kind === 'extractor') {
    const dot = w.queryKey.indexOf('.');
    bySelector(dot > 0 ? [w.queryKey.slice(0, dot), w.queryKey.slice(dot + 1)] : [w.queryKey], w.queryKey);
    const q = out.get(w.queryKey);
    if (q) out.set(w.queryKey, { ...q, description: `${q.description} (the text the node ${w.kind === 'classifier' ? 'classifies' : 'extracts from'})` });
    if (spec?.memory) add({ key: 'histories', source: 'memory', description: `${histories}; the node writes them into its prompt` });
  } else if (w?.kind === 'simple-app') {
    if (w.hasContext) add({ key: 'context', source: 'context', description: "passages retrieved from the app's datasets (a few paragraphs of reference text)" });
    if (w.appMode !== 'completion') {
      add({ key: 'sys.query', source: 'sys', description: "the user's message" });
      add({ key: 'histories', source: 'memory', description: histories });
    }
  } else if (w?.kind === 'agent-v2') {
    // The run's context: the user's query (chatflows) and the previous outputs the job prompt mentions.
    if (view.mode !== 'workflow' && view.mode !== 'rag-pipeline') add({ key: 'sys.query', source: 'sys', description: "the user's message" });
    for (const sel of nodeOutputSelectors(w.jobPrompt)) {
      const dot = sel.indexOf('.');
      bySelector([sel.slice(0, dot), sel.slice(dot + 1)], sel);
    }
  } else if (w?.kind === 'summary') {
    add({ key: 'text', source: 'upstream', description: `one chunk of a ${w.sourceKind ? `${w.sourceKind} ` : ''}document as the pipeline cut it (a few paragraphs), which the index node summarizes` });
  } else if (spec?.memory) {
    add({ key: 'sys.query', source: 'sys', description: "the user's message (this node has conversation memory: it is sent as the last user turn)" });
    add({ key: 'histories', source: 'memory', description: histories });
  }
  return [...out.values()];
}

/** The texts of a wrapped prompt's node that can hold variables. */
function wrapperTexts(w: NodeWrapper): string[] {
  if (w.kind === 'classifier') return [w.instruction, ...w.classes.map((c) => c.name)];
  if (w.kind === 'extractor') return [w.instruction];
  if (w.kind === 'agent-node') return [w.instruction, w.query];
  if (w.kind === 'agent-v2') return [w.soulPrompt, w.jobPrompt];
  if (w.kind === 'summary') return [w.prompt];
  return [w.prePrompt, ...(w.firstPrompt ? [w.firstPrompt] : [])];
}

/**
 * The node as the case generator should see it: its messages, or for a wrapped prompt what
 * Dify wraps it with (the classes, the parameters, the app's kind).
 */
export function nodeTextsOf(record: PromptRecord, spec: NodeSpec | undefined): string[] {
  const w = spec?.wrapper;
  if (w?.kind === 'classifier') return [`[question classifier: answers with one of these classes] ${w.classes.map((c) => `${c.id}: ${c.name}`).join(' | ')}`, `[instruction] ${w.instruction}`];
  if (w?.kind === 'extractor') return [`[parameter extractor: extracts these parameters from the query] ${w.parameters.map((p) => `${p.name} (${p.type}${p.required ? ', required' : ''}): ${p.description}`).join(' | ')}`, `[instruction] ${w.instruction}`];
  if (w?.kind === 'simple-app') return [`[${w.appMode} app prompt] ${w.prePrompt}`, ...(w.agentTools?.length ? [`[agent tools] ${w.agentTools.map((t) => t.name).join(', ')}`] : [])];
  if (w?.kind === 'agent-v2') return [`[agent soul prompt] ${w.soulPrompt}`, ...(w.jobPrompt ? [`[agent job prompt for this workflow node] ${w.jobPrompt}`] : [])];
  if (w?.kind === 'summary') return [`[knowledge pipeline: summarizes each chunk of ${w.sourceKind ?? 'source'} text before indexing] ${w.prompt}`];
  if (w?.kind === 'agent-node') return [`[agent (${w.strategy}) instruction] ${w.instruction}`, `[query] ${w.query}`, ...(w.tools.length ? [`[agent tools] ${w.tools.map((t) => `${t.name}${t.description ? `: ${t.description}` : ''}`).join(' | ')}`] : [])];
  return spec?.messages?.map((m) => `[${m.role}] ${m.text}`) ?? (spec?.completion ? [spec.completion.text] : [record.text]);
}
