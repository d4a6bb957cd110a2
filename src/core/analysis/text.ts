/**
 * Text model shared by the analysis and the rule strategies: protected regions (variables,
 * code fences, inline code, jinja regions), a same-length "masked" copy of the text in which
 * protected characters are blanked, line records, CJK-aware word units and token estimates,
 * language detection and sentence spans. Offsets are UTF-16 code units of the decoded text.
 */
import { findVariables } from '../dsl/variables';
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
}

const FENCE_OPEN_RE = /^ {0,3}(`{3,}|~{3,})/;
export const HEADER_RE = /^ {0,3}#{1,6}(?:[ \t]|$)/;
export const LIST_RE = /^[ \t]*(?:[-*+•·]|\d{1,3}[.)、．]|[（(]\d{1,3}[)）]|[a-zA-Z][.)])(?:[ \t\u00a0\u3000]+|(?=[^\sA-Za-z0-9]))/;
/** Han ideographs, kana and hangul (the scripts counted per character, not per word). */
export const CJK_RE = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u31f0-\u31ff]/;
const CJK_G = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u31f0-\u31ff]/g;
const KANA_G = /[\u3040-\u30ff\u31f0-\u31ff]/g;
const HANGUL_G = /[\uac00-\ud7af]/g;
const WORD_G = /[A-Za-z0-9\u00c0-\u024f]+(?:['’\-][A-Za-z0-9\u00c0-\u024f]+)*/g;

/** Word units per CJK character: parallel texts show about two Han characters per English word. */
export const UNITS_PER_CJK_CHAR = 0.5;

/** Finds fenced code blocks (``` or ~~~, CommonMark-style closing rule); an unclosed fence runs to the end. */
export function findFences(text: string): FenceInfo[] {
  const out: FenceInfo[] = [];
  let pos = 0;
  let open: { start: number; ch: string; len: number } | undefined;
  while (pos <= text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const line = text.slice(pos, nl);
    const m = FENCE_OPEN_RE.exec(line);
    if (m) {
      const fence = m[1];
      if (!open) {
        open = { start: pos, ch: fence[0], len: fence.length };
      } else if (fence[0] === open.ch && fence.length >= open.len && /^ {0,3}(`{3,}|~{3,})[ \t]*$/.test(line)) {
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

function overlaps(a: Span, list: Span[]): boolean {
  for (const b of list) if (a.start < b.end && b.start < a.end) return true;
  return false;
}

/** Protected regions, sorted by start and non-overlapping (block regions swallow what they contain). */
export function protectedRanges(text: string, fences = findFences(text)): ProtectedRange[] {
  const blocks: ProtectedRange[] = fences.map((f) => ({ start: f.start, end: f.end, kind: 'code-fence' as const }));
  const vars = findVariables(text);
  const jinjaBlocks = vars.filter((v) => v.kind === 'jinja-block');
  if (jinjaBlocks.length > 0) {
    // Jinja statements change what the text means around them: the whole span from the first
    // statement to the last one is never edited. Extended to whole lines.
    let s = jinjaBlocks[0].start;
    let e = jinjaBlocks[jinjaBlocks.length - 1].end;
    s = text.lastIndexOf('\n', s - 1) + 1;
    const nl = text.indexOf('\n', e);
    e = nl < 0 ? text.length : nl;
    blocks.push({ start: s, end: e, kind: 'jinja-region' });
  }
  const merged = mergeRanges(blocks);
  const inline: ProtectedRange[] = [];
  for (const v of vars) if (!overlaps(v, merged)) inline.push({ start: v.start, end: v.end, kind: 'variable' });
  const codeRe = /`[^`\n]+`/g;
  let m: RegExpExecArray | null;
  while ((m = codeRe.exec(text)) !== null) {
    const r = { start: m.index, end: m.index + m[0].length };
    if (!overlaps(r, merged) && !overlaps(r, inline)) inline.push({ ...r, kind: 'inline-code' });
  }
  return [...merged, ...inline].sort((a, b) => a.start - b.start);
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

/** Builds the text model used by every detector and transform. */
export function buildModel(text: string): TextModel {
  const fences = findFences(text);
  const ranges = protectedRanges(text, fences);
  const chars = text.split('');
  for (const r of ranges) for (let i = r.start; i < r.end; i++) if (chars[i] !== '\n') chars[i] = ' ';
  const masked = chars.join('');
  const blockRanges = ranges.filter((r) => r.kind === 'code-fence' || r.kind === 'jinja-region');
  const lines: LineInfo[] = [];
  let pos = 0;
  let bi = 0;
  for (;;) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const lineText = text.slice(pos, nl);
    while (bi < blockRanges.length && blockRanges[bi].end < pos) bi++;
    const block = bi < blockRanges.length && blockRanges[bi].start <= nl && blockRanges[bi].end >= pos;
    const m = masked.slice(pos, nl);
    const lm = block ? null : LIST_RE.exec(lineText);
    lines.push({
      start: pos,
      end: nl,
      text: lineText,
      masked: m,
      block,
      blank: lineText.trim() === '',
      header: !block && HEADER_RE.test(lineText),
      listMarker: lm ? lm[0] : '',
    });
    if (nl >= text.length) break;
    pos = nl + 1;
  }
  return { text, masked, ranges, fences, lines, variableCount: findVariables(text).length };
}

/** Word units: Latin-script words count 1, CJK characters UNITS_PER_CJK_CHAR each. Use on masked text. */
export function wordUnits(masked: string): number {
  const words = masked.match(WORD_G)?.length ?? 0;
  const cjk = masked.match(CJK_G)?.length ?? 0;
  return words + cjk * UNITS_PER_CJK_CHAR;
}

/**
 * Token estimate of the text as sent (code blocks included): CJK characters ~0.8 token each (cl100k/o200k averages on Chinese prose),
 * other characters ~1 token per 4, each variable 1 token (it is replaced at run time).
 */
export function estimateTokens(text: string, variables: Span[]): number {
  let sent = '';
  let last = 0;
  for (const v of variables) {
    sent += text.slice(last, v.start) + ' ';
    last = v.end;
  }
  sent += text.slice(last);
  const variableCount = variables.length;
  const cjk = sent.match(CJK_G)?.length ?? 0;
  const other = sent.replace(/\s+/g, ' ').trim().length - cjk;
  return Math.ceil(cjk * 0.8 + Math.max(0, other) / 4) + variableCount;
}

/** Language by share of word units: ≥ 60% CJK → zh/ja/ko (kana → ja, hangul → ko), ≥ 60% Latin → en. */
export function detectLanguage(masked: string): Language {
  const words = masked.match(WORD_G)?.length ?? 0;
  const cjk = masked.match(CJK_G)?.length ?? 0;
  const kana = masked.match(KANA_G)?.length ?? 0;
  const hangul = masked.match(HANGUL_G)?.length ?? 0;
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

/** Sentence spans of the prose: ends at . ! ? (followed by space or end), 。！？, and at line ends. */
export function sentenceSpans(model: TextModel): Span[] {
  const out: Span[] = [];
  for (const line of model.lines) {
    if (line.block || line.header) continue;
    const m = line.masked;
    let s = 0;
    for (let i = 0; i < m.length; i++) {
      const c = m[i];
      const end =
        c === '。' || c === '！' || c === '？' || c === '!' || c === '?' || ((c === '.' || c === '!' || c === '?') && (i + 1 === m.length || m[i + 1] === ' ' || m[i + 1] === '\t'));
      if (end) {
        push(line.start, s, i + 1);
        s = i + 1;
      }
    }
    push(line.start, s, m.length);
  }
  return out;
  function push(base: number, s: number, e: number): void {
    const seg = model.masked.slice(base + s, base + e);
    const lead = seg.length - seg.trimStart().length;
    const trail = seg.length - seg.trimEnd().length;
    if (seg.trim() === '') return;
    out.push({ start: base + s + lead, end: base + e - trail });
  }
}

/**
 * Trailing spaces of a prose line that may be removed: not on header lines (never edited) and
 * not on a bare list marker ("- "), where they are part of the marker.
 */
export function trailingSpaceFixable(l: LineInfo): boolean {
  if (l.block || l.header || !/[ \t]+$/.test(l.text)) return false;
  if (l.listMarker !== '' && l.text.trim() === l.listMarker.trim()) return false;
  return !l.blank;
}
