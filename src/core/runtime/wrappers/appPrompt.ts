/**
 * The request of a simple-mode Dify app (prompt_type simple: chat, completion and agent-chat
 * apps with a `pre_prompt`) for one case.
 *
 * Followed: langgenius/dify api/core/prompt/simple_prompt_transform.py at b77d405a and its
 * prompt_templates/{common,baichuan}_{chat,completion}.json at 7d337948; the function-call
 * agent's prompt from api/core/agent/fc_agent_runner.py (_organize_prompt_messages).
 *
 * The prompt text is built in the rules' order: the context prompt (when the app retrieves
 * from datasets), the pre_prompt plus "\n", and — for a completion model with memory — the
 * histories prompt, then the query prompt; `{{name}}` are the app's inputs and the special
 * keys the context, histories and query (see difyText.formatTemplate).
 * - chat model: that text without the query is the system message (only when there is a
 *   query), then the earlier turns as messages (chat apps), then the query as the user message
 *   (or the text itself as the user message when there is no query).
 * - completion model: the whole text with histories and query is the one user message.
 * - agent-chat with the function_call strategy: the pre_prompt, as written, is the system
 *   message, then the turns and the query. The agent's tools cannot be carried by our request
 *   and are left out (the call says so); ReAct agents keep the single-prompt form.
 */
import type { ChatMessage } from '../../llm/types';
import { formatTemplate, historyText, templateKeys } from './difyText';
import type { Turn } from './turns';
import type { SimpleAppWrap } from './types';

interface PromptRules {
  humanPrefix?: string;
  assistantPrefix?: string;
  contextPrompt: string;
  historiesPrompt?: string;
  orders: Array<'context_prompt' | 'pre_prompt' | 'histories_prompt'>;
  queryPrompt: string;
}

const CONTEXT_EN =
  "Use the following context as your learned knowledge, inside <context></context> XML tags.\n\n<context>\n{{#context#}}\n</context>\n\nWhen answer to user:\n- If you don't know, just say that you don't know.\n- If you don't know when you are not sure, ask for clarification.\nAvoid mentioning that you obtained the information from the context.\nAnd answer according to the language of the user's question.\n\n";

const RULES: Record<'common_chat' | 'common_completion' | 'baichuan_chat' | 'baichuan_completion', PromptRules> = {
  common_chat: {
    humanPrefix: 'Human',
    assistantPrefix: 'Assistant',
    contextPrompt: CONTEXT_EN,
    historiesPrompt: 'Here is the chat histories between human and assistant, inside <histories></histories> XML tags.\n\n<histories>\n{{#histories#}}\n</histories>\n\n',
    orders: ['context_prompt', 'pre_prompt', 'histories_prompt'],
    queryPrompt: '\n\nHuman: {{#query#}}\n\nAssistant: ',
  },
  common_completion: { contextPrompt: CONTEXT_EN, orders: ['context_prompt', 'pre_prompt'], queryPrompt: '{{#query#}}' },
  baichuan_chat: {
    humanPrefix: '用户',
    assistantPrefix: '助手',
    contextPrompt: '用户在与一个客观的助手对话。助手会尊重找到的材料，给出全面专业的解释，但不会过度演绎。同时回答中不会暴露引用的材料：\n\n```\n{{#context#}}\n```\n\n',
    historiesPrompt: '用户和助手的历史对话内容如下：\n```\n{{#histories#}}\n```\n\n',
    orders: ['context_prompt', 'pre_prompt', 'histories_prompt'],
    queryPrompt: '\n\n用户：{{#query#}}',
  },
  baichuan_completion: {
    contextPrompt: '用户在与一个客观的助手对话。助手会尊重找到的材料，给出全面专业的解释，但不会过度演绎。同时回答中不会暴露引用的材料：\n\n```\n{{#context#}}\n```\n',
    orders: ['context_prompt', 'pre_prompt'],
    queryPrompt: '{{#query#}}',
  },
};

/** The rules file Dify picks (_prompt_file_name): baichuan for the baichuan provider or a baichuan model on a few hosts. */
export function rulesName(appMode: SimpleAppWrap['appMode'], provider = '', model = ''): keyof typeof RULES {
  const baichuan = provider === 'baichuan' || (['huggingface_hub', 'openllm', 'xinference'].includes(provider) && model.toLowerCase().includes('baichuan'));
  return `${baichuan ? 'baichuan' : 'common'}_${appMode === 'completion' ? 'completion' : 'chat'}`;
}

/** _get_prompt_str_and_rules: the prompt text; `undefined` leaves a part out (no context, no query, no memory). */
export function simplePromptText(rules: PromptRules, prePrompt: string, inputs: Record<string, string>, o: { context?: string; query?: string; histories?: string }): string {
  let prompt = '';
  const vars: Record<string, string> = {};
  for (const order of rules.orders) {
    if (order === 'context_prompt' && o.context !== undefined) {
      prompt += rules.contextPrompt;
      vars['#context#'] = o.context;
    } else if (order === 'pre_prompt' && prePrompt) {
      prompt += `${prePrompt}\n`;
      for (const k of templateKeys(prePrompt)) if (k in inputs) vars[k] = inputs[k]!;
    } else if (order === 'histories_prompt' && o.histories !== undefined && rules.historiesPrompt) {
      prompt += rules.historiesPrompt;
      vars['#histories#'] = o.histories;
    }
  }
  if (o.query !== undefined) {
    prompt += rules.queryPrompt;
    vars['#query#'] = o.query;
  }
  return formatTemplate(prompt, vars);
}

export interface SimpleAppCase {
  modelMode: 'chat' | 'completion';
  provider?: string;
  model?: string;
  /** The candidate (or current) pre_prompt. */
  prePrompt: string;
  vars: Record<string, string>;
  turns: Turn[];
}

/** The messages of a simple-mode app for one case. */
export function simpleAppMessages(w: SimpleAppWrap, c: SimpleAppCase): ChatMessage[] {
  const query = c.vars['sys.query'] ?? c.vars.query ?? '';
  const withMemory = w.appMode !== 'completion';
  if (w.appMode === 'agent-chat') {
    const out: ChatMessage[] = c.prePrompt ? [{ role: 'system', content: c.prePrompt }] : [];
    for (const t of c.turns) out.push({ role: t.role, content: t.content });
    out.push({ role: 'user', content: query });
    return out;
  }
  const inputs = Object.fromEntries(w.formKeys.map((k) => [k, c.vars[k] ?? '']));
  const rules = RULES[rulesName(w.appMode, c.provider, c.model)];
  const context = w.hasContext ? (c.vars.context ?? '') : undefined;
  if (c.modelMode === 'completion') {
    const histories = withMemory ? historyText(c.turns, { user: rules.humanPrefix ?? 'Human', assistant: rules.assistantPrefix ?? 'Assistant' }) : undefined;
    return [{ role: 'user', content: simplePromptText(rules, c.prePrompt, inputs, { context, query, histories }) }];
  }
  const prompt = simplePromptText(rules, c.prePrompt, inputs, { context });
  const out: ChatMessage[] = [];
  if (prompt && query) out.push({ role: 'system', content: prompt });
  if (withMemory) for (const t of c.turns) out.push({ role: t.role, content: t.content });
  out.push({ role: 'user', content: query || prompt });
  return out;
}
