/**
 * The Dify DSL engine: parse an export, list its prompts with exact source ranges, write
 * prompts back without touching any other byte. See parse.ts for the prompt id scheme.
 */
import { DslError } from '../errors';
import type { DifyDocument } from './parse';
import type { PromptRecord } from './types';

export { parseDify, looksLikeDifyExport, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_ALIASES } from './parse';
export type { DifyDocument, ParseOptions } from './parse';
export { replacePrompts } from './writeback';
export type { PromptEdit, ReplaceOptions } from './writeback';
export { encodeDoubleQuoted, encodeBlockLiteral, blockLiteralSafe } from './encode';
export { sourceOffsetOf } from './sourceMap';
export { LineIndex } from './positions';
export * from './types';
export { LABEL_KINDS, KIND_TITLES, isLabel, isLabelKind, isUserTurnKind, rewritable } from './kinds';
export { formatWarning } from './warnings';
export * from './variables';

/** The prompt with this id; throws DslError DSL_UNKNOWN_PROMPT naming the id when there is none. */
export function findPrompt(doc: DifyDocument, id: string): PromptRecord {
  const rec = doc.prompts.find((p) => p.id === id);
  if (!rec) {
    const known = doc.prompts.slice(0, 5).map((p) => p.id).join(', ');
    throw new DslError(
      'DSL_UNKNOWN_PROMPT',
      `There is no prompt with id "${id}" in this file${known ? ` (ids look like: ${known})` : ''}.`,
      { file: doc.file, promptId: id },
    );
  }
  return rec;
}
