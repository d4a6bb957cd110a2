/**
 * What each prompt kind is (contract v2, GUIDE §3): where Dify sends it and whether it is a
 * label. Labels (class names, parameter descriptions, structured-output descriptions) are read
 * by the model verbatim and a rewrite changes routing or extraction, so they are always
 * extracted and analysed, while rewriting them is opt-in (`promptOptimizer.includeLabels`,
 * `--include-labels`).
 */
import type { PromptKind, PromptRecord } from './types';

export const LABEL_KINDS: ReadonlySet<PromptKind> = new Set<PromptKind>([
  'classifier-class',
  'extractor-parameter',
  'output-description',
  'agent-output-description',
  'memory-role-prefix',
]);

export function isLabelKind(kind: PromptKind | undefined): boolean {
  return kind !== undefined && LABEL_KINDS.has(kind);
}

/** Whether a record is a label (by its `label` flag or its kind). */
export function isLabel(p: Pick<PromptRecord, 'kind'> & { label?: boolean }): boolean {
  return p.label === true || isLabelKind(p.kind);
}

/** Short words for a kind, for messages and hovers. */
export const KIND_TITLES: Record<PromptKind, string> = {
  'llm-message': 'LLM message',
  'llm-completion': 'LLM completion prompt',
  'llm-query-template': 'LLM memory query template (the user turn)',
  'classifier-instruction': 'question classifier instruction',
  'extractor-instruction': 'parameter extractor instruction',
  'agent-instruction': 'agent instruction',
  'agent-query': 'agent query (the user turn)',
  'app-pre-prompt': 'app prompt',
  'app-chat-message': 'app chat message (expert mode)',
  'app-completion-prompt': 'app completion prompt (expert mode)',
  'app-agent-prompt': 'ReAct agent prompt',
  'followup-prompt': 'follow-up questions prompt',
  'agent-job-prompt': 'Agent v2 job prompt',
  'agent-output-check': 'Agent v2 output check prompt',
  'agent-soul-prompt': 'agent soul prompt (system prompt of an agent package)',
  'summary-prompt': 'knowledge pipeline summary prompt',
  'classifier-class': 'question classifier class name (label)',
  'extractor-parameter': 'extractor parameter description (label)',
  'output-description': 'structured output description (label)',
  'agent-output-description': 'Agent v2 declared output description (label)',
  'memory-role-prefix': 'memory role prefix of a completion model (label)',
};

/** Kinds whose text is a user turn (a query template): a role or persona is not expected there. */
export function isUserTurnKind(kind: PromptKind | undefined): boolean {
  return kind === 'llm-query-template' || kind === 'agent-query';
}

/** Keeps the prompts a bulk run may rewrite: labels only when `includeLabels`. */
export function rewritable<T extends Pick<PromptRecord, 'kind'> & { label?: boolean }>(prompts: readonly T[], includeLabels: boolean): T[] {
  return includeLabels ? [...prompts] : prompts.filter((p) => !isLabel(p));
}
