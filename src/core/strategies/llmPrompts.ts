/**
 * The messages LLM strategies send. Kept apart from the strategy logic so they can be read and
 * tuned in one place, and so the loopback test server can find the prompt in a request.
 */
import type { Analysis, Language } from '../analysis/types';
import type { LlmStrategyName } from './types';
import type { PromptKind, PromptRole } from '../dsl/types';

/** The prompt to rewrite sits between these two lines of the user message. */
export const PROMPT_OPEN = '<original_prompt>';
export const PROMPT_CLOSE = '</original_prompt>';

/** The prompt block of a user message built by `buildUserMessage`, or undefined. */
export function extractPromptBlock(text: string): string | undefined {
  const a = text.indexOf(`${PROMPT_OPEN}\n`);
  const b = text.lastIndexOf(`\n${PROMPT_CLOSE}`);
  if (a < 0 || b < a) return undefined;
  return text.slice(a + PROMPT_OPEN.length + 1, b);
}

const GOALS: Record<LlmStrategyName, string> = {
  llm_guided:
    'Improve the prompt overall: fix the issues listed below first, then make the instructions clear, specific and well structured (short markdown sections or lists where they help). Keep every requirement and constraint it states.',
  llm_clarity:
    'Make the prompt clearer: replace vague words with precise ones, state the task, the inputs and the expected output format explicitly, and resolve ambiguities. Keep every requirement and constraint it states.',
  llm_efficiency:
    'Make the prompt shorter and cheaper to run without losing meaning: remove repetition, filler and politeness, merge overlapping instructions. Keep every requirement and constraint it states.',
  hybrid:
    'Improve the prompt overall: fix the issues listed below first, then make the instructions clear, specific and well structured. Keep every requirement and constraint it states.',
};

/**
 * What the model must know about the field it rewrites (contract v2 kinds): where Dify puts the
 * text, and what the rewrite must stay. A label stays a label; a user turn stays a user turn.
 */
const KIND_RULES: Partial<Record<PromptKind, string>> = {
  'llm-query-template':
    'This text is the user turn Dify sends on every chat request (an llm node\'s memory query template), not a system prompt: keep it a user message, keep the user\'s query placeholder, do not add a role or persona, and keep it short.',
  'agent-query': 'This text is the query an agent node receives (the user turn), not its instruction: keep it a user message with the same placeholders, no role or persona.',
  'classifier-class':
    'This text is a class name of a question classifier: the model picks it verbatim to route the question. Return a short label (a few words, no sentence, no markdown, no list); keep its meaning exactly so the same questions land in it, only make it clearer and distinct from the other classes.',
  'extractor-parameter':
    'This text is the description of one parameter a parameter extractor fills: return one or two plain sentences (no markdown, no sections) that say what the value is and its type, unit or format; do not change which value is extracted.',
  'output-description':
    'This text is the description of one field of a structured output (JSON schema): return one plain sentence (no markdown) saying what the field must hold; do not change which content goes there.',
  'app-agent-prompt':
    'This text is a ReAct agent prompt of a Dify agent app: keep the Thought / Action / Observation format and every placeholder, since the agent parses the model\'s answers by that format.',
  'followup-prompt': 'This text asks the model for follow-up questions after an answer: keep the number and form of questions it asks for.',
  'app-chat-message': 'This text is one message of an expert-mode Dify chat app: keep its role and every placeholder (they stand for the retrieved knowledge, the chat history and the question).',
  'app-completion-prompt': 'This text is the whole prompt of an expert-mode Dify completion app: keep every placeholder in place.',
  'agent-job-prompt':
    'This text is the job prompt of a Dify Agent v2 node (what this run of the agent must do): keep every placeholder in place; they stand for previous node outputs, declared outputs and human contacts.',
  'agent-soul-prompt':
    'This text is the system prompt of a Dify agent (its "soul", shared by every workflow node bound to it): keep every placeholder in place; they stand for its tools, skills, files, knowledge and human contacts.',
  'agent-output-description':
    'This text is the description of one output an Agent v2 node must produce: return one plain sentence (no markdown) saying what the output must hold; do not change which content goes there.',
  'agent-output-check':
    'This text is the prompt a model uses to check an Agent v2 file output against a benchmark file: keep what is compared and the form of the verdict it asks for.',
  'summary-prompt':
    'This text is the summary prompt of a Dify knowledge pipeline: Dify sends it followed by a newline and one chunk of a document, and indexes the answer. Keep it an instruction for summarising the text that follows it.',
  'memory-role-prefix':
    'This text is the name Dify writes before each turn of the chat history of a completion model: return a short name only (one or two words, no punctuation, no sentence).',
};

