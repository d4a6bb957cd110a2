import type { PromptKind, PromptRole } from '../dsl/types';

export type Severity = 'error' | 'warning' | 'info';

export type Language = 'en' | 'zh' | 'ja' | 'ko' | 'mixed' | 'other';

/** A problem found in a prompt; offsets are in the decoded text (UTF-16), end exclusive. */
export interface PromptIssue {
  /** Stable kind, e.g. 'vague-term', 'long-sentence', 'missing-structure', 'redundant-phrase'. */
  kind: string;
  severity: Severity;
  message: string;
  start: number;
  end: number;
  suggestion?: string;
  /** Rule strategies that fix this kind of issue (used for quick fixes). */
  fixedBy?: string[];
}

export interface Analysis {
  /** 0–100 each; overall is a documented weighted mean of the three. */
  overall: number;
  clarity: number;
  efficiency: number;
  structure: number;
  issues: PromptIssue[];
  language: Language;
  characters: number;
  /** Estimated tokens (CJK-aware). */
  tokens: number;
  variableCount: number;
}

export interface AnalysisInput {
  text: string;
  kind?: PromptKind;
  role?: PromptRole;
  /** For a label: the other labels of the same kind in the same node (other class names), for duplicate / overlap checks. */
  siblings?: readonly string[];
}
