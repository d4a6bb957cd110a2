import { lexLanguages, type LexEntry } from './lexicon';
import type { LineInfo, ProtectedRange, TextModel } from './text';

export interface LexMatch {
  entry: LexEntry;
  start: number;
  end: number;
}

const SENTENCE_END = new Set(['.', '!', '?', '。', '！', '？', ';', '；', ':', '：']);

/** The first protected range overlapping [start, end) (ranges are sorted and disjoint: binary search). */
function overlapsProtected(ranges: ProtectedRange[], start: number, end: number): ProtectedRange | undefined {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid].end > start) hi = mid;
    else lo = mid + 1;
  }
  const r = ranges[lo];
  return r !== undefined && r.start < end ? r : undefined;
}

/**
 * True when `at` starts a sentence: only a list marker, whitespace or sentence-ending punctuation
 * precede it on its line (a variable or any other word before it means it does not).
 */
export function atSentenceStart(text: string, lineStart: number, marker: string, at: number): boolean {
  let i = at - 1;
  while (i >= lineStart + marker.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\u3000')) i--;
  if (i < lineStart + marker.length) return true;
  return SENTENCE_END.has(text[i]);
}

/**
 * How an entry is found fast: its regex is `\b` (optional), then the words of its term, escaped,
 * joined by `[ \t]+`, then anything that does not make the last character optional (as
 * lexicon.ts builds them). So it can only match where the line shows those words (ASCII
 * case-insensitively under the `i` flag, which without `u` folds ASCII letters only) separated
 * by spaces or tabs, after a non-word character when it starts with `\b`. Only such places are
 * tried, with a sticky copy of the entry's own regex on the line: a match is exactly what the
 * regex gives there.
 */
interface Scan {
  /** Which list the entry is in, and its place in that list. */
  list: number;
  index: number;
  /** Index over all lists (for the per-call state arrays). */
  id: number;
  entry: LexEntry;
  /** The term's words, lower-cased when `ci`. */
  words: string[];
  ci: boolean;
  boundary: boolean;
  /** Second code unit of the first word (lower-cased when `ci`), -1 when it has one: a cheap first check. */
  second: number;
  sticky: RegExp;
}

/** Entries whose regex is not of that shape: matched line by line with (a global copy of) the regex itself. */
interface Slow {
  list: number;
  index: number;
  entry: LexEntry;
  re: RegExp;
}

interface Index {
  lists: readonly (readonly LexEntry[])[];
  /** Per code unit: WORD_CHAR, and AT_WORD_START / ANYWHERE when a scan's term starts with it. */
  flags: Uint8Array;
  /** Code unit → index in `buckets` (-1: none): scans needing a word boundary before them… */
  atWordStart: Int16Array;
  /** …and the others. */
  anywhere: Int16Array;
  buckets: Scan[][];
  scans: Scan[];
  slow: Slow[];
}

const WORD_CHAR = 1;
const AT_WORD_START = 2;
const ANYWHERE = 4;

const META = /[.*+?^${}()|[\]\\]/g;
const isWordCode = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
const isAsciiLetter = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

function scanOf(entry: LexEntry, list: number, index: number, id: number): Scan | undefined {
  const { source, flags } = entry.re;
  if (/[muvsy]/.test(flags)) return undefined;
  const ci = flags.includes('i');
  const boundary = source.startsWith('\\b');
  const body = boundary ? source.slice(2) : source;
  const words = entry.term.split(' ');
  const escaped = words.map((w) => w.replace(META, '\\$&')).join('[ \\t]+');
  if (words.some((w) => w === '') || !body.startsWith(escaped)) return undefined;
  const rest = body.slice(escaped.length);
  if (/^[?*+{]/.test(rest) || source.includes('|')) return undefined;
  // Under `i`, only ASCII letters and characters without case are compared as planned.
  if (ci && /[^\x00-\x7f]/.test(entry.term)) return undefined;
  if (boundary && !isWordCode(entry.term.charCodeAt(0))) return undefined;
  const first = ci ? words[0].toLowerCase() : words[0];
  return {
    list,
    index,
    id,
    entry,
    words: ci ? words.map((w) => w.toLowerCase()) : words,
    ci,
    boundary,
    second: first.length > 1 ? first.charCodeAt(1) : -1,
    sticky: new RegExp(source, `${flags.replace('g', '')}y`),
  };
}

/** Indexes by the first list (the lists are module constants: a handful of combinations). */
const indexes = new WeakMap<readonly LexEntry[], Index[]>();

function sameLists(a: readonly (readonly LexEntry[])[], b: readonly (readonly LexEntry[])[]): boolean {
  return a.length === b.length && a.every((l, i) => l.length === b[i].length && l.every((e, j) => e === b[i][j]));
}

function indexOf(lists: readonly (readonly LexEntry[])[]): Index {
  const known = indexes.get(lists[0]) ?? [];
  const hit = known.find((x) => sameLists(x.lists, lists));
  if (hit) return hit;
  const flags = new Uint8Array(65536);
  for (let c = 0; c < 65536; c++) if (isWordCode(c)) flags[c] = WORD_CHAR;
  const atWordStart = new Int16Array(65536).fill(-1);
  const anywhere = new Int16Array(65536).fill(-1);
  const buckets: Scan[][] = [];
  const scans: Scan[] = [];
  const slow: Slow[] = [];
  lists.forEach((entries, list) =>
    entries.forEach((entry, index) => {
      const scan = scanOf(entry, list, index, scans.length);
      if (!scan) {
        slow.push({ list, index, entry, re: new RegExp(entry.re.source, entry.re.flags.includes('g') ? entry.re.flags : `${entry.re.flags}g`) });
        return;
      }
      scans.push(scan);
      const c = scan.words[0].charCodeAt(0);
      const keys = scan.ci && isAsciiLetter(c) ? [c, c ^ 0x20] : [c];
      const table = scan.boundary ? atWordStart : anywhere;
      for (const k of keys) {
        if (table[k] < 0) table[k] = buckets.push([]) - 1;
        buckets[table[k]].push(scan);
        flags[k] |= scan.boundary ? AT_WORD_START : ANYWHERE;
      }
    }),
  );
  const idx: Index = { lists: lists.map((l) => [...l]), flags, atWordStart, anywhere, buckets, scans, slow };
  known.push(idx);
  indexes.set(lists[0], known);
  return idx;
}

/** Does `s[at, end)` start with the scan's words, separated by runs of spaces or tabs? (Its first character is known to match.) */
function termAt(s: string, at: number, end: number, scan: Scan): boolean {
  let j = at;
  for (let w = 0; w < scan.words.length; w++) {
    if (w > 0) {
      const k = j;
      while (j < end && (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x09)) j++;
      if (j === k) return false;
    }
    const word = scan.words[w];
    if (j + word.length > end) return false;
    for (let i = w === 0 ? 1 : 0; i < word.length; i++) {
      let c = s.charCodeAt(j + i);
      if (scan.ci && isAsciiLetter(c)) c |= 0x20;
      if (c !== word.charCodeAt(i)) return false;
    }
    j += word.length;
  }
  return true;
}

interface Found extends LexMatch {
  index: number;
}

/** Applies the checks of a regex match of `entry` at `[start, end)` of the line; adds it to `out` when it holds. */
function accept(model: TextModel, line: LineInfo, entry: LexEntry, index: number, start: number, end: number, out: Found[]): void {
  const hit = overlapsProtected(model.ranges, start, end);
  if (hit) {
    // Trailing blanks of the match may cover a masked variable: stop before it.
    if (hit.start > start && model.text.slice(hit.start, end).length > 0 && model.masked.slice(hit.start, end).trim() === '') {
      end = hit.start;
      if (overlapsProtected(model.ranges, start, end)) return;
    } else return;
  }
  if (entry.sentenceStart && !atSentenceStart(model.text, line.start, line.listMarker, start)) return;
  if (start < line.start + line.listMarker.length) return;
  out.push({ entry, start, end, index });
}

/**
 * Occurrences of lexicon entries in the editable prose (never in protected text, headers or blocks).
 * The same as running each entry's regex over each prose line, but one pass over the text finds
 * the candidate places of every entry at once (see Scan).
 */
export function findLexMatches(model: TextModel, entries: LexEntry[], language: string): LexMatch[] {
  return findLexMatchesOf(model, [entries], language)[0];
}

/** findLexMatches for several lists in one pass: one result per list, each as findLexMatches gives it. */
export function findLexMatchesOf(model: TextModel, lists: readonly (readonly LexEntry[])[], language: string): LexMatch[][] {
  const langs = new Set(lexLanguages(language));
  const idx = indexOf(lists);
  const { flags, atWordStart, anywhere, buckets } = idx;
  const active = idx.scans.map((s) => langs.has(s.entry.lang));
  /** Per scan: where its regex's previous match on this line ended (a global regex goes on from there). */
  const lastEnd = new Array<number>(idx.scans.length).fill(-1);
  const found: Found[][] = lists.map(() => []);
  const m = model.masked;
  let line = model.lines[0];
  let ls = 0;
  let le = 0;
  const tryAt = (p: number, scans: Scan[]): void => {
    const next = p + 1 < le ? m.charCodeAt(p + 1) : -1;
    const nextLower = isAsciiLetter(next) ? next | 0x20 : next;
    for (const scan of scans) {
      if (scan.second >= 0 && scan.second !== (scan.ci ? nextLower : next)) continue;
      if (!active[scan.id] || p < lastEnd[scan.id] || !termAt(m, p, le, scan)) continue;
      scan.sticky.lastIndex = p - ls;
      const r = scan.sticky.exec(line.masked);
      if (r === null || r[0].length === 0) continue;
      lastEnd[scan.id] = p + r[0].length;
      accept(model, line, scan.entry, scan.index, p, p + r[0].length, found[scan.list]);
    }
  };
  for (line of model.lines) {
    if (line.block || line.header || line.blank) continue;
    ls = line.start;
    le = line.end;
    let prevWord = false;
    let p = ls;
    while (p < le) {
      const c = m.charCodeAt(p);
      const f = flags[c];
      // `\b` before a word character: the previous one (on this line) is not one.
      if (f & AT_WORD_START && !prevWord) tryAt(p, buckets[atWordStart[c]]);
      if (f & ANYWHERE) tryAt(p, buckets[anywhere[c]]);
      p++;
      prevWord = (f & WORD_CHAR) !== 0;
      // The rest of a word holds no `\b` start: skip it, up to a character some scan starts with anywhere.
      if (prevWord) while (p < le && (flags[m.charCodeAt(p)] & (WORD_CHAR | ANYWHERE)) === WORD_CHAR) p++;
    }
    for (const { list, index, entry, re } of idx.slow) {
      if (!langs.has(entry.lang)) continue;
      re.lastIndex = 0;
      let r: RegExpExecArray | null;
      while ((r = re.exec(line.masked)) !== null) {
        if (r[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        accept(model, line, entry, index, ls + r.index, ls + r.index + r[0].length, found[list]);
      }
    }
  }
  return found.map(keepFirst);
}

/** Sorted, overlaps dropped: the earliest, longest wins ("a little bit" over "a bit"); same place: the entry listed first. */
function keepFirst(out: Found[]): LexMatch[] {
  out.sort((a, b) => a.start - b.start || b.end - a.end || a.index - b.index);
  const kept: LexMatch[] = [];
  for (const f of out) {
    const last = kept[kept.length - 1];
    if (last && f.start < last.end) continue;
    kept.push({ entry: f.entry, start: f.start, end: f.end });
  }
  return kept;
}
