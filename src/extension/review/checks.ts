import { diffVariables } from '../../core/dsl';

/** Stable codes of a refused Accept (ReviewOutcome.code). */
export const ReviewCodes = {
  noProposal: 'REVIEW_NO_PROPOSAL',
  invalidDocument: 'REVIEW_INVALID_DOCUMENT',
  stale: 'REVIEW_STALE',
  promptGone: 'REVIEW_PROMPT_GONE',
  nothingLeft: 'REVIEW_NOTHING_LEFT',
  empty: 'REVIEW_EMPTY',
  variablesChanged: 'REVIEW_VARIABLES_CHANGED',
  writeFailed: 'REVIEW_WRITE_FAILED',
  editRefused: 'REVIEW_EDIT_REFUSED',
} as const;

export type ReviewCode = (typeof ReviewCodes)[keyof typeof ReviewCodes];

export interface ReviewProblem {
  code: ReviewCode;
  message: string;
}

/** What the checks read: the prompt now, the text to write, and names for the message. */
export interface AcceptInput {
  /** The prompt's text in the workflow file (equal to the proposal's original). */
  current: string;
  /** The text Accept would write: the proposal as the user left it in the diff. */
  text: string;
  /** True when `text` is the user's edit of the proposal (the message says the edit is kept). */
  edited: boolean;
  nodeTitle: string;
  promptId: string;
  /** The workflow file, as shown to the user. */
  file: string;
}

const list = (xs: string[]) => [...new Set(xs)].join(', ');

/**
 * The checks every proposal passes before it is written, the user's edit included: some text
 * is left, something is left to apply, and every variable of the prompt is kept (none lost,
 * none added). Returns the first problem, in plain words, or undefined.
 */
export function checkAccept(input: AcceptInput): ReviewProblem | undefined {
  const where = `"${input.nodeTitle}" (${input.promptId}) in ${input.file}`;
  const kept = input.edited ? ' Nothing was written; your edit is kept in the diff.' : ' Nothing was written.';
  if (input.text.trim() === '') {
    return { code: ReviewCodes.empty, message: `The proposal for ${where} is empty.${kept}` };
  }
  if (input.text === input.current) {
    return {
      code: ReviewCodes.nothingLeft,
      message: `The proposal for ${where} no longer changes anything (every change was reverted); use Reject to dismiss it.`,
    };
  }
  const d = diffVariables(input.current, input.text);
  if (d.missing.length || d.added.length) {
    const parts = [
      d.missing.length ? `drops the variable${d.missing.length === 1 ? '' : 's'} ${list(d.missing)}` : '',
      d.added.length ? `adds the variable${d.added.length === 1 ? '' : 's'} ${list(d.added)} the prompt does not have` : '',
    ].filter(Boolean);
    return {
      code: ReviewCodes.variablesChanged,
      message: `The ${input.edited ? 'edited ' : ''}proposal for ${where} ${parts.join(' and ')}; every variable of the prompt must be kept as it is.${kept}`,
    };
  }
  return undefined;
}
