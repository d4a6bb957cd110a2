/**
 * The one-pass counters of the text model against the regexes they replace: every character
 * class for all 65536 code units, and the counts, token estimates, sentence keys and lexicon
 * matches on seeded random texts (Latin, CJK, kana, hangul, surrogate pairs, lone surrogates,
 * every whitespace, joiners, variables, fences).
 */
import { strict as assert } from 'node:assert';
import { FILLER_PHRASES, VAGUE_TERMS, lexLanguages, type LexEntry } from '../../../src/core/analysis/lexicon';
import { findLexMatches, findLexMatchesOf, atSentenceStart } from '../../../src/core/analysis/match';
import { CJK, CLASS, countScripts, HANGUL, JOIN, KANA, noCounts, SPACE, stripSpaceAndPunctuation, WORD } from '../../../src/core/analysis/scan';
import { buildModel, detectLanguage, estimateTokens, type TextModel } from '../../../src/core/analysis/text';
import { findVariables } from '../../../src/core/dsl/variables';
import { seeded, syntheticPrompt } from '../../support/analysisSamples';

// The definitions the analysis used before the character table (see scan.ts).
const WORD_G = /[A-Za-z0-9\u00c0-\u024f]+(?:['’\-][A-Za-z0-9\u00c0-\u024f]+)*/g;
const CJK_G = /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u31f0-\u31ff]/g;
const KANA_G = /[\u3040-\u30ff\u31f0-\u31ff]/g;
const HANGUL_G = /[\uac00-\ud7af]/g;
const count = (s: string, re: RegExp): number => s.match(re)?.length ?? 0;

function oldTokens(text: string, variables: { start: number; end: number }[]): number {
  let sent = '';
  let last = 0;
  for (const v of variables) {
    sent += text.slice(last, v.start) + ' ';
    last = v.end;
  }
  sent += text.slice(last);
  const cjk = count(sent, CJK_G);
  const other = sent.replace(/\s+/g, ' ').trim().length - cjk;
  return Math.ceil(cjk * 0.8 + Math.max(0, other) / 4) + variables.length;
}

/** Each entry's regex run over each prose line, as findLexMatches did before its one-pass scan. */
function oldLexMatches(model: TextModel, entries: LexEntry[], language: string): { entry: LexEntry; start: number; end: number }[] {
  const langs = new Set(lexLanguages(language));
  const overlapsProtected = (start: number, end: number) => {
    for (const r of model.ranges) {
      if (r.start >= end) break;
      if (r.end > start) return r;
    }
    return undefined;
  };
  const out: { entry: LexEntry; start: number; end: number }[] = [];
  for (const line of model.lines) {
    if (line.block || line.header || line.blank) continue;
    for (const entry of entries) {
      if (!langs.has(entry.lang)) continue;
      const re = new RegExp(entry.re.source, entry.re.flags);
      let m: RegExpExecArray | null;
      while ((m = re.exec(line.masked)) !== null) {
        if (m[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        const start = line.start + m.index;
        let end = start + m[0].length;
        const hit = overlapsProtected(start, end);
        if (hit) {
          if (hit.start > start && model.text.slice(hit.start, end).length > 0 && model.masked.slice(hit.start, end).trim() === '') {
            end = hit.start;
            if (overlapsProtected(start, end)) continue;
          } else continue;
        }
        if (entry.sentenceStart && !atSentenceStart(model.text, line.start, line.listMarker, start)) continue;
        if (start < line.start + line.listMarker.length) continue;
        out.push({ entry, start, end });
      }
    }
  }
  out.sort((a, b) => a.start - b.start || b.end - a.end);
  const kept: typeof out = [];
  for (const m of out) {
    const last = kept[kept.length - 1];
    if (last && m.start < last.end) continue;
    kept.push(m);
  }
  return kept;
}

const PIECES = ['some', 'Some', 'SOME', 'etc.', 'a  bit', 'a\tlittle bit', 'kind of', 'in order to', 'Note that', 'please note that', '_some', 'ésome', 'some_', "don't", 'co-op', 'a--b', "it's", 'rock’n’roll', '你好', '一些', '请注意，', 'など', 'カタカナ', '한국어', '𠀀', '😀', '\ud800', '\udc00', ' ', '\t', '\u3000', '\u00a0', '\u2003', '\ufeff', '\u2028', '\n', '\r\n', '.', '. ', '!', '?', '。', '！', '？', ',', '，', '、', '-', "'", '’', '{{#sys.query#}}', '`code`', '```\nx\n```', '# ', '- ', '1. ', 'İ', 'Σ', 'ß', 'ǅ', '0', '9'];

function randomText(seed: number, n: number): string {
  const r = seeded(seed);
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(r() * PIECES.length)];
  return s;
}

describe('analysis scan: one-pass counters equal the regexes they replace', () => {
  it('classifies every UTF-16 code unit as the regexes do', () => {
    const classes: [number, RegExp][] = [
      [WORD, /[A-Za-z0-9\u00c0-\u024f]/],
      [CJK, /[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u31f0-\u31ff]/],
      [KANA, /[\u3040-\u30ff\u31f0-\u31ff]/],
      [HANGUL, /[\uac00-\ud7af]/],
      [JOIN, /['’\-]/],
      [SPACE, /\s/],
    ];
    for (let c = 0; c < 65536; c++) {
      const ch = String.fromCharCode(c);
      for (const [bit, re] of classes) assert.equal((CLASS[c] & bit) !== 0, re.test(ch), `code unit ${c.toString(16)}, bit ${bit}`);
      assert.equal((CLASS[c] & SPACE) !== 0, ch.trim() === '', `trim of ${c.toString(16)}`);
    }
  });

  it('counts words, CJK, kana and hangul of any slice as the regexes count them on the slice', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const s = randomText(seed, 1 + (seed % 60));
      const r = seeded(seed * 7);
      const a = Math.floor(r() * s.length);
      const b = a + Math.floor(r() * (s.length - a + 1));
      const slice = s.slice(a, b);
      const c = countScripts(s, a, b, noCounts());
      assert.deepEqual(c, { words: count(slice, WORD_G), cjk: count(slice, CJK_G), kana: count(slice, KANA_G), hangul: count(slice, HANGUL_G) }, JSON.stringify(slice));
    }
  });

  it('estimates tokens and detects the language as before', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const s = randomText(seed + 1000, seed % 80);
      assert.equal(estimateTokens(s, findVariables(s)), oldTokens(s, findVariables(s)), JSON.stringify(s));
      // Spans given by hand, overlapping or out of order, are taken as the old code took them.
      const spans = [
        { start: 3, end: 9 },
        { start: 1, end: 2 },
        { start: 20, end: 25 },
      ];
      assert.equal(estimateTokens(s, spans), oldTokens(s, spans), JSON.stringify(s));
    }
    for (const s of ['', ' ', '\n\t', 'ab', ' a ', 'a  b', '{{#sys.query#}}', ' {{#sys.query#}} x ']) assert.equal(estimateTokens(s, findVariables(s)), oldTokens(s, findVariables(s)), JSON.stringify(s));
    for (let seed = 1; seed <= 200; seed++) {
      const s = randomText(seed + 2000, seed % 50);
      const words = count(s, WORD_G);
      const cjk = count(s, CJK_G);
      const kana = count(s, KANA_G);
      const hangul = count(s, HANGUL_G);
      const units = cjk * 0.5;
      const total = words + units;
      const expected =
        total === 0 ? 'other' : units / total >= 0.6 ? (kana >= Math.max(1, cjk * 0.05) ? 'ja' : hangul > cjk / 2 ? 'ko' : 'zh') : words / total >= 0.6 ? 'en' : 'mixed';
      assert.equal(detectLanguage(s), expected, JSON.stringify(s));
    }
  });

  it('strips whitespace and punctuation as /[\\s\\p{P}]+/gu does (surrogate pairs as one code point)', () => {
    const astral = ['\u{10100}', '\u{1F600}', '\u{20000}', '\u{16AF5}', '\u{1DA87}'];
    for (let seed = 1; seed <= 300; seed++) {
      const r = seeded(seed + 3000);
      let s = randomText(seed + 3000, seed % 40);
      if (r() < 0.5) s += astral[Math.floor(r() * astral.length)] + randomText(seed, 3);
      assert.equal(stripSpaceAndPunctuation(s), s.replace(/[\s\p{P}]+/gu, ''), JSON.stringify(s));
    }
    const same = 'nothingtostrip';
    assert.equal(stripSpaceAndPunctuation(same), same);
  });

  it('finds exactly the lexicon matches of the per-line regexes, in every language', () => {
    let total = 0;
    for (let seed = 1; seed <= 150; seed++) {
      const text = seed % 3 === 0 ? randomText(seed + 4000, 120) : syntheticPrompt(seed + 4000, 20, 10, seed % 3 === 1 ? 'latin' : 'cjk');
      const model = buildModel(text);
      for (const language of ['en', 'zh', 'ja', 'mixed']) {
        const [vague, filler] = findLexMatchesOf(model, [VAGUE_TERMS, FILLER_PHRASES], language);
        assert.deepEqual(vague, oldLexMatches(model, VAGUE_TERMS, language), `vague, seed ${seed}, ${language}`);
        assert.deepEqual(filler, oldLexMatches(model, FILLER_PHRASES, language), `filler, seed ${seed}, ${language}`);
        total += vague.length + filler.length;
      }
    }
    assert.ok(total > 500, `only ${total} matches: the texts do not exercise the lexicon`);
  });

  it('matches entries of any other shape (alternation, optional last letter, lookbehind) with their own regex', () => {
    const odd: LexEntry[] = [
      { term: 'colour', lang: 'en', re: /\bcolou?r\b/gi },
      { term: 'a or b', lang: 'en', re: /\b(?:alpha|beta)\b/gi },
      { term: 'x', lang: 'en', re: /(?<=\s)x\b/g },
      { term: 'some', lang: 'en', re: /\bsome\b/gi },
    ];
    const text = 'Color and colour, alpha then Beta; some x and -x SOME.\nnext line: beta x';
    const model = buildModel(text);
    const got = findLexMatches(model, odd, 'en').map((m) => text.slice(m.start, m.end));
    assert.deepEqual(got, oldLexMatches(model, odd, 'en').map((m) => text.slice(m.start, m.end)));
    assert.deepEqual(got, ['Color', 'colour', 'alpha', 'Beta', 'some', 'x', 'SOME', 'beta', 'x']);
  });
});
