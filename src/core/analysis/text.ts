/**
 * Text model shared by the analysis and the rule strategies: protected regions (variables,
 * code fences, inline code, jinja regions), a same-length "masked" copy of the text in which
 * protected characters are blanked, line records, CJK-aware word units and token estimates,
 * language detection and sentence spans. Offsets are UTF-16 code units of the decoded text.
 */
import { findVariables, type Variable } from '../dsl/variables';
import { CJK, CLASS, countScripts, isBlankRange, noCounts, skipSpace, SPACE, trimSpaceEnd, type ScriptCounts } from './scan';
import type { Language } from './types';

export type ProtectedKind = 'variable' | 'code-fence' | 'inline-code' | 'jinja-region';

export interface Span {
  start: number;
  end: number;
}

export interface ProtectedRange extends Span {
  kind: ProtectedKind;
}

export interface LineInfo extends Span {
  /** Raw line text (no line break). */
  text: string;
  /** Same line in the masked text. */
  masked: string;
  /** Inside (or a delimiter of) a code fence or a jinja region: never edited, never analysed as prose. */
  block: boolean;
  blank: boolean;
  header: boolean;
  /** List marker incl. trailing space (`- `, `1. `, `* `, `1、`), or '' */
  listMarker: string;
}

export interface FenceInfo extends Span {
  closed: boolean;
  /** Offset of the opening fence line's start. */
  openLine: number;
}

export interface TextModel {
  text: string;
  masked: string;
  ranges: ProtectedRange[];
  fences: FenceInfo[];
  lines: LineInfo[];
  variableCount: number;
  /** The variables of the text (findVariables). */
  variables: Variable[];
  /** Per line (same index as `lines`): Latin-script words and CJK characters of its masked text. */
  lineWords: number[];
  lineCjk: number[];
  /** Script counts of the whole masked text. */
  counts: ScriptCounts;
}

export const HEADER_RE = /^ {0,3}#{1,6}(?:[ \t]|$)/;
export const LIST_RE = /^[ \t]*(?:[-*+•·]|\d{1,3}[.)、．]|[（(]\d{1,3}[)）]|[a-zA-Z][.)])(?:[ \t\u00a0\u3000]+|(?=[^\sA-Za-z0-9]))/;
/** Han ideographs, kana and hangul (the scripts counted per character, not per word). */
export const CJK_RE = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u31f0-\u31ff]/;

/** Word units per CJK character: parallel texts show about two Han characters per English word. */
export const UNITS_PER_CJK_CHAR = 0.5;

const BACKTICK = 0x60;
const TILDE = 0x7e;

/**
 * The fence run of the line `[pos, nl)` (`^ {0,3}(`{3,}|~{3,})`): its character and length, and
 * where it ends; undefined when the line does not open with one.
 */
function fenceRunAt(text: string, pos: number, nl: number): { ch: number; len: number; end: number } | undefined {
  let i = pos;
  while (i < nl && i - pos < 3 && text.charCodeAt(i) === 0x20) i++;
  const ch = text.charCodeAt(i);
  if (i >= nl || (ch !== BACKTICK && ch !== TILDE)) return undefined;
  let j = i;
  while (j < nl && text.charCodeAt(j) === ch) j++;
  return j - i >= 3 ? { ch, len: j - i, end: j } : undefined;
}

/** Finds fenced code blocks (``` or ~~~, CommonMark-style closing rule); an unclosed fence runs to the end. */
export function findFences(text: string): FenceInfo[] {
  const out: FenceInfo[] = [];
  let pos = 0;
  let open: { start: number; ch: number; len: number } | undefined;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const run = fenceRunAt(text, pos, nl);
    if (run) {
      if (!open) {
        open = { start: pos, ch: run.ch, len: run.len };
      } else if (run.ch === open.ch && run.len >= open.len && onlySpacesOrTabs(text, run.end, nl)) {
        out.push({ start: open.start, end: nl, closed: true, openLine: open.start });
        open = undefined;
      }
    }
    if (nl >= text.length) break;
    pos = nl + 1;
  }
  if (open) out.push({ start: open.start, end: text.length, closed: false, openLine: open.start });
  return out;
}

function onlySpacesOrTabs(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09) return false;
  }
  return true;
}

