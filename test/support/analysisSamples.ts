/**
 * Test and benchmark helper: deterministic synthetic prompts for the analysis golden test and
 * the analysis benchmark. Each text is assembled by a seeded generator from fragments that
 * exercise every branch of the text model and the detectors: Latin words with apostrophes,
 * hyphens and accents, Han, kana and hangul, astral characters (emoji, CJK extension B),
 * variables of every kind, inline code, code fences (``` and ~~~, indented, unclosed, nested
 * markers), jinja statements, headers, every list marker, label and XML-tag lines, trailing
 * spaces and tabs, CRLF and lone CR, blank-line runs, ideographic and no-break spaces,
 * sentence punctuation, lexicon terms of every language, duplicated lines and sentences, and
 * lines long enough to be walls of text. Same seed, same text, on every machine.
 */
import type { PromptKind, PromptRole } from '../../src/core/dsl/types';
import { FILLER_PHRASES, VAGUE_TERMS } from '../../src/core/analysis/lexicon';
import { seededRandom } from '../../src/core/evaluation/dataset';

/** The seeded PRNG the dataset splits use (mulberry32). */
export const seeded = seededRandom;

const WORDS = [
  'summarize', 'the', 'report', 'in', 'three', 'bullet', 'points', "don't", 'state-of-the-art', 'café', 'naïve', 'Œuvre',
  'JSON', 'output', 'format', 'you', 'are', 'a', 'helpful', 'assistant', 'translate', 'answer', 'must', 'never', 'only',
  'example', 'e.g.', 'for', 'instance', 'role', 'task', 'list', 'of', '42', 'x2', "it's", 'co-operate', 'rock’n’roll',
  'Straße', 'ñandú', 'Ærø', 'über', 'résumé', 'table', 'markdown', 'please', 'write', 'respond', 'with', 'sections',
];
const CJK = [
  '你是一名专业的翻译', '请根据用户的问题回答', '输出格式为JSON', '不要超过100字', '例如：', '一些', '可能', '尽量', '请注意，',
  '需要注意的是：', '总的来说，', '基本上', '其实', '我希望你', '请你', '非常非常', '等等', '相关', '合适', '任务', '角色',
  'あなたはアシスタントです', 'できるだけ', 'など', 'ちなみに、', 'することができます', '注意点として、', 'してみてください',
  '例えば', '箇条書きで出力してください', 'テンプレート', '기타', '한국어로 답하세요', '안녕하세요', '한글', '𠀀𠀁', '😀', '👍🏽',
  '全角　スペース', '（1）', '１２３', 'ｶﾀｶﾅ', 'ㇰㇱ', '豈', '﨑',
];
const VARS = [
  '{{#sys.query#}}', '{{#1718246807593.text#}}', '{{#context#}}', '{{#histories#}}', '{{#env.API_URL#}}',
  '{{#conversation.topic#}}', '{{@llm.context@}}', '{{query}}', '{{ name }}', '{{ items | join(", ") }}', '{{-x-}}',
  '{# a comment #}', '{%- set y = 1 -%}',
];
const PUNCT = ['. ', '! ', '? ', '。', '！', '？', ', ', '，', '、', '; ', '；', ': ', '：', '.', '...', ' - ', '—', '“', '”', '(', ')'];
const SPACES = [' ', ' ', ' ', '  ', '\t', '\u3000', '\u00a0'];
const MARKERS = ['- ', '* ', '+ ', '• ', '· ', '1. ', '12) ', '3、', '4．', '（5）', '(6) ', 'a. ', 'B) ', '-', '  - ', '\t* ', '- \u3000'];
const LEX = [...VAGUE_TERMS, ...FILLER_PHRASES].map((e) => e.term);

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

/** Which script dominates: both, Latin only, or CJK only (so that every language is detected). */
export type Mix = 'mixed' | 'latin' | 'cjk';

function phrase(r: () => number, n: number, mix: Mix): string {
  let s = '';
  for (let i = 0; i < n; i++) {
    let x = r();
    if (mix === 'latin' && x >= 0.45 && x < 0.7) x = 0.2;
    else if (mix === 'cjk' && x < 0.45) x = 0.5;
    if (x < 0.45) s += pick(r, WORDS) + pick(r, SPACES.slice(0, 4));
    else if (x < 0.7) s += pick(r, CJK);
    else if (x < 0.8) s += pick(r, LEX) + ' ';
    else if (x < 0.87) s += pick(r, VARS);
    else if (x < 0.9) s += '`' + pick(r, WORDS) + '`';
    else if (x < 0.97) s += pick(r, PUNCT);
    else s += pick(r, SPACES);
  }
  return s;
}

