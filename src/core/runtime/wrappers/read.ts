/**
 * Reads what each wrapper needs from the export: a question-classifier's classes and query,
 * a parameter-extractor's parameters and reasoning mode, a simple-mode app's pre_prompt, form,
 * datasets and agent tools, a workflow agent node's instruction, query and tools. Field names as Dify writes them (api/services/app_dsl_service.py; the nodes'
 * entities.py in langgenius/graphon).
 */
import { agentNodeTools, appAgentTools } from './agent';
import { classifierAnswer } from './classifier';
import { extractorAnswer } from './extractor';
import type { AgentNodeWrap, AnswerShape, ClassifierWrap, ExtractorParameter, ExtractorWrap, SimpleAppWrap } from './types';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const idOf = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);

/**
 * The case key of a query selector: `sys.query` for ['sys', 'query'] and for the older
 * [startNodeId, 'sys.query']; `node.var` otherwise.
 */
export function selectorKey(sel: readonly string[]): string {
  if (sel.length === 2 && sel[1]!.startsWith('sys.')) return sel[1]!;
  return sel.join('.');
}

function selector(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' || typeof s === 'number') ? v.map(String) : undefined;
}

/** window.size as the classifier and extractor pass it to the memory (whether or not the window is enabled). */
function historyLimit(data: Obj): number | undefined {
  const mem = isObj(data.memory) ? data.memory : undefined;
  const win = mem && isObj(mem.window) ? mem.window : undefined;
  return typeof win?.size === 'number' && win.size > 0 ? win.size : undefined;
}

export function classifierWrapOf(data: Obj): { wrap: ClassifierWrap; answer: AnswerShape; querySelector: string[] } {
  const classes = (Array.isArray(data.classes) ? data.classes : []).filter(isObj).map((c, i) => ({ id: idOf(c.id) ?? String(i + 1), name: str(c.name) ?? '' }));
  const querySelector = selector(data.query_variable_selector) ?? ['sys', 'query'];
  const wrap: ClassifierWrap = { kind: 'classifier', classes, instruction: str(data.instruction) ?? str(data.instructions) ?? '', queryKey: selectorKey(querySelector), historyLimit: historyLimit(data) };
  return { wrap, answer: classifierAnswer(wrap), querySelector };
}

export function extractorWrapOf(data: Obj): { wrap: ExtractorWrap; answer: AnswerShape; querySelector: string[] } {
  const parameters: ExtractorParameter[] = (Array.isArray(data.parameters) ? data.parameters : []).filter(isObj).map((p) => {
    const options = Array.isArray(p.options) ? p.options.filter((o): o is string => typeof o === 'string') : [];
    return { name: str(p.name) ?? '', type: str(p.type) ?? 'string', description: str(p.description) ?? '', required: p.required === true, ...(options.length ? { options } : {}) };
  });
  const querySelector = selector(data.query) ?? ['sys', 'query'];
  const wrap: ExtractorWrap = {
    kind: 'extractor',
    parameters,
    instruction: str(data.instruction) ?? '',
    queryKey: selectorKey(querySelector),
    reasoningMode: data.reasoning_mode === 'prompt' ? 'prompt' : 'function_call',
    historyLimit: historyLimit(data),
  };
  return { wrap, answer: extractorAnswer(parameters), querySelector };
}

/** Whether a simple-mode app retrieves from datasets (dataset_configs, or the older agent_mode dataset tools). */
export function appHasContext(mc: Obj): boolean {
  const dc = isObj(mc.dataset_configs) ? mc.dataset_configs : undefined;
  const inner = dc && isObj(dc.datasets) ? dc.datasets : undefined;
  const list = inner && Array.isArray(inner.datasets) ? inner.datasets : [];
  if (list.some((d) => isObj(d) && (!isObj(d.dataset) || d.dataset.enabled !== false))) return true;
  const am = isObj(mc.agent_mode) ? mc.agent_mode : undefined;
  const tools = am && Array.isArray(am.tools) ? am.tools : [];
  return tools.some((t) => isObj(t) && isObj(t.dataset) && t.dataset.enabled !== false);
}

/** Variables of model_config.user_input_form. */
export function formKeysOf(mc: Obj): string[] {
  const out: string[] = [];
  for (const item of Array.isArray(mc.user_input_form) ? mc.user_input_form : []) {
    if (!isObj(item)) continue;
    for (const def of Object.values(item)) if (isObj(def) && typeof def.variable === 'string') out.push(def.variable);
  }
  return out;
}

export function simpleAppWrapOf(appMode: string, mc: Obj): SimpleAppWrap | undefined {
  if (appMode !== 'chat' && appMode !== 'completion' && appMode !== 'agent-chat') return undefined;
  const am = isObj(mc.agent_mode) ? mc.agent_mode : undefined;
  return {
    kind: 'simple-app',
    appMode,
    prePrompt: str(mc.pre_prompt) ?? '',
    hasContext: appHasContext(mc),
    formKeys: formKeysOf(mc),
    ...(appMode === 'agent-chat' ? agentPart(am) : {}),
  };
}

function agentPart(am: Obj | undefined): Pick<SimpleAppWrap, 'agentStrategy' | 'agentTools' | 'firstPrompt'> {
  const prompt = isObj(am?.prompt) ? am.prompt : undefined;
  const first = str(prompt?.first_prompt);
  return { agentStrategy: str(am?.strategy) ?? 'function_call', agentTools: appAgentTools(am), ...(first ? { firstPrompt: first } : {}) };
}

/** A workflow agent node's wrap: its strategy, instruction, query and tools (agent_parameters.*.value). */
export function agentNodeWrapOf(data: Obj): AgentNodeWrap {
  const ap = isObj(data.agent_parameters) ? data.agent_parameters : {};
  const val = (k: string) => (isObj(ap[k]) ? (ap[k] as Obj).value : undefined);
  return {
    kind: 'agent-node',
    strategy: str(data.agent_strategy_name) ?? '',
    instruction: str(val('instruction')) ?? '',
    query: str(val('query')) ?? '',
    tools: agentNodeTools(val('tools')),
  };
}
