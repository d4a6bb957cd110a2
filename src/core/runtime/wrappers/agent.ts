/**
 * Agents as Dify runs them, for one case (the first step: no tool has run yet).
 *
 * ReAct apps (agent-chat, strategy react): langgenius/dify api/core/agent/cot_chat_agent_runner.py
 * (_organize_system_prompt, _organize_prompt_messages) and cot_completion_agent_runner.py; the
 * default templates are api/core/agent/prompt/template.py (REACT_PROMPT_TEMPLATES), used when
 * agent_mode.prompt is absent (api/core/app/app_config/easy_ui_based_app/agent/manager.py).
 * `{{instruction}}` is the pre_prompt with the inputs filled (`{{key}}` → value, cot_agent_runner's
 * _fill_in_inputs_from_external_data_tools), `{{tools}}` the tools as json.dumps of their
 * name/description/parameters, `{{tool_names}}` their names joined by ", ".
 * - chat model: that system message, the earlier turns, the query.
 * - completion model: one text, with `{{historic_messages}}` ("Question: …\n\n" and the answers),
 *   `{{agent_scratchpad}}` empty and `{{query}}` as "Question: <query>".
 *
 * Tools: an app's agent_mode.tools carry the tool's name and the names of its parameters only —
 * the description and parameter types come from the tool's provider, which the export does not
 * hold — so they are sent with what the export has, and the run says so. A workflow agent node's
 * tools carry their parameter schemas (`schemas`, the `form: llm` ones are the model's), so they
 * are sent whole.
 */
import type { ChatMessage, ToolSpec } from '../../llm/types';
import { pyJson } from './difyText';
import type { Turn } from './turns';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const REACT_BODY =
  'Respond to the human as helpfully and accurately as possible.\n\n{{instruction}}\n\nYou have access to the following tools:\n\n{{tools}}\n\n' +
  'Use a json blob to specify a tool by providing an action key (tool name) and an action_input key (tool input).\nValid "action" values: "Final Answer" or {{tool_names}}\n\n' +
  'Provide only ONE action per $JSON_BLOB, as shown:\n\n```\n{\n"action": $TOOL_NAME,\n"action_input": $ACTION_INPUT\n}\n```\n\n' +
  'Follow this format:\n\nQuestion: input question to answer\nThought: consider previous and subsequent steps\nAction:\n```\n$JSON_BLOB\n```\nObservation: action result\n... (repeat Thought/Action/Observation N times)\nThought: I know what to respond\nAction:\n```\n{\n"action": "Final Answer",\n"action_input": "Final response to human"\n}\n```\n\n' +
  'Begin! Reminder to ALWAYS respond with a valid json blob of a single action. Use tools if necessary. Respond directly if appropriate. Format is Action:```$JSON_BLOB```then Observation:.';

/** Dify's default ReAct templates (REACT_PROMPT_TEMPLATES["english"]). */
export const REACT_CHAT_TEMPLATE = `${REACT_BODY}\n`;
export const REACT_COMPLETION_TEMPLATE = `${REACT_BODY}\n{{historic_messages}}\nQuestion: {{query}}\n{{agent_scratchpad}}\nThought:`;

/** The tools as the ReAct prompt shows them: json.dumps(jsonable_encoder(prompt_messages_tools)). */
export function reactToolsJson(tools: readonly ToolSpec[]): string {
  return pyJson(tools.map((t) => ({ name: t.name, description: t.description ?? '', parameters: t.parameters })));
}

/** _fill_in_inputs_from_external_data_tools: each `{{key}}` of the instruction becomes the input's value. */
export function fillInputs(instruction: string, inputs: Record<string, string>): string {
  let out = instruction;
  for (const [k, v] of Object.entries(inputs)) out = out.split(`{{${k}}}`).join(v);
  return out;
}

export function reactMessages(
  mode: 'chat' | 'completion',
  o: { firstPrompt?: string; instruction: string; tools: readonly ToolSpec[]; query: string; turns: readonly Turn[] },
): ChatMessage[] {
  const tpl = o.firstPrompt || (mode === 'completion' ? REACT_COMPLETION_TEMPLATE : REACT_CHAT_TEMPLATE);
  const system = tpl
    .split('{{instruction}}').join(o.instruction)
    .split('{{tools}}').join(reactToolsJson(o.tools))
    .split('{{tool_names}}').join(o.tools.map((t) => t.name).join(', '));
  if (mode === 'completion') {
    const historic = o.turns.map((t) => (t.role === 'user' ? `Question: ${t.content}\n\n` : `${t.content}\n\n`)).join('');
    const prompt = system.split('{{historic_messages}}').join(historic).split('{{agent_scratchpad}}').join('').split('{{query}}').join(`Question: ${o.query}`);
    return [{ role: 'user', content: prompt }];
  }
  return [{ role: 'system', content: system }, ...o.turns.map((t): ChatMessage => ({ role: t.role, content: t.content })), { role: 'user', content: o.query }];
}

/** An app's agent_mode.tools (enabled ones): name and parameter names, as the export has them. */
export function appAgentTools(agentMode: Obj | undefined): ToolSpec[] {
  const out: ToolSpec[] = [];
  for (const t of Array.isArray(agentMode?.tools) ? agentMode.tools : []) {
    if (!isObj(t) || t.enabled === false || isObj(t.dataset)) continue;
    const name = str(t.tool_name);
    if (!name) continue;
    const params = isObj(t.tool_parameters) ? t.tool_parameters : {};
    // A parameter the user left empty is the model's to fill; one the user set is not sent to the model.
    const properties = Object.fromEntries(Object.entries(params).filter(([, v]) => v === '' || v === null || v === undefined).map(([k]) => [k, { type: 'string' }]));
    out.push({ name, description: '', parameters: { type: 'object', properties, required: [] } });
  }
  return out;
}

const TYPE_OF: Record<string, string> = { string: 'string', number: 'number', boolean: 'boolean', select: 'string', 'secret-input': 'string', file: 'string', files: 'array' };

/** A workflow agent node's tools (agent_parameters.tools.value): their `form: llm` parameters from `schemas`. */
export function agentNodeTools(value: unknown): ToolSpec[] {
  const out: ToolSpec[] = [];
  for (const t of Array.isArray(value) ? value : []) {
    if (!isObj(t) || t.enabled === false) continue;
    const name = str(t.tool_name);
    if (!name) continue;
    const properties: Obj = {};
    const required: string[] = [];
    for (const s of Array.isArray(t.schemas) ? t.schemas : []) {
      if (!isObj(s) || s.form !== 'llm' || !str(s.name)) continue;
      const hd = isObj(s.human_description) ? s.human_description : {};
      const description = str(s.llm_description) || str(hd.en_US) || '';
      const prop: Obj = { type: TYPE_OF[str(s.type) ?? ''] ?? 'string', description };
      const options = (Array.isArray(s.options) ? s.options : []).flatMap((o) => (isObj(o) && str(o.value) !== undefined ? [o.value as string] : []));
      if (options.length) prop.enum = options;
      properties[s.name as string] = prop;
      if (s.required === true) required.push(s.name as string);
    }
    const extra = isObj(t.extra) ? t.extra : {};
    out.push({ name, description: str(extra.description) ?? '', parameters: { type: 'object', properties, required } });
  }
  return out;
}
