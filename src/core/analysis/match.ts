import { lexLanguages, type LexEntry } from './lexicon';
import type { ProtectedRange, TextModel } from './text';

export interface LexMatch {
  entry: LexEntry;
  start: number;
  end: number;
}

const SENTENCE_END = new Set(['.', '!', '?', '。', '！', '？', ';', '；', ':', '：']);

function overlapsProtected(ranges: ProtectedRange[], start: number, end: number): ProtectedRange | undefined {
  for (const r of ranges) {
    if (r.start >= end) break;
    if (r.end > start) return r;
  }
  return undefined;
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

/** Occurrences of lexicon entries in the editable prose (never in protected text, headers or blocks). */
export function findLexMatches(model: TextModel, entries: LexEntry[], language: string): LexMatch[] {
  const langs = new Set(lexLanguages(language));
  const out: LexMatch[] = [];
  for (const line of model.lines) {
    if (line.block || line.header || line.blank) continue;
    for (const entry of entries) {
      if (!langs.has(entry.lang)) continue;
      entry.re.lastIndex = 0;
      let m: RegExpExecArray | null;
      while ((m = entry.re.exec(line.masked)) !== null) {
        if (m[0].length === 0) {
          entry.re.lastIndex++;
          continue;
        }
        const start = line.start + m.index;
        let end = start + m[0].length;
        const hit = overlapsProtected(model.ranges, start, end);
        if (hit) {
          // Trailing blanks of the match may cover a masked variable: stop before it.
          if (hit.start > start && model.text.slice(hit.start, end).length > 0 && model.masked.slice(hit.start, end).trim() === '') {
            end = hit.start;
            if (overlapsProtected(model.ranges, start, end)) continue;
          } else continue;
        }
        if (entry.sentenceStart && !atSentenceStart(model.text, line.start, line.listMarker, start)) continue;
        if (start < line.start + line.listMarker.length) continue;
        out.push({ entry, start, end });
      }
    }
  }
  out.sort((a, b) => a.start - b.start || b.end - a.end);
  // Drop overlaps (the earliest, longest wins), e.g. "a little bit" over "a bit".
  const kept: LexMatch[] = [];
  for (const m of out) {
    const last = kept[kept.length - 1];
    if (last && m.start < last.end) continue;
    kept.push(m);
  }
  return kept;
}
