export { analyzePrompt, explainPrompt, type Explained } from './analyze';
export { analysisInput, labelIssues, LABEL_POINTS } from './labels';
export { computeScores, scoreBreakdown, judgedAsInstruction, ISSUE_DIMENSION, WEIGHTS, type Scores, type ScoreStats, type Penalty, type Dimension } from './scorer';
export { buildModel, detectLanguage, estimateTokens, wordUnits, type TextModel, type LineInfo } from './text';
export { VAGUE_TERMS, FILLER_PHRASES, type LexEntry } from './lexicon';
export type { Analysis, AnalysisInput, PromptIssue, Severity, Language } from './types';
