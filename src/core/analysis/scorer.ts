/**
 * # Scoring model (deterministic, 0–100, one decimal)
 *
 * Every point a prompt loses comes from a named penalty term, and every term that costs points is
 * reported as at least one issue of the listed kind, with a range in the prompt and a suggestion
 * (`explainPrompt()` returns the terms; `ISSUE_DIMENSION` maps issue kinds to dimensions). A
 * prompt with no issues scores 100.
 *
 * All measures are taken on the *prose*: the decoded prompt with variables, inline code, fenced
 * code blocks and jinja regions blanked out. Length is measured in **word units**: a Latin-script
 * word counts 1, a CJK character (Han, kana, hangul) counts 0.5 — parallel corpora show about two
 * Han characters per English word, so a prompt and its faithful translation have about the same
 * number of units. Count penalties are scaled by density over `D = max(units, 40)`, so a long
 * prompt is not punished for being long.
 *
 * What is judged depends on the prompt:
 * - **Instruction prompts** (system messages, completion templates, app pre-prompts, classifier,
 *   extractor and agent instructions) must be long enough to act on and say what to do, what to
 *   return, who the model is, with concrete constraints and an example.
 * - A **variable carrier** (at least one variable and under 8 units of its own text, e.g.
 *   `{{#1.role_def#}}`) gets its content at run time: it is not judged on any of that.
 * - **User / assistant messages** are the request or a prefill and are not judged on it either,
 *   except that a user message of 25+ units is a request that must state its task, output
 *   format, constraints and (from 40 units) an example — but never a role, never "too short".
 *
 * | issue kind (when)                              | dimension  | points                                   |
 * |------------------------------------------------|------------|------------------------------------------|
 * | vague-term                                     | clarity    | min(30, 600 × vague or hedging words / D) |
 * | long-sentence                                  | clarity    | min(25, Σ per sentence over 40 units of 4 + min(8, (units − 40) / 5)) |
 * | too-short (instruction)                        | clarity    | 60 under 6 units, 40 under 12, 20 under 25 |
 * | no-constraints (instruction, 25+ units)        | clarity    | 15: no limit, rule, number or list        |
 * | no-examples (instruction, 40+ units)           | clarity    | 15: no example, sample or code block      |
 * | redundant-phrase                               | efficiency | min(30, 300 × filler phrases / D)         |
 * | duplicate-line, repeated-instruction           | efficiency | min(30, 8 × repeats)                      |
 * | excess-blank-lines                             | efficiency | min(10, 2 × runs of 2+ blank lines or blank lines at the start) |
 * | trailing-whitespace                            | efficiency | min(5, 1 × lines)                         |
 * | too-long (1000+ units)                         | efficiency | min(20, (units − 1000) / 50)              |
 * | unbalanced-code-fence (not assistant prefills) | structure  | 25 each                                   |
 * | missing-task (instruction)                     | structure  | 25                                        |
 * | missing-output-format (instruction)            | structure  | 25                                        |
 * | missing-role (instruction, 12+ units, not user)| structure  | 25                                        |
 * | wall-of-text (40+ units)                       | structure  | min(30, 15 × lines of 120+ units)         |
 * | missing-structure (40+ units)                  | structure  | 15 (40–119 units) or 25 (120+ units)      |
 *
 * A prompt is *structured* with 2+ sections — markdown headers, short label lines ending in
 * ":" / "：" ("Theme: {{x}}", "要求如下："), or lines opening an XML-style tag (`<context>`) —
 * or, under 120 units, with 2+ list items.
 *
 * Each dimension = 100 − its points, clamped to 0–100.
 * **Overall** = 0.45 × clarity + 0.1 × efficiency + 0.45 × structure (efficiency is weighted low:
 * filler and whitespace cost tokens, not quality).
 * An empty (or whitespace-only) prompt scores 0 everywhere (issue `empty-prompt`).
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
  /** System / completion / pre-prompt / node instruction (not a user or assistant message). */
  instruction: boolean;
  /** Has variables and fewer than CARRIER_UNITS units of its own text. */
  carrier: boolean;
  hasRole: boolean;
  hasTask: boolean;
  hasOutput: boolean;
  /** A limit, rule, number, example or list is given. */
  hasConstraints: boolean;
  /** An example (of input or of the answer) is given: "e.g.", "for example", "示例", a code block. */
  hasExamples: boolean;
  /** A user message of USER_REQUEST_UNITS+ own units: judged as an instruction, except for role and length. */
  userRequest: boolean;
  wallParagraphs: number;
  /** Headers, label lines and XML-style tag lines. */
  sections: number;
  listItems: number;
}

export interface Scores {
  overall: number;
  clarity: number;
  efficiency: number;
  structure: number;
}

export type Dimension = 'clarity' | 'efficiency' | 'structure';

/** One penalty term of the model: the points it costs and the issue kinds that report it. */
export interface Penalty {
  term: string;
  dimension: Dimension;
  points: number;
  kinds: string[];
}

export const WEIGHTS = { clarity: 0.45, efficiency: 0.1, structure: 0.45 } as const;
export const LONG_SENTENCE_UNITS = 40;
export const MIN_STRUCTURED_UNITS = 40;
export const SECTION_UNITS = 40;
export const LONG_SECTION_UNITS = 120;
export const WALL_UNITS = 120;
export const LONG_PROMPT_UNITS = 1000;
export const SHORT_UNITS = 25;
export const ROLE_UNITS = 12;
export const SPECIFIC_UNITS = 25;
export const CARRIER_UNITS = 8;
export const EXAMPLE_UNITS = 40;
export const USER_REQUEST_UNITS = 25;