/** The kind rule for a field, or undefined. */
export function kindRule(kind: PromptKind | undefined): string | undefined {
  return kind ? KIND_RULES[kind] : undefined;
}

const LANGUAGE_NAMES: Partial<Record<Language, string>> = { zh: 'Chinese', ja: 'Japanese', ko: 'Korean', en: 'English' };

export const SYSTEM_PROMPT = [
  'You are an expert prompt engineer who rewrites prompts used inside Dify LLM workflows.',
  'Rules:',
  '- Placeholders of the form [[VAR_n]] stand for template variables filled at run time. Keep each placeholder exactly as written, exactly as many times as it appears in the original; never add, rename, split or translate one, and never write template syntax such as {{...}} yourself.',
  '- Write the improved prompt in the same language as the original prompt.',
  '- Keep markdown structure (headers, lists, code blocks) valid.',
  '- Return only the rewritten prompt text in "prompt", not a commentary about it.',
  'Answer with a single JSON object and nothing else: {"prompt": string, "rationale": string, "confidence": number between 0 and 1, "changes": string[]}.',
  '"confidence" is how sure you are that the rewrite is better and keeps the meaning; "changes" lists the edits in a few words each.',
].join('\n');

export interface UserMessageInput {
  strategy: LlmStrategyName;
  /** The prompt with variables already replaced by placeholders. */
  protectedText: string;
  analysis: Analysis;
  /** Placeholder → variable raw text (from protectVariables); raw variables are kept out of issue messages too. */
  slots: Map<string, string>;
  kind?: PromptKind;
  role?: PromptRole;
  /** An extractor parameter's enum values: told to the model as context, never to be rewritten. */
  options?: readonly string[];
  iteration: number;
  maxIssues?: number;
}

function hide(text: string, slots: Map<string, string>): string {
  let out = text;
  const seen = new Set<string>();
  for (const [ph, raw] of slots) {
    if (seen.has(raw)) continue;
    seen.add(raw);
    out = out.split(raw).join(ph);
  }
  return out;
}

/** The user message: goal, scores, top issues, context, language rule, and the prompt block. */
export function buildUserMessage(i: UserMessageInput): string {
  const a = i.analysis;
  const order = { error: 0, warning: 1, info: 2 } as const;
  const issues = [...a.issues].sort((x, y) => order[x.severity] - order[y.severity]).slice(0, i.maxIssues ?? 6);
  const lines: string[] = [];
  lines.push(`Goal: ${GOALS[i.strategy]}`);
  lines.push('');
  lines.push(
    `Scores of the current prompt (0-100, higher is better): overall ${Math.round(a.overall)}, clarity ${Math.round(a.clarity)}, efficiency ${Math.round(a.efficiency)}, structure ${Math.round(a.structure)}.`,
  );
  if (issues.length) {
    lines.push('Issues found by static analysis:');
    for (const is of issues) {
      const sug = is.suggestion ? ` Suggestion: ${hide(is.suggestion, i.slots)}` : '';
      lines.push(`- [${is.severity}] ${is.kind}: ${hide(is.message, i.slots)}${sug}`);
    }
  } else {
    lines.push('Static analysis found no specific issues.');
  }
  const ctx: string[] = [];
  if (i.kind) ctx.push(`field: ${i.kind}`);
  if (i.role) ctx.push(`message role: ${i.role}`);
  if (i.iteration > 1) ctx.push(`refinement step ${i.iteration} (this prompt is already a rewrite)`);
  if (ctx.length) lines.push(`Context: ${ctx.join('; ')}.`);
  const rule = kindRule(i.kind);
  if (rule) lines.push(`Field rule: ${rule}`);
  if (i.options?.length) {
    lines.push(`The value is one of these options, which Dify gives the model as an enum (context only: do not rewrite them, keep the description consistent with them): ${i.options.map((o) => JSON.stringify(hide(o, i.slots))).join(', ')}.`);
  }
  const lang = LANGUAGE_NAMES[a.language];
  if (lang && a.language !== 'en') lines.push(`The prompt is written in ${lang}: write the improved prompt in ${lang}.`);
  const phs = [...i.slots.keys()];
  if (phs.length) {
    lines.push(`It contains these placeholders, each to be kept unchanged: ${phs.join(', ')}.`);
  }
  lines.push('');
  lines.push(PROMPT_OPEN);
  lines.push(i.protectedText);
  lines.push(PROMPT_CLOSE);
  lines.push('');
  lines.push('Answer with the JSON object only.');
  return lines.join('\n');
}
