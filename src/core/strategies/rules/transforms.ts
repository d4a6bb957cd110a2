/**
 * Shared, line-preserving text transforms used by the rule strategies.
 *
 * Safety rules every transform follows (the invariants the tests check on the whole corpus):
 * - Variables, inline code, fenced code blocks and jinja regions are never edited (they are
 *   blanked in the masked text that matches run on, and block lines are skipped).
 * - Header lines are never edited; list markers are never edited.
 * - Lines are never joined: a transform edits inside one line, removes a whole duplicate line,
 *   collapses runs of blank lines to one, or inserts new lines of its own.
 * - A line is never emptied by a phrase edit (such an edit is skipped).
 */
import { findLexMatches, atSentenceStart } from '../../analysis/match';
import type { LexEntry } from '../../analysis/lexicon';
import { LONG_SENTENCE_UNITS, WALL_UNITS } from '../../analysis/scorer';
import { buildModel, detectLanguage, sentenceSpans, trailingSpaceFixable, wordUnits, type LineInfo, type TextModel } from '../../analysis/text';

export type EditKind = 'whitespace' | 'duplicate' | 'filler' | 'vague' | 'split' | 'list' | 'header';

export interface EditResult {
  text: string;
  /** Counted edits by label, e.g. 'removed "in order to"' → 2. */
  edits: Map<string, { kind: EditKind; count: number }>;
}

export function newResult(text: string): EditResult {
  return { text, edits: new Map() };
}

function note(r: EditResult, label: string, kind: EditKind, n = 1): void {
  const e = r.edits.get(label);
  if (e) e.count += n;
  else r.edits.set(label, { kind, count: n });
}

/** Merges the edits of `b` into `a` and takes b's text. */
export function chain(a: EditResult, b: EditResult): EditResult {
  for (const [label, e] of b.edits) note(a, label, e.kind, e.count);
  a.text = b.text;
  return a;
}

const isAsciiLower = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';