/** Issue kind → dimension it costs points in (kinds not listed cost nothing). */
export const ISSUE_DIMENSION: Readonly<Record<string, Dimension>> = {
  'vague-term': 'clarity',
  'long-sentence': 'clarity',
  'too-short': 'clarity',
  'no-constraints': 'clarity',
  'no-examples': 'clarity',
  'redundant-phrase': 'efficiency',
  'duplicate-line': 'efficiency',
  'repeated-instruction': 'efficiency',
  'excess-blank-lines': 'efficiency',
  'trailing-whitespace': 'efficiency',
  'too-long': 'efficiency',
  'unbalanced-code-fence': 'structure',
  'missing-task': 'structure',
  'missing-output-format': 'structure',
  'missing-role': 'structure',
  'wall-of-text': 'structure',
  'missing-structure': 'structure',
};

const round1 = (n: number): number => Math.round(n * 10) / 10;
const clamp = (n: number): number => round1(Math.min(100, Math.max(0, n)));

export function longSentencePenalty(units: number): number {
  return units > LONG_SENTENCE_UNITS ? 4 + Math.min(8, (units - LONG_SENTENCE_UNITS) / 5) : 0;
}

/** Points for an instruction prompt that is too short to be actionable (scaled by shortness). */
export function shortnessPenalty(units: number): number {
  if (units < 6) return 60;
  if (units < 12) return 40;
  if (units < SHORT_UNITS) return 20;
  return 0;
}

export function unstructuredPenalty(units: number): number {
  if (units >= LONG_SECTION_UNITS) return 25;
  if (units >= SECTION_UNITS) return 15;
  return 0;
}

/** True when the prompt is judged on role / task / output format / length / specificity. */
export function judgedAsInstruction(s: Pick<ScoreStats, 'instruction' | 'carrier' | 'userRequest'>): boolean {
  return (s.instruction && !s.carrier) || s.userRequest;
}

/** Every penalty term of the model with the points it costs (terms costing 0 are left out). */
export function scoreBreakdown(s: ScoreStats): Penalty[] {
  const d = Math.max(s.units, 40);
  const out: Penalty[] = [];
  const add = (term: string, dimension: Dimension, points: number, kinds: string[] = [term]): void => {
    if (points > 0) out.push({ term, dimension, points: round1(points), kinds });
  };
  const instr = judgedAsInstruction(s);
  // Clarity
  add('vague-term', 'clarity', Math.min(30, (600 * s.vague) / d));
  add('long-sentence', 'clarity', Math.min(25, s.longSentenceUnits.reduce((a, u) => a + longSentencePenalty(u), 0)));
  if (instr && !s.userRequest) add('too-short', 'clarity', shortnessPenalty(s.units));
  if (instr && s.units >= SPECIFIC_UNITS && !s.hasConstraints) add('no-constraints', 'clarity', 15);
  if (instr && s.units >= EXAMPLE_UNITS && !s.hasExamples) add('no-examples', 'clarity', 15);
  // Efficiency
  add('redundant-phrase', 'efficiency', Math.min(30, (300 * s.filler) / d));
  add('repetition', 'efficiency', Math.min(30, 8 * s.repeated), ['duplicate-line', 'repeated-instruction']);
  add('excess-blank-lines', 'efficiency', Math.min(10, 2 * s.blankRuns));
  add('trailing-whitespace', 'efficiency', Math.min(5, s.trailingSpaceLines));
  if (s.units > LONG_PROMPT_UNITS) add('too-long', 'efficiency', Math.min(20, (s.units - LONG_PROMPT_UNITS) / 50));
  // Structure
  add('unbalanced-code-fence', 'structure', 25 * s.unbalancedFences);
  if (instr) {
    if (!s.hasTask) add('missing-task', 'structure', 25);
    if (!s.hasOutput) add('missing-output-format', 'structure', 25);
    if (!s.hasRole && s.units >= ROLE_UNITS && !s.userRequest) add('missing-role', 'structure', 25);
  }
  if (s.units >= MIN_STRUCTURED_UNITS) add('wall-of-text', 'structure', Math.min(30, 15 * s.wallParagraphs));
  // Short prompts may be structured by a list alone; long ones need sections.
  const structured = s.sections >= 2 || (s.listItems >= 2 && s.units < LONG_SECTION_UNITS);
  if (!structured) add('missing-structure', 'structure', unstructuredPenalty(s.units));
  return out;
}

/** Applies the model above. */
export function computeScores(s: ScoreStats): Scores {
  const lost: Record<Dimension, number> = { clarity: 0, efficiency: 0, structure: 0 };
  for (const p of scoreBreakdown(s)) lost[p.dimension] += p.points;
  const clarity = clamp(100 - lost.clarity);
  const efficiency = clamp(100 - lost.efficiency);
  const structure = clamp(100 - lost.structure);
  const overall = clamp(WEIGHTS.clarity * clarity + WEIGHTS.efficiency * efficiency + WEIGHTS.structure * structure);
  return { overall, clarity, efficiency, structure };
}
