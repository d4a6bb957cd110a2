/**
 * Prompt mentions of DSL 0.7.0: `[§kind:id[:label]§]` tokens the Agent v2 editor's slash menu
 * writes into the job prompt and the soul prompt (langgenius/dify
 * api/services/agent/prompt_mentions.py). Well-formed ones are variables (variables.ts: kept
 * exactly, never rewritten); this file finds the two problems Dify itself flags:
 * - a mention-shaped marker the strict grammar does not accept (`_RESIDUAL_MENTION_PATTERN`
 *   minus the spans `MENTION_PATTERN` parsed, as `find_malformed_mention_markers` does): an
 *   unknown kind, an empty id, an oversized id or label. Dify's runtime scrub degrades it to its
 *   label or id, so the model never sees what the author meant.
 * - a kind not allowed on its surface (`SOUL_PROMPT_ALLOWED_KINDS`,
 *   `NODE_JOB_PROMPT_ALLOWED_KINDS`): the resolver of that surface does not know it, so it
 *   degrades to its label or id.
 */
import type { PromptKind } from './types';
import { findVariables } from './variables';

export type MentionKind = 'skill' | 'file' | 'tool' | 'cli_tool' | 'knowledge' | 'human' | 'node_output' | 'output';

/** The kinds each surface's resolver knows (prompt_mentions.py, design §2.4). */
export const MENTION_KINDS_BY_SURFACE: Partial<Record<PromptKind, ReadonlySet<MentionKind>>> = {
  'agent-soul-prompt': new Set<MentionKind>(['skill', 'file', 'tool', 'cli_tool', 'knowledge', 'human']),
  'agent-job-prompt': new Set<MentionKind>(['node_output', 'output', 'human']),
};

export interface MentionProblem {
  code: 'mention-malformed' | 'mention-kind-not-allowed';
  /** The marker as written. */
  raw: string;
  /** Offsets in the decoded text, end exclusive. */
  start: number;
  end: number;
  /** The mention's kind (for mention-kind-not-allowed). */
  kind?: string;
}

/** `_RESIDUAL_MENTION_PATTERN`: anything `[§word:…§]`. */
const RESIDUAL_RE = /\[§([A-Za-z_][A-Za-z0-9_]*:[^§]*?)§\]/g;

/** Mention-shaped markers Dify's strict grammar does not accept, in text order. */
export function findMalformedMentions(text: string): MentionProblem[] {
  if (!text.includes('[§')) return [];
  const parsed = new Set(findVariables(text).filter((v) => v.kind === 'prompt-mention').map((v) => `${v.start}:${v.end}`));
  const out: MentionProblem[] = [];
  RESIDUAL_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = RESIDUAL_RE.exec(text)) !== null) {
    const start = m.index;
    const end = start + m[0].length;
    if (!parsed.has(`${start}:${end}`)) out.push({ code: 'mention-malformed', raw: m[0], start, end });
  }
  return out;
}

/** Well-formed mentions whose kind the surface (`kind` of the prompt) does not allow. */
export function findDisallowedMentions(text: string, surface: PromptKind | undefined): MentionProblem[] {
  const allowed = surface ? MENTION_KINDS_BY_SURFACE[surface] : undefined;
  if (!allowed || !text.includes('[§')) return [];
  return findVariables(text)
    .filter((v) => v.kind === 'prompt-mention' && !allowed.has(v.selector[0] as MentionKind))
    .map((v) => ({ code: 'mention-kind-not-allowed' as const, raw: v.raw, start: v.start, end: v.end, kind: v.selector[0] }));
}

/**
 * Both checks, sorted by position, on the two surfaces whose mentions Dify expands (the job and
 * the soul prompt); elsewhere a `[§…§]` is plain text the model reads as written.
 */
export function mentionProblems(text: string, surface: PromptKind | undefined): MentionProblem[] {
  if (!surface || !MENTION_KINDS_BY_SURFACE[surface]) return [];
  return [...findMalformedMentions(text), ...findDisallowedMentions(text, surface)].sort((a, b) => a.start - b.start);
}
