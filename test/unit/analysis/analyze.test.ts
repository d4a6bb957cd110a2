import { strict as assert } from 'node:assert';
import { analyzePrompt } from '../../../src/core/analysis/analyze';
import { computeScores, WEIGHTS } from '../../../src/core/analysis/scorer';
import { loadCorpusPrompts } from '../../support/corpusPrompts';

function corpusText(file: string, role: string | null): string {
  const p = loadCorpusPrompts().find((x) => x.file === file && x.role === role);
  assert.ok(p, `${file} ${role} not in corpus`);
  return p.text;
}

/** Faithful hand translations of Chinese corpus prompts (variables kept as they are). */
const PAIRS: { file: string; en: string }[] = [
  {
    file: '思考助手.yml',
    en: 'You are an analysis expert. Following the requirements of {{#sys.query#}}, use the framework that {{#context#}} needs and solve the problem.',
  },
  {
    file: '春联生成器.yml',
    en: [
      'You are an expert at writing Spring Festival couplets. Below I will give you some requirements; write a pair of couplets for me. They need to carry a good meaning. The requirements are as follows:',
      '',
      'Theme: {{#1737014287710.theme#}}',
      'Characters per line: {{#1737014287710.count#}}',
      '',
      'Return JSON. An example of what to return:',
      '{',
      ' "top": (first line; type: string),',
      ' "bottom": (second line; type: string),',
      ' "banner": (horizontal scroll; type: string)',
      '}',
      '',
      'Answer:',
    ].join('\n'),
  },
  {
    file: '春联生成器 (“福”到了版本).yml',
    en: [
      'You are an expert at writing Spring Festival couplets. Below I will give you some requirements; write a pair of couplets for me. Make sure the couplets follow the traditional metrical rules, are fresh and creative, and carry a good meaning. The requirements are as follows:',
      '',
      'Theme: {{#1737014287710.theme#}}',
      'Characters per line: {{#1737014287710.count#}}',
      '',
      'Writing requirements:',
      '1. Must convey the joyful and peaceful atmosphere of the Spring Festival;',
      '2. The two lines have the same number of characters and a symmetrical structure;',
      '3. May be elegant or plain, but must have depth;',
      '4. Pay attention to tonal rhythm and neat parallelism;',
      '5. The banner is concise and powerful and states the theme;',
      '',
      'Return JSON. An example of what to return:',
      '{',
      ' "top": (first line: sets the theme and rhythm; type: string),',
      ' "bottom": (second line: strictly parallel; type: string),',
      ' "banner": (horizontal scroll: the finishing touch; type: string),',
      ' "summary": (one-character summary; type: string)',
      '}',
      '',
      'Answer:',
    ].join('\n'),
  },
  {
    file: '中译英.yml',
    en:
      'I now want to write a GPT that translates Chinese into English research papers. Build it following the Prompt below, and note that everything is generated in English:\n\n## Role\nYou are a reviewer of research papers, skilled at writing high-quality English research papers. Please help me translate the following Chinese into English accurately and academically, in a style consistent with English research papers.\n\n## Rules:\n- The input is in Markdown format, and the output must also keep the original Markdown format\n- Below is a table of common related terms (Chinese -> English):\n* 零样本 -> Zero-shot\n* 少样本 -> Few-shot\n\n## Strategy:\n\nTranslate in three steps and print the result of each step:\n1. Translate the Chinese content literally into English, keep the original format, and do not omit any information\n2. Based on the literal translation from step one, point out the specific problems in it, describe them precisely rather than in general terms, and do not add content or formatting that the original does not have, including but not limited to:\n- Not idiomatic English: point out exactly where it is not\n- Sentences that do not read smoothly: point out where, without giving corrections, they are fixed in the free translation\n- Obscure, ambiguous or hard to understand: you can try to give an explanation\n3. Based on the literal translation from step one and the problems pointed out in step two, translate freely again, keeping the original meaning of the content while making it easier to understand and closer to the usage of English research papers, and keep the original format unchanged\n\n## Format\nReturn in the following format, "{xxx}" marks a placeholder:\n\n### Literal translation\n{literal translation result}\n\n***\n\n###Problems\n{list of the specific problems of the literal translation}\n\n***\n\n###Free translation',
  },
];