/** Protected regions, sorted by start and non-overlapping (block regions swallow what they contain). */
export function protectedRanges(text: string, fences = findFences(text)): ProtectedRange[] {
  return rangesOf(text, fences, findVariables(text));
}

/**
 * The protected regions given the fences and the variables (sorted, non-overlapping, as
 * findVariables returns them). Sorted lists are swept with one cursor each, so this is linear.
 */
function rangesOf(text: string, fences: FenceInfo[], vars: readonly Variable[]): ProtectedRange[] {
  const blocks: ProtectedRange[] = fences.map((f) => ({ start: f.start, end: f.end, kind: 'code-fence' as const }));
  let first: Variable | undefined;
  let last: Variable | undefined;
  for (const v of vars) {
    if (v.kind !== 'jinja-block') continue;
    first ??= v;
    last = v;
  }
  if (first && last) {
    // Jinja statements change what the text means around them: the whole span from the first
    // statement to the last one is never edited. Extended to whole lines.
    const s = text.lastIndexOf('\n', first.start - 1) + 1;
    const nl = text.indexOf('\n', last.end);
    blocks.push({ start: s, end: nl < 0 ? text.length : nl, kind: 'jinja-region' });
  }
  const merged = mergeRanges(blocks);
  const inlineVars: ProtectedRange[] = [];
  let bi = 0;
  for (const v of vars) {
    while (bi < merged.length && merged[bi].end <= v.start) bi++;
    if (bi < merged.length && merged[bi].start < v.end) continue;
    inlineVars.push({ start: v.start, end: v.end, kind: 'variable' });
  }
  const code: ProtectedRange[] = [];
  const codeRe = /`[^`\n]+`/g;
  let m: RegExpExecArray | null;
  bi = 0;
  let vi = 0;
  while ((m = codeRe.exec(text)) !== null) {
    const start = m.index;
    const end = start + m[0].length;
    while (bi < merged.length && merged[bi].end <= start) bi++;
    if (bi < merged.length && merged[bi].start < end) continue;
    while (vi < inlineVars.length && inlineVars[vi].end <= start) vi++;
    if (vi < inlineVars.length && inlineVars[vi].start < end) continue;
    code.push({ start, end, kind: 'inline-code' });
  }
  return mergeSorted(mergeSorted(merged, inlineVars), code);
}

/** Two lists sorted by start, as one (no two ranges share a start: they do not overlap). */
function mergeSorted(a: ProtectedRange[], b: ProtectedRange[]): ProtectedRange[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: ProtectedRange[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = a[i].start <= b[j].start ? a[i++] : b[j++];
  while (i < a.length) out[k++] = a[i++];
  while (j < b.length) out[k++] = b[j++];
  return out;
}

function mergeRanges(list: ProtectedRange[]): ProtectedRange[] {
  const sorted = [...list].sort((a, b) => a.start - b.start);
  const out: ProtectedRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

/** The text with every protected character except line breaks replaced by a space (same length). */
function maskRanges(text: string, ranges: readonly Span[]): string {
  if (ranges.length === 0) return text;
  const parts: string[] = [];
  let last = 0;
  for (const r of ranges) {
    parts.push(text.slice(last, r.start));
    let i = r.start;
    for (;;) {
      let nl = text.indexOf('\n', i);
      if (nl < 0 || nl >= r.end) nl = r.end;
      parts.push(' '.repeat(nl - i));
      if (nl >= r.end) break;
      parts.push('\n');
      i = nl + 1;
    }
    last = r.end;
  }
  parts.push(text.slice(last));
  return parts.join('');
}

/** Could `HEADER_RE` match a line starting at `pos`? (It needs a space or `#` first.) */
const mayBeHeader = (text: string, pos: number): boolean => {
  const c = text.charCodeAt(pos);
  return c === 0x23 || c === 0x20;
};

