export { analyzePrompt } from './analyze';
export { computeScores, WEIGHTS, type Scores, type ScoreStats } from './scorer';
export { buildModel, detectLanguage, estimateTokens, wordUnits, type TextModel, type LineInfo } from './text';
export { VAGUE_TERMS, FILLER_PHRASES, type LexEntry } from './lexicon';
export type { Analysis, AnalysisInput, PromptIssue, Severity, Language } from './types';