describe('analyzePrompt', () => {
  it('fills every field, deterministically, with overall the documented weighted mean', () => {
    for (const p of loadCorpusPrompts()) {
      const a = analyzePrompt({ text: p.text, role: p.role as never });
      const b = analyzePrompt({ text: p.text, role: p.role as never });
      assert.deepEqual(a, b);
      for (const k of ['overall', 'clarity', 'efficiency', 'structure'] as const) assert.ok(a[k] >= 0 && a[k] <= 100, `${p.file} ${k}`);
      const mean = WEIGHTS.clarity * a.clarity + WEIGHTS.efficiency * a.efficiency + WEIGHTS.structure * a.structure;
      assert.ok(Math.abs(a.overall - mean) <= 0.1, `${p.file}: ${a.overall} vs ${mean}`);
      assert.equal(a.characters, p.text.length);
      assert.ok(a.tokens > 0);
      for (const i of a.issues) {
        assert.ok(i.start >= 0 && i.end <= p.text.length && i.start <= i.end, `${p.file} ${i.kind} range`);
        assert.ok(i.message && Array.isArray(i.fixedBy));
      }
    }
  });

  it('an empty prompt gets a clear error issue and scores 0, without throwing', () => {
    for (const text of ['', '   \n\t\n']) {
      const a = analyzePrompt({ text });
      assert.equal(a.overall, 0);
      assert.equal(a.issues[0].kind, 'empty-prompt');
      assert.equal(a.issues[0].severity, 'error');
    }
  });

  it('a well-structured Chinese prompt never scores below its English translation (corpus pairs)', () => {
    for (const pair of PAIRS) {
      const zh = analyzePrompt({ text: corpusText(pair.file, 'system'), role: 'system' });
      const en = analyzePrompt({ text: pair.en, role: 'system' });
      assert.equal(zh.language, 'zh', pair.file);
      assert.equal(en.language, 'en', pair.file);
      assert.ok(zh.overall >= en.overall, `${pair.file}: zh ${zh.overall} < en ${en.overall}`);
      // And they are comparable: tokens within a factor of 2.
      assert.ok(zh.tokens / en.tokens < 2 && en.tokens / zh.tokens < 2, `${pair.file}: tokens ${zh.tokens} vs ${en.tokens}`);
    }
  });

  it('detects Chinese and Japanese vague terms, CJK sentence ends and long sentences', () => {
    const zh = analyzePrompt({ text: '请写一些适当的内容，等等。尽量简短！' });
    const terms = zh.issues.filter((i) => i.kind === 'vague-term').map((i) => '请写一些适当的内容，等等。尽量简短！'.slice(i.start, i.end));
    assert.deepEqual(terms, ['一些', '适当', '等等', '尽量']);
    assert.equal(zh.language, 'zh');
    const ja = analyzePrompt({ text: 'あなたは営業の専門家です。適切な敬語で200文字程度にまとめてください。' });
    assert.equal(ja.language, 'ja');
    assert.deepEqual(ja.issues.filter((i) => i.kind === 'vague-term').length, 2);
    const longZh = '你需要' + '仔细阅读用户提供的材料并且'.repeat(8) + '给出结论。短句。';
    const a = analyzePrompt({ text: longZh });
    assert.equal(a.issues.filter((i) => i.kind === 'long-sentence').length, 1);
    const en = analyzePrompt({ text: 'Please note that you should maybe write some things, etc.' });
    assert.deepEqual(
      en.issues.map((i) => i.kind),
      ['redundant-phrase', 'vague-term', 'vague-term', 'vague-term', 'vague-term'],
    );
  });

  it('variables are not words and are never flagged, whatever their names', () => {
    const vars = '{{#1718.some_things#}} {{ maybe }} {{#sys.query#}} {% if good %}x{% endif %} {{@llm.context@}}';
    const a = analyzePrompt({ text: vars });
    assert.equal(a.issues.length, 0, JSON.stringify(a.issues));
    assert.equal(a.variableCount, 6);
    const withText = analyzePrompt({ text: `Summarize ${'{{#1.text#}} '.repeat(50)}` });
    assert.ok(!withText.issues.some((i) => i.kind === 'long-sentence' || i.kind === 'wall-of-text'));
    for (const i of analyzePrompt({ text: 'Use {{#1.maybe_some#}} and some notes.' }).issues) assert.ok(i.start >= 21);
  });

  it('flags filler, repeated lines, blank-line runs, trailing spaces, unbalanced fences and missing sections', () => {
    const text = [
      'In order to help, answer the question.   ',
      'Answer in one short paragraph of plain text.',
      'Answer in one short paragraph of plain text.',
      '',
      '',
      '',
      '```python',
      'print("some things")',
    ].join('\n');
    const kinds = new Set(analyzePrompt({ text }).issues.map((i) => i.kind));
    for (const k of ['redundant-phrase', 'duplicate-line', 'excess-blank-lines', 'trailing-whitespace', 'unbalanced-code-fence'])
      assert.ok(kinds.has(k), k);
    assert.ok(!kinds.has('vague-term'), 'code inside a fence is not prose');
    const wall = Array.from({ length: 14 }, (_, i) => `The report covers region ${i} and lists its sales figures for the quarter.`).join(' ');
    const w = analyzePrompt({ text: wall, role: 'system' });
    const wk = new Set(w.issues.map((i) => i.kind));
    for (const k of ['wall-of-text', 'missing-structure', 'missing-role', 'missing-output-format']) assert.ok(wk.has(k), k);
    assert.ok(w.structure < 60);
  });

  it('scores follow the documented model', () => {
    const base = {
      units: 100, vague: 0, longSentenceUnits: [], filler: 0, repeated: 0, blankRuns: 0, trailingSpaceLines: 0,
      unbalancedFences: 0, checkRole: true, checkTask: true, checkOutput: true, hasRole: true, hasTask: true,
      hasOutput: true, wallParagraphs: 0, headers: 1, listItems: 0,
    };
    assert.deepEqual(computeScores(base), { overall: 100, clarity: 100, efficiency: 100, structure: 100 });
    assert.equal(computeScores({ ...base, vague: 2 }).clarity, 95); // 250 × 2 / 100
    assert.equal(computeScores({ ...base, longSentenceUnits: [50] }).clarity, 94); // 4 + 10 / 5
    assert.equal(computeScores({ ...base, repeated: 5 }).efficiency, 70); // capped at 30
    assert.equal(computeScores({ ...base, hasRole: false, hasOutput: false, headers: 0 }).structure, 74); // 10 + 8 + 8
  });

  it('analyses the largest corpus prompt in well under 5 ms', () => {
    const largest = loadCorpusPrompts().reduce((a, b) => (b.text.length > a.text.length ? b : a));
    for (let i = 0; i < 20; i++) analyzePrompt({ text: largest.text });
    const times: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t0 = process.hrtime.bigint();
      analyzePrompt({ text: largest.text, role: 'system' });
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    times.sort((a, b) => a - b);
    const median = times[times.length >> 1];
    console.log(`      analyzePrompt on ${largest.text.length} chars: median ${median.toFixed(3)} ms`);
    assert.ok(median < 5, `median ${median} ms`);
  });
});
