/**
 * What a draft run on Dify is given and what its answer is, as Dify's source says:
 *
 * - A whole run (POST …/workflows/draft/run, and …/advanced-chat/workflows/draft/run with a
 *   `query`: api/controllers/console/app/workflow.py DraftWorkflowRunApi / AdvancedChatDraftWorkflowRunApi)
 *   takes the Start node's variables by name as `inputs`; `{{#sys.query#}}` is the chat's `query`.
 * - A single-node run (POST …/workflows/draft/nodes/{node_id}/run, DraftWorkflowNodeRunApi) takes
 *   the node's own variables keyed as the node's variable mapping names them minus the node id:
 *   `#1718246807593.text#`, `#sys.query#`, `#context#` (WorkflowEntry.mapping_user_inputs_to_variable_pool
 *   in api/core/workflow/workflow_entry.py strips the `<node_id>.` prefix; the llm node's
 *   `_extract_variable_selector_to_variable_mapping` keys them `#selector#`).
 * - The node's answer is in `node_finished.data.outputs` (api/core/app/apps/common/workflow_response_converter.py):
 *   an llm or agent node's `text`, a question classifier's `class_name`, a parameter extractor's
 *   parameters (its `__is_success`, `__reason`, `__usage` and `usage` are bookkeeping). `outputs.usage`
 *   holds the model's tokens (prompt_tokens, completion_tokens) and `finish_reason` how it stopped.
 * - The app's final output: `workflow_finished.data.outputs` (the End node's variables) or, in
 *   advanced-chat, the answer streamed as `message` events (`answer` chunks; generate_task_pipeline.py).
 */
import type { Example } from '../runtime/types';
import type { DraftRunResult, DifyStreamEvent, NodeExecution } from './types';

export interface RunInputs {
  /** Whole run: the Start node's variables by name. */
  inputs: Record<string, string>;
  query?: string;
}

/**
 * The whole-run inputs of `example` when every value it gives is a Start variable
 * (`<start node id>.<name>`) or `sys.query`; undefined when it gives a node's inputs directly
 * (an upstream node's output, the context, …): those cases run the node alone.
 */
export function wholeRunInputs(example: Example, startIds: ReadonlySet<string>): RunInputs | undefined {
  const inputs: Record<string, string> = {};
  let query: string | undefined;
  for (const [k, v] of Object.entries(example.vars)) {
    if (k === 'sys.query') {
      query = v;
      continue;
    }
    const dot = k.indexOf('.');
    if (dot > 0 && startIds.has(k.slice(0, dot))) {
      inputs[k.slice(dot + 1)] = v;
      continue;
    }
    return undefined;
  }
  return { inputs, query };
}

/** The single-node inputs of `example`: each value keyed `#selector#`. */
export function nodeRunInputs(example: Example): { inputs: Record<string, string>; query?: string } {
  const inputs: Record<string, string> = {};
  for (const [k, v] of Object.entries(example.vars)) inputs[`#${k}#`] = v;
  return { inputs, query: example.vars['sys.query'] };
}

const text = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));

/** The answer text of a node's outputs, by the node's type. */
export function nodeOutputText(nodeType: string | undefined, outputs: Record<string, unknown> | null | undefined): string {
  const o = outputs ?? {};
  if (nodeType === 'question-classifier') return text(o.class_name);
  if (nodeType === 'parameter-extractor') {
    const params = Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('__') && k !== 'usage'));
    return JSON.stringify(params);
  }
  if (typeof o.text === 'string') return o.text;
  if (o.structured_output !== undefined) return text(o.structured_output);
  const rest = Object.fromEntries(Object.entries(o).filter(([k]) => k !== 'usage' && k !== 'finish_reason'));
  const vals = Object.values(rest);
  return vals.length === 1 ? text(vals[0]) : JSON.stringify(rest);
}

export interface NodeUsage {
  promptTokens: number;
  completionTokens: number;
  finishReason?: string;
}

export function nodeUsage(outputs: Record<string, unknown> | null | undefined, processData?: Record<string, unknown> | null): NodeUsage {
  const u = ((outputs?.usage ?? outputs?.__usage ?? processData?.usage) as Record<string, unknown> | undefined) ?? {};
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const fr = outputs?.finish_reason ?? processData?.finish_reason;
  return { promptTokens: n(u.prompt_tokens), completionTokens: n(u.completion_tokens), finishReason: typeof fr === 'string' ? fr : undefined };
}

/** The final output of a whole run: the chat answer (advanced-chat), else the workflow's outputs (one value as is). */
export function finalOutput(run: DraftRunResult): string {
  const answer = run.events
    .filter((e) => e.event === 'message' || e.event === 'agent_message')
    .map((e) => (typeof e.answer === 'string' ? e.answer : ''))
    .join('');
  if (answer) return answer;
  const o = run.outputs ?? {};
  if (typeof o.answer === 'string') return o.answer;
  const vals = Object.values(o);
  return vals.length === 1 ? text(vals[0]) : Object.keys(o).length ? JSON.stringify(o) : '';
}

/** The last `node_finished` of `nodeId` in the stream (a node inside an iteration finishes once per round). */
export function nodeFinished(events: readonly DifyStreamEvent[], nodeId: string): NodeExecution | undefined {
  let last: NodeExecution | undefined;
  for (const e of events) {
    if (e.event === 'node_finished' && e.data && e.data.node_id === nodeId) last = e.data as unknown as NodeExecution;
  }
  return last;
}
