/**
 * # Scoring model (deterministic, 0–100, one decimal)
 *
 * All measures are taken on the *prose*: the decoded prompt with variables, inline code, fenced
 * code blocks and jinja regions blanked out. Length is measured in **word units**: a Latin-script
 * word counts 1, a CJK character (Han, kana, hangul) counts 0.5 — parallel corpora show about two
 * Han characters per English word, so a prompt and its faithful translation have about the same
 * number of units. Penalties that depend on counts are scaled by density over
 * `D = max(units, 60)`, so a long prompt is not punished for being long.
 *
 * **Clarity** = 100
 *  − min(30, 250 × vagueTerms / D)                      vague or hedging words (per-language lists)
 *  − min(25, Σ over sentences longer than 40 units of 4 + min(8, (units − 40) / 5))
 *
 * **Efficiency** = 100
 *  − min(30, 300 × fillerPhrases / D)                   "please note that", "in order to", "需要注意的是，"…
 *  − min(30, 8 × repeated sentences or lines)
 *  − min(10, 2 × runs of 2+ blank lines, and blank lines at either end)
 *  − min(5, 1 × lines with trailing spaces)
 *  − min(20, (units − 1000) / 50) when units > 1000     very long prompts
 *
 * **Structure** = 100
 *  − 25 × unbalanced code fences (not for assistant messages, where an open fence is a prefill)
 *  and, for prompts of at least 40 units (shorter ones need no sections):
 *  − 10 when no role is stated (system / instruction prompts of 80+ units only)
 *  − 10 when no task or instruction is recognisable (not for user / assistant messages)
 *  − 8  when no output format is stated (system / instruction prompts of 80+ units only)
 *  − min(30, 15 × paragraphs of 120+ units without a line break into items)   wall of text
 *  − 8 (80–149 units) or 15 (150+ units) when there is no markdown header and fewer than 2 list items
 *
 * **Overall** = 0.4 × clarity + 0.3 × efficiency + 0.3 × structure.
 * An empty (or whitespace-only) prompt scores 0 everywhere. Each dimension is clamped to 0–100.
 */

export interface ScoreStats {
  units: number;
  vague: number;
  longSentenceUnits: number[];
  filler: number;
  repeated: number;
  blankRuns: number;
  trailingSpaceLines: number;
  unbalancedFences: number;
  checkRole: boolean;
  checkTask: boolean;
  checkOutput: boolean;
  hasRole: boolean;
  hasTask: boolean;
  hasOutput: boolean;
  wallParagraphs: number;
  headers: number;
  listItems: number;
}

export interface Scores {
  overall: number;
  clarity: number;
  efficiency: number;
  structure: number;
}

export const WEIGHTS = { clarity: 0.4, efficiency: 0.3, structure: 0.3 } as const;
export const LONG_SENTENCE_UNITS = 40;
export const MIN_STRUCTURED_UNITS = 40;
export const SECTION_UNITS = 80;
export const WALL_UNITS = 120;
export const LONG_PROMPT_UNITS = 1000;

const clamp = (n: number): number => Math.round(Math.min(100, Math.max(0, n)) * 10) / 10;

export function longSentencePenalty(units: number): number {
  return units > LONG_SENTENCE_UNITS ? 4 + Math.min(8, (units - LONG_SENTENCE_UNITS) / 5) : 0;
}

/** Applies the model above. */
export function computeScores(s: ScoreStats): Scores {
  const d = Math.max(s.units, 60);
  const clarity = clamp(
    100 - Math.min(30, (250 * s.vague) / d) - Math.min(25, s.longSentenceUnits.reduce((a, u) => a + longSentencePenalty(u), 0)),
  );
  const efficiency = clamp(
    100 -
      Math.min(30, (300 * s.filler) / d) -
      Math.min(30, 8 * s.repeated) -
      Math.min(10, 2 * s.blankRuns) -
      Math.min(5, s.trailingSpaceLines) -
      (s.units > LONG_PROMPT_UNITS ? Math.min(20, (s.units - LONG_PROMPT_UNITS) / 50) : 0),
  );
  let structure = 100 - 25 * s.unbalancedFences;
  if (s.units >= MIN_STRUCTURED_UNITS) {
    if (s.checkRole && !s.hasRole) structure -= 10;
    if (s.checkTask && !s.hasTask) structure -= 10;
    if (s.checkOutput && !s.hasOutput) structure -= 8;
    structure -= Math.min(30, 15 * s.wallParagraphs);
    if (s.headers === 0 && s.listItems < 2) structure -= unstructuredPenalty(s.units);
  }
  const st = clamp(structure);
  const overall = clamp(WEIGHTS.clarity * clarity + WEIGHTS.efficiency * efficiency + WEIGHTS.structure * st);
  return { overall, clarity, efficiency, structure: st };
}

export function unstructuredPenalty(units: number): number {
  if (units >= 150) return 15;
  if (units >= SECTION_UNITS) return 8;
  return 0;
}
