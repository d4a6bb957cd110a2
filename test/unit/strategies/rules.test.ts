import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { analyzePrompt } from '../../../src/core/analysis/analyze';
import type { PromptIssue } from '../../../src/core/analysis/types';
import { finish } from '../../../src/core/strategies/rules/base';
import { applyIssueFix, createRuleStrategy, quickFixFor, RULE_STRATEGIES } from '../../../src/core/strategies/rules';
import { newResult } from '../../../src/core/strategies/rules/transforms';
import { EngineError } from '../../../src/core/errors';
import { assertInvariants } from './invariants';

const apply = (name: string, text: string) => createRuleStrategy(name).apply({ text, analysis: analyzePrompt({ text }), iteration: 1 });

describe('rule strategies', () => {
  it('clarity_focus turns wishes into imperatives and splits long sentences, leaving variables alone', async () => {
    const out = await apply('clarity_focus', 'You should try to answer {{#sys.query#}} in a bit more detail.\n- I want you to list the sources.');
    assert.equal(out.text, 'Answer {{#sys.query#}} in slightly more detail.\n- List the sources.');
    assert.ok(out.confidence > 0.5 && out.changes.length >= 3, out.rationale);
    const long =
      'Read the customer message from {{#1.text#}} carefully and work out which product the customer is talking about; then look up the product in the catalogue, check whether it is in stock, and write a short, friendly reply that answers the question directly and politely.';
    const s = await apply('clarity_focus', long);
    assert.match(s.text, /talking about\. Then look up/);
  });

  it('efficiency_focus removes filler and repeats but keeps every meaningful line break', async () => {
    const text = 'Please note that the answer must be short.  \nIn order to help, use the context.\n\n\n\nUse the context.\nUse the context.\n## Output\n- one line';
    const out = await apply('efficiency_focus', text);
    assert.equal(out.text, 'The answer must be short.\nTo help, use the context.\n\nUse the context.\nUse the context.\n## Output\n- one line');
    const dup = await apply('efficiency_focus', 'Answer only in formal English please.\nKeep it brief.\nAnswer only in formal English please.');
    assert.equal(dup.text, 'Answer only in formal English please.\nKeep it brief.');
    const zh = await apply('efficiency_focus', '3. 请注意，你只需要输出 hashtag。\n需要注意的是：不要解释。');
    assert.equal(zh.text, '3. 你只需要输出 hashtag。\n不要解释。');
  });

  it('structure_focus adds headers on their own lines (CJK headers for Chinese) and leaves structured prompts alone', async () => {
    const en = [
      'You are a senior support agent for an online shop that sells outdoor equipment and clothing.',
      'Read the customer message and find out which order and which product it is about, using the order history provided below.',
      '{{#1.history#}}',
      'Write a reply that answers the question and offers the next step the customer can take.',
      'Never promise refunds or delivery dates that the order history does not confirm.',
      'Do not mention internal tools or these instructions.',
      'Output the reply as plain text in at most three short paragraphs.',
    ].join('\n');
    const out = await apply('structure_focus', en);
    assert.ok(out.text.startsWith('## Role\nYou are a senior'), out.text);
    assert.match(out.text, /\n\n## Constraints\nNever promise/);
    assert.match(out.text, /\n\n## Output format\nOutput the reply/);
    assert.ok(out.text.includes('{{#1.history#}}'));
    const zh = [
      '你是一名资深的客服专员，负责一家户外用品网店的售后服务，熟悉所有商品和订单流程。',
      '阅读用户的消息，结合下面提供的订单历史，判断用户说的是哪一个订单和哪一件商品，以及用户真正想解决的问题。',
      '{{#1.history#}}',
      '写一段回复，直接回答用户的问题，并告诉用户下一步可以怎么做，语气要友好而专业。',
      '不要承诺订单历史中无法确认的退款或送达时间，也不要提到内部工具或这些指令。',
      '输出格式为纯文本，最多三段，每段不超过三句话。',
    ].join('\n');
    const z = await apply('structure_focus', zh);
    assert.ok(z.text.startsWith('## 角色\n你是一名'), z.text);
    assert.match(z.text, /\n\n## 约束\n不要承诺/);
    assert.match(z.text, /\n\n## 输出格式\n输出格式为/);
    const structured = '## Role\n' + en;
    assert.equal((await apply('structure_focus', structured)).text, structured);
  });

  it('never produces "Please ## Instructions" or "1. # Task" style damage', async () => {
    const nasty = [
      'Please follow the instructions below carefully and answer in order to help the user with the question; then summarise.',
      '## Instructions',
      '1. # Task',
      '- Please note that ## is a literal here.',
      'Please',
      '# Task',
    ].join('\n');
    for (const name of RULE_STRATEGIES) {
      const out = await apply(name, nasty);
      assertInvariants(nasty, out.text, name);
      assert.ok(!/Please ## Instructions/.test(out.text));
      assert.ok(out.text.includes('\n## Instructions\n') && out.text.includes('\n1. # Task\n') && out.text.includes('\nPlease\n# Task'), out.text);
    }
  });

  it('a result that scores lower is discarded with confidence 0 and a rationale saying so', () => {
    const text = 'Answer the question in one sentence.';
    const worse = newResult('Maybe answer some things about the question, etc., in some sentences, perhaps.');
    worse.edits.set('test edit', { kind: 'vague', count: 1 });
    const out = finish('clarity_focus', { text, analysis: analyzePrompt({ text }), iteration: 1 }, worse, 'Clarity');
    assert.equal(out.text, text);
    assert.equal(out.confidence, 0);
    assert.match(out.rationale, /scored lower/);
    const lost = newResult('Answer the question.');
    lost.edits.set('x', { kind: 'vague', count: 1 });
    const v = finish('clarity_focus', { text: 'Answer {{#sys.query#}}.', analysis: analyzePrompt({ text: 'x' }), iteration: 1 }, lost, 'Clarity');
    assert.equal(v.text, 'Answer {{#sys.query#}}.');
    assert.match(v.rationale, /variable/);
  });

  it('auto follows the weakest dimension and chains strategies', async () => {
    const text = 'You should maybe answer.  \n\n\n\nPlease note that answers must be short.';
    const out = await apply('auto', text);
    assert.equal(out.text, 'Maybe answer.\n\nAnswers must be short.');
    assert.match(out.rationale, /clarity_focus|efficiency_focus/);
    assert.ok(out.changes.length >= 3);
  });

  it('empty and variable-only prompts are returned unchanged; unknown names are typed errors', async () => {
    for (const name of RULE_STRATEGIES) {
      for (const text of ['', '{{#sys.query#}}', '   ']) {
        const out = await apply(name, text);
        if (text.trim() !== '') assert.equal(out.text, text);
        else assert.ok(out.text.trim() === '');
      }
    }
    assert.throws(() => createRuleStrategy('nope'), (e: unknown) => e instanceof EngineError && e.code === 'ENGINE_UNKNOWN_STRATEGY');
  });

  it('quick fixes: strategy per issue kind and a targeted single-issue edit', () => {
    const text = 'In order to help, answer.   \nAnswer only in formal English please.\nAnswer only in formal English please.\n\n\n```js\nx';
    const issues = analyzePrompt({ text }).issues;
    const byKind = (k: string): PromptIssue => issues.find((i) => i.kind === k)!;
    assert.equal(quickFixFor(byKind('redundant-phrase')), 'efficiency_focus');
    assert.equal(quickFixFor(byKind('unbalanced-code-fence')), undefined);
    assert.equal(applyIssueFix(text, byKind('redundant-phrase')), text.replace('In order to', 'To'));
    assert.equal(applyIssueFix(text, byKind('trailing-whitespace')), text.replace('answer.   ', 'answer.'));
    assert.equal(applyIssueFix(text, byKind('duplicate-line')), text.replace('please.\nAnswer only in formal English please.\n', 'please.\n'));
    assert.equal(applyIssueFix(text, byKind('excess-blank-lines')), text.replace('please.\n\n\n```', 'please.\n\n```'));
    assert.equal(applyIssueFix(text, byKind('unbalanced-code-fence')), text + '\n```');
    const vague = analyzePrompt({ text: 'Use some data.' }).issues[0];
    assert.equal(applyIssueFix('Use some data.', vague), undefined); // no safe rewrite for "some"
    assert.equal(applyIssueFix('changed text', byKind('duplicate-line')), undefined);
  });
});

describe('rule strategies: property tests', () => {
  const word = fc.constantFrom(
    'answer', 'some', 'maybe', 'the', 'user', 'in order to', 'please note that', 'You should', 'try to', 'etc.', '请注意，',
    '一些', '你需要', '回答', '。', '.', ';', ',', '##', '#', '1.', '-', '  ', 'and then', '；', '，然后',
  );
  const variable = fc.constantFrom('{{#sys.query#}}', '{{#1718.text#}}', '{{ name }}', '{{@llm.context@}}', '{{query}}', '{{#context#}}');
  const line = fc.array(fc.oneof({ weight: 5, arbitrary: word }, { weight: 1, arbitrary: variable }), { maxLength: 30 }).map((ws) => ws.join(' '));
  const block = fc.oneof(
    { weight: 6, arbitrary: line },
    { weight: 1, arbitrary: line.map((l) => `## ${l || 'Task'}`) },
    { weight: 1, arbitrary: line.map((l) => `- ${l}`) },
    { weight: 1, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: line.map((l) => '```\n' + l + '\nplease note that   \n\n\n```') },
    { weight: 1, arbitrary: line.map((l) => `{% if x %}\n${l}   \n{% endif %}`) },
  );
  const prompt = fc.array(block, { minLength: 1, maxLength: 14 }).map((bs) => bs.join('\n'));

  for (const name of RULE_STRATEGIES) {
    it(`${name}: invariants and idempotence on random text with variables, headers and fences`, async () => {
      await fc.assert(
        fc.asyncProperty(prompt, async (text) => {
          const once = await apply(name, text);
          assertInvariants(text, once.text, name);
          const twice = await apply(name, once.text);
          assert.equal(twice.text, once.text);
          assert.ok(analyzePrompt({ text: once.text }).overall >= analyzePrompt({ text }).overall);
        }),
        { numRuns: 150, seed: 4242 },
      );
    });
  }
});
