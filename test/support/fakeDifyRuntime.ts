/**
 * Draft-run behaviour for the fake Dify (test/support/fakeDify.ts `nodeOutputs`) that depends on
 * the imported DSL's prompt text, so two prompt versions answer differently on Dify:
 *
 * - start: outputs its inputs (api/core/workflow/nodes/start/start_node.py: the user inputs);
 * - llm: fills its prompt_template's `{{#node.var#}}` from the run's values and answers the user
 *   turn — in UPPERCASE when the system prompt says "UPPERCASE", else as written — with
 *   `usage` and `finish_reason` as the llm node's outputs carry them
 *   (api/core/workflow/nodes/llm/node.py: outputs text, usage, finish_reason);
 *   a system prompt containing "FAIL" fails the node;
 * - end: outputs nothing of its own (the workflow's outputs are the last llm answer).
 */
import { appDsl } from './fakeDify';

export const START_ID = '1718246807593';
export const LLM_ID = '1718246811111';

type Ctx = { node: { id: string; data: Record<string, unknown> }; inputs: Record<string, unknown>; query?: string; single: boolean };

export function promptAwareOutputs(ctx: Ctx): Record<string, unknown> {
  const d = ctx.node.data;
  if (d.type === 'start') return { ...ctx.inputs };
  if (d.type !== 'llm') return {};
  const msgs = (Array.isArray(d.prompt_template) ? d.prompt_template : []) as Array<{ role?: string; text?: string }>;
  const system = msgs.find((m) => m.role === 'system')?.text ?? '';
  if (system.includes('FAIL')) throw new Error('the model refused (scripted)');
  const fill = (t: string) =>
    t.replace(/\{\{#([^#]+)#\}\}/g, (_all, sel: string) => {
      if (ctx.single) return String(ctx.inputs[`#${sel}#`] ?? '');
      if (sel === 'sys.query') return ctx.query ?? '';
      const [node, ...rest] = sel.split('.');
      return node === START_ID ? String(ctx.inputs[rest.join('.')] ?? '') : '';
    });
  const user = fill(msgs.filter((m) => m.role === 'user').map((m) => m.text ?? '').join('\n'));
  const text = system.includes('UPPERCASE') ? user.toUpperCase() : user;
  return { text, usage: { prompt_tokens: system.length + user.length, completion_tokens: text.length, total_tokens: system.length + user.length + text.length, total_price: '0' }, finish_reason: 'stop' };
}

/** A workflow (or chatflow) whose llm node's system prompt is `system` and user turn the Start node's `question` (or the chat query). */
export function runtimeAppDsl(system: string, mode: 'workflow' | 'advanced-chat' = 'workflow', name = 'Support Flow'): string {
  const user = mode === 'advanced-chat' ? '{{#sys.query#}}' : `Question: {{#${START_ID}.question#}}`;
  const graph = {
    nodes: [
      { id: START_ID, type: 'custom', data: { type: 'start', title: 'Start', variables: mode === 'workflow' ? [{ variable: 'question', label: 'question', type: 'paragraph', required: true }] : [] } },
      {
        id: LLM_ID,
        type: 'custom',
        data: {
          type: 'llm',
          title: 'Writer',
          model: { provider: 'openai', name: 'gpt-4o-mini', mode: 'chat', completion_params: { temperature: 0.2 } },
          prompt_template: [
            { role: 'system', text: system },
            { role: 'user', text: user },
          ],
          context: { enabled: false, variable_selector: [] },
          vision: { enabled: false },
        },
      },
      { id: 'end', type: 'custom', data: { type: mode === 'workflow' ? 'end' : 'answer', title: 'End', outputs: [{ variable: 'result', value_selector: [LLM_ID, 'text'] }], answer: `{{#${LLM_ID}.text#}}` } },
    ],
    edges: [
      { id: 'e1', source: START_ID, target: LLM_ID },
      { id: 'e2', source: LLM_ID, target: 'end' },
    ],
  };
  return appDsl(name, mode, graph);
}
