/**
 * Mention checks of the Agent v2 surfaces (DSL 0.7.0): a `[§…§]` marker Dify's strict grammar
 * refuses, or a mention of a kind its surface does not resolve (dsl/mentions.ts, from
 * langgenius/dify api/services/agent/prompt_mentions.py). Both reach the model as a bare label or
 * id instead of what the author meant. They do not change the scores: they are about wiring, not
 * wording.
 */
import { MENTION_KINDS_BY_SURFACE, mentionProblems } from '../dsl/mentions';
import type { PromptKind } from '../dsl/types';
import type { PromptIssue } from './types';

const SURFACE_NAMES: Partial<Record<PromptKind, string>> = {
  'agent-soul-prompt': 'the soul prompt',
  'agent-job-prompt': 'the job prompt',
};

export function mentionIssues(text: string, kind: PromptKind | undefined): PromptIssue[] {
  const problems = mentionProblems(text, kind);
  if (problems.length === 0 || !kind) return [];
  const allowed = [...(MENTION_KINDS_BY_SURFACE[kind] ?? [])].join(', ');
  const where = SURFACE_NAMES[kind] ?? 'this prompt';
  return problems.map((p): PromptIssue =>
    p.code === 'mention-malformed'
      ? {
          kind: 'mention-malformed',
          severity: 'warning',
          message: `The mention ${p.raw} is not well formed (a known kind, then \`:id\`, then an optional \`:label\`); Dify sends its label or id as plain text instead.`,
          suggestion: 'Insert the reference again from the editor\'s slash menu, or write it as [§kind:id§] with a kind Dify knows.',
          start: p.start,
          end: p.end,
          fixedBy: [],
        }
      : {
          kind: 'mention-kind-not-allowed',
          severity: 'warning',
          message: `A ${p.kind} mention (${p.raw}) is not resolved in ${where}, which takes ${allowed}; Dify sends its label or id as plain text instead.`,
          suggestion: kind === 'agent-job-prompt' ? 'Reference tools, skills, files and knowledge in the agent\'s soul prompt.' : 'Reference node outputs and declared outputs in the node\'s job prompt.',
          start: p.start,
          end: p.end,
          fixedBy: [],
        },
  );
}