/** Builds the text model used by every detector and transform. */
export function buildModel(text: string): TextModel {
  const fences = findFences(text);
  const variables = findVariables(text);
  const ranges = rangesOf(text, fences, variables);
  const masked = maskRanges(text, ranges);
  const same = masked === text;
  const blockRanges = ranges.filter((r) => r.kind === 'code-fence' || r.kind === 'jinja-region');
  const lines: LineInfo[] = [];
  const lineWords: number[] = [];
  const lineCjk: number[] = [];
  const counts = noCounts();
  const c = noCounts();
  let pos = 0;
  let bi = 0;
  let ri = 0;
  for (;;) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const lineText = text.slice(pos, nl);
    // A line no protected range touches reads the same masked: share its string.
    while (ri < ranges.length && ranges[ri].end <= pos) ri++;
    const touched = !same && ri < ranges.length && ranges[ri].start < nl;
    while (bi < blockRanges.length && blockRanges[bi].end < pos) bi++;
    const block = bi < blockRanges.length && blockRanges[bi].start <= nl && blockRanges[bi].end >= pos;
    const lm = block ? null : LIST_RE.exec(lineText);
    lines.push({
      start: pos,
      end: nl,
      text: lineText,
      masked: touched ? masked.slice(pos, nl) : lineText,
      block,
      blank: isBlankRange(text, pos, nl),
      header: !block && mayBeHeader(text, pos) && HEADER_RE.test(lineText),
      listMarker: lm ? lm[0] : '',
    });
    c.words = c.cjk = c.kana = c.hangul = 0;
    countScripts(masked, pos, nl, c);
    lineWords.push(c.words);
    lineCjk.push(c.cjk);
    counts.words += c.words;
    counts.cjk += c.cjk;
    counts.kana += c.kana;
    counts.hangul += c.hangul;
    if (nl >= text.length) break;
    pos = nl + 1;
  }
  return { text, masked, ranges, fences, lines, variableCount: variables.length, variables, lineWords, lineCjk, counts };
}

const unitsOf = (words: number, cjk: number): number => words + cjk * UNITS_PER_CJK_CHAR;

/** Word units of line `i` of the model (as `wordUnits(model.lines[i].masked)`). */
export function lineUnits(model: TextModel, i: number): number {
  return unitsOf(model.lineWords[i], model.lineCjk[i]);
}

/** Word units of `masked[start, end)` (as `wordUnits(masked.slice(start, end))`, without the slice). */
export function rangeUnits(masked: string, start: number, end: number): number {
  const c = countScripts(masked, start, end, noCounts());
  return unitsOf(c.words, c.cjk);
}

/** Word units: Latin-script words count 1, CJK characters UNITS_PER_CJK_CHAR each. Use on masked text. */
export function wordUnits(masked: string): number {
  return rangeUnits(masked, 0, masked.length);
}

/**
 * Token estimate of the text as sent (code blocks included): CJK characters ~0.8 token each (cl100k/o200k averages on Chinese prose),
 * other characters ~1 token per 4, each variable 1 token (it is replaced at run time).
 */
export function estimateTokens(text: string, variables: Span[]): number {
  if (!inOrder(text, variables)) return estimateTokensOf(text, variables);
  // One pass over the text as sent (each variable replaced by a space), with its whitespace
  // runs collapsed to one space and trimmed: what `sent.replace(/\s+/g, ' ').trim()` leaves.
  const table = CLASS;
  let cjk = 0;
  let nonSpace = 0;
  let runs = 0;
  let leadingRun = false;
  let inRun = false;
  let first = true;
  let last = 0;
  for (let k = 0; k <= variables.length; k++) {
    const segEnd = k < variables.length ? variables[k].start : text.length;
    for (let i = last; i < segEnd; i++) {
      const cls = table[text.charCodeAt(i)];
      if (cls & SPACE) {
        if (!inRun) {
          runs++;
          inRun = true;
          if (first) leadingRun = true;
        }
      } else {
        nonSpace++;
        inRun = false;
        if (cls & CJK) cjk++;
      }
      first = false;
    }
    if (k < variables.length) {
      if (!inRun) {
        runs++;
        inRun = true;
        if (first) leadingRun = true;
      }
      first = false;
      last = variables[k].end;
    }
  }
  const collapsed = nonSpace === 0 ? 0 : nonSpace + runs - (leadingRun ? 1 : 0) - (inRun ? 1 : 0);
  const other = collapsed - cjk;
  return Math.ceil(cjk * 0.8 + Math.max(0, other) / 4) + variables.length;
}

/** Spans sorted, disjoint and inside the text (as findVariables gives them). */
function inOrder(text: string, spans: Span[]): boolean {
  let last = 0;
  for (const v of spans) {
    if (v.start < last || v.end < v.start || v.end > text.length) return false;
    last = v.end;
  }
  return true;
}

