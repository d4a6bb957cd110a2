/**
 * What the pairwise judge is told the task is. Both answers are held to the current prompt, and
 * the judge reads it as "the instruction": for most prompts that is the prompt's own text, but a
 * class name, a parameter description or a one-line user template says nothing about the task on
 * its own. So the judge sees the node as the model does:
 * - a question classifier: that it must pick one class, the classes, and the instruction;
 * - a parameter extractor: the parameters it must extract (type, required, options) and the instruction;
 * - an llm node with more than one message: every message in order (the rewritten one current),
 *   and the query template of its memory;
 * - an agent (a workflow agent node, an agent app): its tools, instruction and query, and that a
 *   first step may be a tool call;
 * - anything else: the prompt's text.
 */
import type { PromptRecord } from '../dsl/types';
import type { NodeSpec } from '../runtime/workflow';

function classifierTask(w: Extract<NonNullable<NodeSpec['wrapper']>, { kind: 'classifier' }>): string {
  return [
    'A question classifier: its answer must name the one class below that fits the input (Dify routes the conversation on it).',
    'Classes:',
    ...w.classes.map((c) => `- ${c.name.trim() || '(unnamed)'}`),
    w.instruction.trim() ? `Instruction:\n${w.instruction}` : 'Instruction: (none)',
  ].join('\n');
}

function extractorTask(w: Extract<NonNullable<NodeSpec['wrapper']>, { kind: 'extractor' }>): string {
  return [
    'A parameter extractor: its answer must give these parameters, read from the input, as JSON (Dify passes them on to the next nodes).',
    'Parameters:',
    ...w.parameters.map((p) => `- ${p.name} (${p.type}, ${p.required ? 'required' : 'optional'}${p.options?.length ? `, one of ${p.options.join(' | ')}` : ''}): ${p.description.trim() || '(no description)'}`),
    w.instruction.trim() ? `Instruction:\n${w.instruction}` : 'Instruction: (none)',
  ].join('\n');
}

/** The task text for the judge, from the current prompt `record` and its node `spec`. */
export function judgeTaskOf(record: PromptRecord, spec?: NodeSpec): string {
  const w = spec?.wrapper;
  if (w?.kind === 'classifier') return classifierTask(w);
  if (w?.kind === 'extractor') return extractorTask(w);
  if (w?.kind === 'agent-node' || (w?.kind === 'simple-app' && w.appMode === 'agent-chat')) {
    const tools = w.kind === 'agent-node' ? w.tools : (w.agentTools ?? []);
    const own = w.kind === 'agent-node' ? [`Instruction:\n${w.instruction}`, `Query template:\n${w.query}`] : [`Instruction:\n${w.prePrompt}`];
    return [
      "An agent's first step: it may answer, or call one of its tools (written as [calls tool NAME with ARGS]; no tool is run here).",
      tools.length ? `Tools: ${tools.map((t) => `${t.name}${t.description ? ` (${t.description})` : ''}`).join('; ')}` : 'Tools: (none)',
      ...own,
    ].join('\n');
  }
  const msgs = spec?.messages ?? [];
  const query = spec?.memory?.queryTemplate;
  if (!w && (msgs.length > 1 || (msgs.length >= 1 && query))) {
    const parts = msgs.map((m) => `[${m.role}]\n${m.text}`);
    if (query) parts.push(`[user turn: the query template]\n${query}`);
    return parts.join('\n\n');
  }
  return record.text;
}
