/**
 * Word lists per language used by the analysis (to flag) and by the rule strategies (to fix).
 *
 * An entry with `replace` has a safe rewrite: a hedge or filler whose removal or substitution
 * keeps the instruction's meaning ("in order to" → "to", "需要注意的是，" → ""). Entries without
 * one are only flagged: the precise wording depends on the task ("some", "适当", "など").
 * `sentenceStart` entries only match at the start of a sentence or list item, where the rewrite
 * turns a wish into an imperative ("You should answer…" → "Answer…").
 */

export type LexLang = 'en' | 'zh' | 'ja';

export interface LexEntry {
  /** Human form shown in messages. */
  term: string;
  lang: LexLang;
  re: RegExp;
  replace?: string;
  sentenceStart?: boolean;
}

function en(term: string, replace?: string, sentenceStart = false): LexEntry {
  const body = term
    .split(' ')
    .map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[ \\t]+');
  const tail = /[A-Za-z]$/.test(term) ? '\\b' : '';
  const trailSpace = replace !== undefined && replace === '' ? '[ \\t]*' : '';
  return { term, lang: 'en', re: new RegExp(`\\b${body}${tail}${trailSpace}`, 'gi'), replace, sentenceStart };
}

function cjk(lang: 'zh' | 'ja', term: string, replace?: string, sentenceStart = false, follow = ''): LexEntry {
  const body = term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return { term, lang, re: new RegExp(body + follow, 'g'), replace, sentenceStart };
}

/** Vague or hedging words: each weakens an instruction. */
export const VAGUE_TERMS: LexEntry[] = [
  en('some'),
  en('maybe'),
  en('perhaps'),
  en('etc.'),
  en('and so on'),
  en('things'),
  en('stuff'),
  en('good'),
  en('nice'),
  en('appropriate'),
  en('appropriately'),
  en('as needed'),
  en('if necessary'),
  en('various'),
  en('somewhat'),
  en('probably'),
  en('kind of'),
  en('sort of'),
  en('a little bit', 'slightly'),
  en('a bit', 'slightly'),
  en('try to', ''),
  en('relevant'),
  en('properly'),
  en('reasonable'),
  en('you should', '', true),
  en('I want you to', '', true),
  en('I would like you to', '', true),
  en('you need to', '', true),
  cjk('zh', '一些'),
  cjk('zh', '可能'),
  cjk('zh', '适当'),
  cjk('zh', '等等', '等'),
  cjk('zh', '尽量'),
  cjk('zh', '尽可能'),
  cjk('zh', '相关'),
  cjk('zh', '大概'),
  cjk('zh', '也许'),
  cjk('zh', '某些'),
  cjk('zh', '之类'),
  cjk('zh', '差不多'),
  cjk('zh', '稍微'),
  cjk('zh', '合适'),
  cjk('zh', '若干'),
  cjk('zh', '我希望你', '', true),
  cjk('zh', '我想让你', '', true),
  cjk('zh', '请你', '请', true),
  cjk('ja', 'いくつか'),
  cjk('ja', 'たぶん'),
  cjk('ja', '多分'),
  cjk('ja', '適切'),
  cjk('ja', '適当'),
  cjk('ja', 'など'),
  cjk('ja', 'なるべく'),
  cjk('ja', 'できるだけ'),
  cjk('ja', '程度'),
  cjk('ja', 'ちょっと', '少し'),
  cjk('ja', 'してみてください', 'してください'),
];

/** Filler and redundant phrases: they cost tokens and add nothing. */
export const FILLER_PHRASES: LexEntry[] = [
  en('please note that', '', true),
  en('note that', '', true),
  en('it is important to note that', '', true),
  en('it should be noted that', '', true),
  en('keep in mind that', '', true),
  en('in order to', 'to'),
  en('due to the fact that', 'because'),
  en('in the event that', 'if'),
  en('at this point in time', 'now'),
  en('for the purpose of', 'for'),
  en('a large number of', 'many'),
  en('has the ability to', 'can'),
  en('is able to', 'can'),
  en('are able to', 'can'),
  en('basically'),
  en('actually'),
  en('very very', 'very'),
  en('as a matter of fact', '', true),
  cjk('zh', '请注意', '', true, '[，,：:]'),
  cjk('zh', '需要注意的是', '', true, '[，,：:]'),
  cjk('zh', '值得注意的是', '', true, '[，,：:]'),
  cjk('zh', '要注意的是', '', true, '[，,：:]'),
  cjk('zh', '非常非常', '非常'),
  cjk('zh', '总的来说', '', true, '[，,]'),
  cjk('zh', '基本上'),
  cjk('zh', '其实'),
  cjk('ja', 'ちなみに', '', true, '[、，,]'),
  cjk('ja', '注意点として', '', true, '[、，,]'),
  cjk('ja', 'することができます', 'できます'),
];

/** Languages whose lists apply to a text in `lang` (Han-script lists never mix zh and ja). */
export function lexLanguages(lang: string): LexLang[] {
  if (lang === 'ja') return ['en', 'ja'];
  return ['en', 'zh'];
}