function lineOf(model: TextModel, offset: number): LineInfo {
  let lo = 0;
  let hi = model.lines.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (model.lines[mid].start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return model.lines[lo];
}

/**
 * Applies the `replace` of every matching lexicon entry (entries without one are left alone).
 * `only` restricts the edit to matches starting at given offsets (single-issue quick fixes).
 */
export function replacePhrases(text: string, entries: LexEntry[], kind: 'filler' | 'vague', only?: Set<number>): EditResult {
  const r = newResult(text);
  const model = buildModel(text);
  const language = detectLanguage(model.masked);
  const matches = findLexMatches(model, entries, language).filter(
    (m) => m.entry.replace !== undefined && (!only || only.has(m.start)),
  );
  let out = text;
  for (let i = matches.length - 1; i >= 0; i--) {
    const m = matches[i];
    const original = out.slice(m.start, m.end);
    let rep = m.entry.replace ?? '';
    if (rep !== '' && /^[A-Z]/.test(original) && isAsciiLower(rep[0])) rep = rep[0].toUpperCase() + rep.slice(1);
    if (rep !== '' && /[ \t]$/.test(original) && !/[ \t]$/.test(rep)) rep += original.slice(original.trimEnd().length);
    const line = lineOf(model, m.start);
    let next = out.slice(0, m.start) + rep + out.slice(m.end);
    const nl = next.indexOf('\n', m.start);
    const body = next.slice(line.start + line.listMarker.length, nl < 0 ? next.length : nl);
    if (body.replace(/[\s\p{P}]/gu, '') === '') continue; // never empty a line
    // Never let an edit bring a '#' to the front of a line or list item ("1. # Task" damage).
    const oldBody = out.slice(line.start + line.listMarker.length, out.indexOf('\n', m.start) < 0 ? out.length : out.indexOf('\n', m.start));
    if (/^\s*#/.test(body) && !/^\s*#/.test(oldBody)) continue;
    if (rep === '' && isAsciiLower(next[m.start]) && atSentenceStart(text, line.start, line.listMarker, m.start)) {
      next = next.slice(0, m.start) + next[m.start].toUpperCase() + next.slice(m.start + 1);
    }
    out = next;
    note(r, rep === '' ? `removed "${original.trim().toLowerCase()}"` : `"${original.trim().toLowerCase()}" → "${rep.trim()}"`, kind);
  }
  r.text = out;
  return r;
}

/** Removes trailing spaces, leading blank lines, and collapses runs of blank lines to one (outside blocks). */
export function normalizeWhitespace(text: string): EditResult {
  const r = newResult(text);
  const model = buildModel(text);
  const out: string[] = [];
  let trimmed = 0;
  let collapsed = 0;
  let prevBlank = true; // drops blank lines at the very start
  for (const l of model.lines) {
    if (l.block) {
      out.push(l.text);
      prevBlank = false;
      continue;
    }
    if (l.blank) {
      if (prevBlank) {
        collapsed++;
        continue;
      }
      if (l.text !== '') trimmed++;
      out.push('');
      prevBlank = true;
      continue;
    }
    const t = trailingSpaceFixable(l) ? l.text.replace(/[ \t]+$/, '') : l.text;
    if (t !== l.text) trimmed++;
    out.push(t);
    prevBlank = false;
  }
  // A trailing blank line that is the final newline is kept (one at most).
  const nextText = out.join('\n');
  if (trimmed) note(r, 'removed trailing spaces', 'whitespace', trimmed);
  if (collapsed) note(r, 'removed extra blank lines', 'whitespace', collapsed);
  r.text = nextText;
  return r;
}

/** Removes lines that repeat an earlier line word for word (prose only, 4+ words, no variables). */
export function removeDuplicateLines(text: string): EditResult {
  const r = newResult(text);
  const model = buildModel(text);
  const seen = new Set<string>();
  const out: string[] = [];
  let removed = 0;
  for (const l of model.lines) {
    if (!l.block && !l.blank && !l.header && l.text === l.masked && wordUnits(l.masked) >= 4) {
      const key = l.text.trim();
      if (seen.has(key)) {
        removed++;
        continue;
      }
      seen.add(key);
    }
    out.push(l.text);
  }
  if (removed) note(r, 'removed repeated lines', 'duplicate', removed);
  r.text = out.join('\n');
  return r;
}

/** Safe split points of an overlong sentence: clause joints that already end a thought. */
const SPLIT_EN = /;[ \t]+(?=[A-Za-z])|,[ \t]+(?=and then[ \t]|then[ \t])/g;
const SPLIT_CJK = /；|，(?=然后|并且|同时|此外|另外)/g;

/** Splits sentences longer than LONG_SENTENCE_UNITS at "; ", ", then", "；", "，然后"… when both parts keep 5+ words. */
export function splitLongSentences(text: string): EditResult {
  const r = newResult(text);
  const model = buildModel(text);
  const cuts: { at: number; len: number; rep: string }[] = [];
  for (const s of sentenceSpans(model)) {
    if (wordUnits(model.masked.slice(s.start, s.end)) <= LONG_SENTENCE_UNITS) continue;
    const seg = model.masked.slice(s.start, s.end);
    let last = 0;
    for (const re of [SPLIT_EN, SPLIT_CJK]) {
      re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = re.exec(seg)) !== null) {
        const before = wordUnits(seg.slice(last, m.index));
        const after = wordUnits(seg.slice(m.index + m[0].length));
        if (before < 5 || after < 5) continue;
        const cjk = m[0][0] === '；' || m[0][0] === '，';
        cuts.push({ at: s.start + m.index, len: m[0].length, rep: cjk ? '。' : '. ' });
        last = m.index + m[0].length;
      }
    }
  }
  cuts.sort((a, b) => b.at - a.at);
  let out = text;
  for (const c of cuts) {
    let rest = out.slice(c.at + c.len);
    if (c.rep === '. ') rest = rest.replace(/^and then[ \t]+/, 'then ').replace(/^[a-z]/, (ch) => ch.toUpperCase());
    out = out.slice(0, c.at) + c.rep + rest;
  }
  if (cuts.length) note(r, 'split long sentences', 'split', cuts.length);
  r.text = out;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Structure

export const SECTION_TITLES = {
  en: ['Role', 'Task', 'Constraints', 'Output format'],
  zh: ['角色', '任务', '约束', '输出格式'],
  ja: ['役割', 'タスク', '制約', '出力形式'],
} as const;

const ROLE_LINE = /^\s*(?:you are|you're|act as|as an? [a-z]+|你是|您是|作为一?[位名个]|扮演|あなたは)/i;
const OUTPUT_LINE =
  /\b(?:output|respond (?:in|with)|reply (?:in|with)|answer (?:in|with)|format|return (?:a|an|the|only)|json|yaml|markdown)\b|输出|格式|返回|以json|字数|出力|フォーマット|形式/i;
const CONSTRAINT_LINE =
  /\b(?:do not|don't|never|must not|avoid|only|must|always|no more than|at most)\b|不要|不能|禁止|避免|必须|只需|只能|不得|切勿|しないで|必ず/i;

const INLINE_ITEM = /(^|[。．.！!？?；;：:][ \t]*|[ \t]+)(\d{1,2})[.、)）](?![\d.])[ \t]*/g;

/** "要求：1. 甲 2. 乙 3. 丙" on one line → one numbered line per item (needs 1, 2, … in order). */
export function splitInlineLists(text: string): EditResult {
  const r = newResult(text);
  const model = buildModel(text);
  const out: string[] = [];
  let splits = 0;
  for (const l of model.lines) {
    if (l.block || l.header || l.blank) {
      out.push(l.text);
      continue;
    }
    const items: { cut: number; at: number }[] = [];
    INLINE_ITEM.lastIndex = 0;
    let m: RegExpExecArray | null;
    let expect = 1;
    while ((m = INLINE_ITEM.exec(l.masked)) !== null) {
      const n = Number(m[2]);
      if (n === expect) {
        items.push({ cut: m.index + m[1].length, at: m.index + m[1].length });
        expect++;
      } else if (n === 1) {
        items.length = 0;
        items.push({ cut: m.index + m[1].length, at: m.index + m[1].length });
        expect = 2;
      }
    }
    if (items.length < 2) {
      out.push(l.text);
      continue;
    }
    const pieces: string[] = [];
    let prev = 0;
    for (const it of items) {
      if (it.at > 0) pieces.push(l.text.slice(prev, it.at).replace(/[ \t]+$/, ''));
      prev = it.at;
    }
    pieces.push(l.text.slice(prev));
    const kept = pieces.filter((p, i) => i === 0 || p.trim() !== '');
    if (kept[0].trim() === '' && kept.length > 1) kept.shift();
    out.push(...kept);
    splits += items.length;
  }
  if (splits) note(r, 'put inline numbered items on their own lines', 'list', splits);
  r.text = out.join('\n');
  return r;
}

/** A line of WALL_UNITS+ words → one sentence per line. */
export function splitWallLines(text: string): EditResult {
  const r = newResult(text);
  const model = buildModel(text);
  const out: string[] = [];
  let n = 0;
  for (const l of model.lines) {
    if (l.block || l.header || l.blank || wordUnits(l.masked) < WALL_UNITS) {
      out.push(l.text);
      continue;
    }
    const cuts: number[] = [];
    const mk = l.masked;
    for (let i = l.listMarker.length; i < mk.length - 1; i++) {
      const c = mk[i];
      const cjkEnd = c === '。' || c === '！' || c === '？';
      const enEnd = (c === '.' || c === '!' || c === '?') && (mk[i + 1] === ' ' || mk[i + 1] === '\t') && /[A-Z\u4e00-\u9fff"“]/.test(mk.slice(i + 1).trimStart()[0] ?? '');
      if (!cjkEnd && !enEnd) continue;
      let j = i + 1;
      while (j < mk.length && /[”’"」』）)】]/.test(mk[j])) j++;
      if (j >= mk.length || mk.slice(j).trim() === '') continue;
      cuts.push(j);
      i = j - 1;
    }
    if (cuts.length === 0) {
      out.push(l.text);
      continue;
    }
    let prev = 0;
    for (const c of cuts) {
      out.push(l.text.slice(prev, c).replace(/[ \t]+$/, ''));
      prev = c;
      while (prev < l.text.length && (l.text[prev] === ' ' || l.text[prev] === '\t')) prev++;
    }
    out.push(l.text.slice(prev));
    n++;
  }
  if (n) note(r, 'broke walls of text into one sentence per line', 'list', n);
  r.text = out.join('\n');
  return r;
}

export function hasHeaders(text: string): boolean {
  return buildModel(text).lines.some((l) => l.header);
}

/**
 * Inserts section headers on their own lines (never inside blocks, never in a list, never after
 * a line that introduces what follows with ":"). Sections only move forward in the order
 * Role → Task → Constraints → Output format, so no text is ever reordered. Needs 2+ sections.
 */
export function addSectionHeaders(text: string): EditResult {
  const r = newResult(text);
  const model = buildModel(text);
  if (model.lines.some((l) => l.header)) return r;
  const lang = detectLanguage(model.masked);
  const titles = lang === 'zh' ? SECTION_TITLES.zh : lang === 'ja' ? SECTION_TITLES.ja : SECTION_TITLES.en;
  const prose = model.lines.filter((l) => !l.block && !l.blank && l.masked.trim() !== '');
  if (prose.length < 2) return r;
  const inserts = new Map<number, number>(); // line index → section
  let current = -1;
  let prev: LineInfo | undefined;
  let proseSeen = 0;
  model.lines.forEach((l, idx) => {
    if (l.blank) return;
    if (l.block || l.masked.trim() === '') {
      prev = l;
      return;
    }
    proseSeen++;
    const m = l.masked;
    let cls = OUTPUT_LINE.test(m) ? 3 : CONSTRAINT_LINE.test(m) ? 2 : 1;
    if (current === -1) {
      cls = ROLE_LINE.test(m) ? 0 : 1;
      inserts.set(idx, cls);
      current = cls;
    } else {
      // The previous line introduces or continues into this one ("as follows:", "(ii) …,").
      const introduced = prev !== undefined && /[:：,，、;；]\s*$/.test(prev.text);
      const inList = l.listMarker !== '' && prev !== undefined && prev.listMarker !== '';
      const lateEnough = cls < 3 || proseSeen > prose.length * 0.6;
      if (cls > current && !introduced && !inList && !prev?.block && lateEnough) {
        inserts.set(idx, cls);
        current = cls;
      }
    }
    prev = l;
  });
  if (inserts.size < 2) return r;
  const out: string[] = [];
  model.lines.forEach((l, idx) => {
    const sec = inserts.get(idx);
    if (sec !== undefined) {
      if (out.length > 0 && out[out.length - 1].trim() !== '') out.push('');
      out.push(`## ${titles[sec]}`);
    }
    out.push(l.text);
  });
  note(r, `added section headers (${[...inserts.values()].map((s) => titles[s]).join(', ')})`, 'header', inserts.size);
  r.text = out.join('\n');
  return r;
}
