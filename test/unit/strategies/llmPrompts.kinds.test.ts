import { strict as assert } from 'node:assert';
import { analyzePrompt } from '../../../src/core/analysis/index';
import { isLabelKind, type PromptKind } from '../../../src/core/dsl/index';
import { buildUserMessage, kindRule } from '../../../src/core/strategies/llmPrompts';

const msg = (kind: PromptKind, text: string) =>
  buildUserMessage({ strategy: 'llm_guided', protectedText: text, analysis: analyzePrompt({ text, kind, role: null }), slots: new Map(), kind, role: null, iteration: 1 });

describe('LLM strategy messages know the field kind', () => {
  it('a label stays a label: short, no markdown, same meaning', () => {
    for (const kind of ['classifier-class', 'extractor-parameter', 'output-description'] as PromptKind[]) {
      assert.ok(isLabelKind(kind));
      const m = msg(kind, 'Refund');
      assert.match(m, new RegExp(`field: ${kind}`));
      assert.match(m, /Field rule: .*no markdown/);
    }
    assert.match(msg('classifier-class', 'Refund'), /class name .* route/);
  });

  it('a query template keeps its variable and stays a user turn', () => {
    const m = msg('llm-query-template', '[[VAR_1]]');
    assert.match(m, /Field rule: .*user turn.*keep it a user message.*placeholder.*do not add a role/);
    assert.match(msg('agent-query', '[[VAR_1]]'), /keep it a user message/);
  });

  it('instructions get no field rule', () => {
    assert.equal(kindRule('llm-message'), undefined);
    assert.doesNotMatch(msg('classifier-instruction', 'Classify the question.'), /Field rule/);
  });
});
