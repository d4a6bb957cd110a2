/**
 * Character classes and single-pass counters of the text model. One table lookup per UTF-16
 * code unit replaces the regex passes (and the arrays of matched substrings) the analysis used
 * to count words and scripts; every counter here gives exactly what the regexes below give
 * (test/unit/analysis/scan.test.ts checks each class against its regex for all 65536 code units):
 * - word:   `[A-Za-z0-9\u00c0-\u024f]+(?:['’\-][A-Za-z0-9\u00c0-\u024f]+)*` (one match = one word)
 * - cjk:    `[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u31f0-\u31ff]`
 * - kana:   `[\u3040-\u30ff\u31f0-\u31ff]`, hangul: `[\uac00-\ud7af]`
 * - space:  `\s` (the same set String.prototype.trim removes)
 * None of these regexes has the `u` flag, so they see code units, as the table does.
 */

export const WORD = 1;
export const CJK = 2;
export const KANA = 4;
export const HANGUL = 8;
/** `'`, `’`, `-`: joins two runs of word characters into one word. */
export const JOIN = 16;
export const SPACE = 32;

/** Class bits of every UTF-16 code unit. */
export const CLASS: Uint8Array = buildClasses();

function buildClasses(): Uint8Array {
  const t = new Uint8Array(65536);
  const set = (from: number, to: number, bit: number): void => {
    for (let c = from; c <= to; c++) t[c] |= bit;
  };
  set(0x30, 0x39, WORD);
  set(0x41, 0x5a, WORD);
  set(0x61, 0x7a, WORD);
  set(0xc0, 0x24f, WORD);
  for (const [from, to] of [
    [0x3040, 0x30ff],
    [0x3400, 0x4dbf],
    [0x4e00, 0x9fff],
    [0xf900, 0xfaff],
    [0xac00, 0xd7af],
    [0x31f0, 0x31ff],
  ])
    set(from, to, CJK);
  set(0x3040, 0x30ff, KANA);
  set(0x31f0, 0x31ff, KANA);
  set(0xac00, 0xd7af, HANGUL);
  t[0x27] |= JOIN;
  t[0x2019] |= JOIN;
  t[0x2d] |= JOIN;
  for (const c of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff]) t[c] |= SPACE;
  set(0x2000, 0x200a, SPACE);
  return t;
}

/** Counts of one piece of text: words, CJK characters, and among them kana and hangul. */
export interface ScriptCounts {
  words: number;
  cjk: number;
  kana: number;
  hangul: number;
}

/**
 * Adds the counts of `s[start, end)` to `into` (as if the slice were counted on its own: a
 * word is never continued past `end`).
 */
export function countScripts(s: string, start: number, end: number, into: ScriptCounts): ScriptCounts {
  let words = 0;
  let cjk = 0;
  let kana = 0;
  let hangul = 0;
  let i = start;
  while (i < end) {
    const k = CLASS[s.charCodeAt(i)];
    i++;
    if (k & WORD) {
      words++;
      for (;;) {
        while (i < end && CLASS[s.charCodeAt(i)] & WORD) i++;
        if (i + 1 < end && CLASS[s.charCodeAt(i)] & JOIN && CLASS[s.charCodeAt(i + 1)] & WORD) i += 2;
        else break;
      }
    } else if (k & CJK) {
      cjk++;
      if (k & KANA) kana++;
      else if (k & HANGUL) hangul++;
    }
  }
  into.words += words;
  into.cjk += cjk;
  into.kana += kana;
  into.hangul += hangul;
  return into;
}

export const noCounts = (): ScriptCounts => ({ words: 0, cjk: 0, kana: 0, hangul: 0 });

/** True when `s[start, end)` is empty or only whitespace (as `s.slice(start, end).trim() === ''`). */
export function isBlankRange(s: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (!(CLASS[s.charCodeAt(i)] & SPACE)) return false;
  return true;
}

/** First index in `[start, end)` that is not whitespace, or `end`. */
export function skipSpace(s: string, start: number, end: number): number {
  let i = start;
  while (i < end && CLASS[s.charCodeAt(i)] & SPACE) i++;
  return i;
}

/** One past the last index in `[start, end)` that is not whitespace, or `start`. */
export function trimSpaceEnd(s: string, start: number, end: number): number {
  let i = end;
  while (i > start && CLASS[s.charCodeAt(i - 1)] & SPACE) i--;
  return i;
}

const SPACE_OR_PUNCTUATION = /^[\s\p{P}]$/u;
/** Per BMP code unit: 0 not yet looked up, 1 kept, 2 removed by stripSpaceAndPunctuation (filled on first sight). */
const stripClass = new Uint8Array(65536);
const astralStrip = new Map<number, boolean>();

function stripped(c: number): boolean {
  let k = stripClass[c];
  if (k === 0) {
    k = SPACE_OR_PUNCTUATION.test(String.fromCharCode(c)) ? 2 : 1;
    stripClass[c] = k;
  }
  return k === 2;
}

function astralStripped(cp: number): boolean {
  let k = astralStrip.get(cp);
  if (k === undefined) {
    k = SPACE_OR_PUNCTUATION.test(String.fromCodePoint(cp));
    astralStrip.set(cp, k);
  }
  return k;
}

/**
 * `s.replace(/[\s\p{P}]+/gu, '')` without the Unicode regex: whitespace and punctuation code
 * points removed (a surrogate pair is one code point, a lone surrogate is kept). Returns `s`
 * itself when nothing is removed.
 */
export function stripSpaceAndPunctuation(s: string): string {
  let parts: string[] | undefined;
  let keepFrom = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let width = 1;
    let drop: boolean;
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      width = 2;
      drop = astralStripped(((c - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00) + 0x10000);
    } else drop = stripped(c);
    if (drop) {
      parts ??= [];
      if (i > keepFrom) parts.push(s.slice(keepFrom, i));
      keepFrom = i + width;
    }
    i += width - 1;
  }
  if (parts === undefined) return s;
  if (keepFrom < s.length) parts.push(s.slice(keepFrom));
  return parts.join('');
}