function line(r: () => number, size: number, mix: Mix): string {
  const x = r();
  if (x < 0.08) return `${'#'.repeat(1 + Math.floor(r() * 7))}${pick(r, [' ', '', '\t'])}${phrase(r, 3, mix)}`;
  if (x < 0.25) return pick(r, MARKERS) + phrase(r, 2 + Math.floor(r() * 8), mix);
  if (x < 0.3) return `${phrase(r, 2, mix)}${pick(r, [':', '：'])}${r() < 0.5 ? ` ${pick(r, VARS)}` : ''}`;
  if (x < 0.34) return `${pick(r, ['', '  '])}<${pick(r, ['context', 'example id="1"', 'rules', 'output-format'])}>${r() < 0.5 ? phrase(r, 2, mix) : ''}`;
  if (x < 0.4) return '';
  if (x < 0.43) return pick(r, SPACES) + pick(r, SPACES);
  if (x < 0.47) return `{% ${pick(r, ['if x', 'endif', 'for i in items', 'endfor', 'else'])} %}`;
  if (x < 0.5) return phrase(r, 40 + Math.floor(r() * size * 4), mix);
  return phrase(r, 3 + Math.floor(r() * size), mix) + (r() < 0.15 ? pick(r, [' ', '  ', '\t', ' \t']) : '');
}

function fence(r: () => number, mix: Mix): string[] {
  const ch = r() < 0.7 ? '`' : '~';
  const len = 3 + Math.floor(r() * 3);
  const indent = pick(r, ['', ' ', '   ', '    ']);
  const open = `${indent}${ch.repeat(len)}${pick(r, ['', 'json', 'yaml', ' python'])}`;
  const body = [pick(r, ['{"a": 1}', 'key: value', 'print("hi")', '```inner', phrase(r, 4, mix)]), phrase(r, 3, mix)];
  const closeLen = r() < 0.2 ? len - 1 : len + Math.floor(r() * 2);
  const close = r() < 0.15 ? '' : `${pick(r, ['', '  '])}${ch.repeat(Math.max(1, closeLen))}${pick(r, ['', ' ', ' x'])}`;
  return close === '' ? [open, ...body] : [open, ...body, close];
}

export interface SyntheticPrompt {
  name: string;
  text: string;
  kind?: PromptKind;
  role?: PromptRole;
  siblings?: string[];
}

const KINDS: (PromptKind | undefined)[] = [undefined, 'llm-message', 'llm-completion', 'llm-query-template', 'classifier-instruction', 'agent-query', 'classifier-class', 'extractor-parameter', 'output-description', 'app-pre-prompt'];
const ROLES: PromptRole[] = [null, 'system', 'user', 'assistant'];
const MIXES: Mix[] = ['mixed', 'latin', 'cjk'];

/** One synthetic prompt of about `lines` lines (seed → same text). */
export function syntheticPrompt(seed: number, lines: number, size = 12, mix: Mix = 'mixed'): string {
  const r = seeded(seed);
  const out: string[] = [];
  const earlier: string[] = [];
  while (out.length < lines) {
    const x = r();
    if (x < 0.08) out.push(...fence(r, mix));
    else if (x < 0.14 && earlier.length > 0) out.push(pick(r, earlier));
    else {
      const l = line(r, size, mix);
      out.push(l);
      if (l.length > 10 && earlier.length < 20) earlier.push(l);
    }
  }
  const eol = r();
  let text = out.join('\n');
  if (eol < 0.1) text = out.join('\r\n');
  else if (eol < 0.13) text = out.join('\r');
  if (r() < 0.2) text = `\n\n${text}`;
  if (r() < 0.2) text += pick(r, ['\n', '\n\n', '\n\n\n', ' ', '\t']);
  return text;
}

/** The fixed sample set of the golden test: small and mid-sized texts under every kind and role. */
export function syntheticPrompts(count = 400): SyntheticPrompt[] {
  const out: SyntheticPrompt[] = [];
  for (let i = 0; i < count; i++) {
    const r = seeded(10_000 + i);
    const lines = i % 50 === 0 ? 200 : 1 + Math.floor(r() * 30);
    const kind = KINDS[i % KINDS.length];
    const role = ROLES[Math.floor(i / KINDS.length) % ROLES.length];
    const text = i % 37 === 5 ? '' : i % 41 === 7 ? ' \n\t\u3000' : syntheticPrompt(i + 1, lines, 4 + (i % 20), MIXES[i % 3]);
    const siblings = kind === 'classifier-class' ? ['Other', 'billing and invoices', text.slice(0, 12), '其他'] : undefined;
    out.push({ name: `synthetic-${i}`, text, kind, role, siblings });
  }
  return out;
}
