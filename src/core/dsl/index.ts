/**
 * The Dify DSL engine: parse an export, list its prompts with exact source ranges, write
 * prompts back without touching any other byte.
 */
export { parseDify, looksLikeDifyExport, DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH, DEFAULT_MAX_ALIASES } from './parse';
export type { DifyDocument, ParseOptions } from './parse';
export * from './types';
export * from './variables';