/** estimateTokens for spans in any order: the text as sent built as a string (slow, exact). */
function estimateTokensOf(text: string, variables: Span[]): number {
  let sent = '';
  let last = 0;
  for (const v of variables) {
    sent += text.slice(last, v.start) + ' ';
    last = v.end;
  }
  sent += text.slice(last);
  const cjk = countScripts(sent, 0, sent.length, noCounts()).cjk;
  const other = sent.replace(/\s+/g, ' ').trim().length - cjk;
  return Math.ceil(cjk * 0.8 + Math.max(0, other) / 4) + variables.length;
}

/** Language by share of word units: ≥ 60% CJK → zh/ja/ko (kana → ja, hangul → ko), ≥ 60% Latin → en. */
export function detectLanguage(masked: string): Language {
  return languageOf(countScripts(masked, 0, masked.length, noCounts()));
}

/** detectLanguage from the script counts of the masked text (`TextModel.counts`). */
export function languageOf(c: ScriptCounts): Language {
  const { words, cjk, kana, hangul } = c;
  const cjkUnits = cjk * UNITS_PER_CJK_CHAR;
  const total = words + cjkUnits;
  if (total === 0) return 'other';
  if (cjkUnits / total >= 0.6) {
    if (kana >= Math.max(1, cjk * 0.05)) return 'ja';
    if (hangul > cjk / 2) return 'ko';
    return 'zh';
  }
  if (words / total >= 0.6) return 'en';
  return 'mixed';
}

/** Where a sentence ends: 。！？!? anywhere, `.` before a space, a tab or the end of its line (masked keeps the line breaks). */
const SENTENCE_END = /[。！？!?]|\.(?=[ \t\n]|$)/g;

/** Sentence spans of the prose: ends at . ! ? (followed by space or end), 。！？, and at line ends. */
export function sentenceSpans(model: TextModel): Span[] {
  return sentencesOf(model).spans;
}

/** The sentence spans with, for each, its word units and the index of its line. */
export interface Sentences {
  spans: Span[];
  units: number[];
  line: number[];
}

/**
 * sentenceSpans with each sentence's word units (as `rangeUnits` of its span) and line. A line
 * that is one sentence has the line's units (the rest of it is whitespace): not counted again.
 */
export function sentencesOf(model: TextModel): Sentences {
  const spans: Span[] = [];
  const units: number[] = [];
  const lineOf: number[] = [];
  const m = model.masked;
  const re = new RegExp(SENTENCE_END);
  // The first sentence end at or after `from` is `next` (Infinity: none): a search is reused
  // until it is passed, so lines without an end are not searched again (linear).
  let from = -1;
  let next = -1;
  const endFrom = (s: number): number => {
    if (from < 0 || s < from || s > next) {
      re.lastIndex = s;
      const r = re.exec(m);
      from = s;
      next = r === null ? Infinity : r.index;
    }
    return next;
  };
  const lines = model.lines;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.block || line.header) continue;
    const first = spans.length;
    let s = line.start;
    for (;;) {
      const e = endFrom(s);
      if (e >= line.end) break;
      push(s, e + 1);
      s = e + 1;
    }
    push(s, line.end);
    if (spans.length === first + 1) {
      units.push(lineUnits(model, i));
      lineOf.push(i);
    } else
      for (let k = first; k < spans.length; k++) {
        units.push(rangeUnits(m, spans[k].start, spans[k].end));
        lineOf.push(i);
      }
  }
  return { spans, units, line: lineOf };
  function push(s: number, e: number): void {
    const a = skipSpace(m, s, e);
    if (a === e) return;
    spans.push({ start: a, end: trimSpaceEnd(m, a, e) });
  }
}

/**
 * Trailing spaces of a prose line that may be removed: not on header lines (never edited) and
 * not on a bare list marker ("- "), where they are part of the marker.
 */
export function trailingSpaceFixable(l: LineInfo): boolean {
  if (l.block || l.header || trailingSpaceStart(l.text) === l.text.length) return false;
  if (l.listMarker !== '' && l.text.trim() === l.listMarker.trim()) return false;
  return !l.blank;
}

/** Where the run of spaces and tabs ending `s` starts (`s.length` when it does not end with one). */
export function trailingSpaceStart(s: string): number {
  let i = s.length;
  while (i > 0 && (s.charCodeAt(i - 1) === 0x20 || s.charCodeAt(i - 1) === 0x09)) i--;
  return i;
}
