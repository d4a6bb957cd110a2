import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { createLlmClient } from '../../../src/core/llm/client';
import { CandidateRejectedError, createLlmStrategy } from '../../../src/core/strategies/llm';
import { extractPromptBlock } from '../../../src/core/strategies/llmPrompts';
import type { Strategy, StrategyInput, StrategyOutput } from '../../../src/core/strategies/types';
import { variableMultiset } from '../../../src/core/dsl/variables';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { KEY, analysisOf, rejectionOf, tempDir } from './helpers';

const EN = 'You are a helpful assistant.   \nAnswer the question {{#sys.query#}} using {{#context#}}.\n\n\n\nBe very brief and mention {{#1718246807593.text#}}.';
const ZH = '你是一个客服助手。\n根据{{#context#}}回答用户的问题：{{#sys.query#}}\n回答要简洁。';

function input(text: string, language: 'en' | 'zh' = 'en'): StrategyInput {
  return { text, analysis: analysisOf(text, language), iteration: 1, kind: 'llm-message', role: 'system' };
}

/** A scripted answer in the strategy format. */
function answer(prompt: string, extra: Record<string, unknown> = {}) {
  return { content: JSON.stringify({ prompt, rationale: 'r', confidence: 0.9, changes: ['c'], ...extra }) };
}

/** Placeholder text of the prompt the strategy sent in its last request. */
function sentPrompt(srv: FakeOpenAIServer): string {
  const body = srv.chatRequests().at(-1)!.body as { messages: Array<{ role: string; content: string }> };
  return extractPromptBlock(body.messages.at(-1)!.content)!;
}

describe('LLM strategies against the loopback server', function () {
  let srv: FakeOpenAIServer;
  let dir: string;
  beforeEach(async () => {
    srv = await startFakeOpenAI();
    dir = await tempDir();
  });
  afterEach(async () => {
    await srv.close();
    await fs.rm(dir, { recursive: true, force: true });
  });
  const client = () => createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'gpt-4o-mini' }, { cacheDir: dir });

  it('sends placeholders (never raw variables) with the analysis, restores variables, reports cost', async () => {
    const s = createLlmStrategy('llm_clarity', client());
    assert.equal(s.type, 'llm');
    const out = await s.apply(input(EN));
    const body = srv.chatRequests()[0]!.body as { messages: Array<{ content: string }>; response_format?: unknown };
    const sent = body.messages.map((m) => m.content).join('\n');
    assert.ok(!sent.includes('{{#'), 'no raw Dify variable is sent');
    assert.match(sent, /\[\[VAR_1\]\].*\[\[VAR_2\]\]/s);
    assert.match(sent, /overall 61, clarity 55, efficiency 70, structure 58/);
    assert.match(sent, /vague-term: Vague term "some" near \[\[VAR_1\]\]/);
    assert.deepEqual(variableMultiset(out.text), variableMultiset(EN));
    assert.match(out.text, /^## Task\n/);
    assert.ok(out.confidence > 0 && out.confidence <= 1);
    assert.ok(out.changes.length > 0);
    assert.equal(out.cost!.calls, 1);
    assert.ok(out.cost!.promptTokens > 0 && out.cost!.costUsd > 0);
    // second identical apply: served from the cache, no cost
    const again = await s.apply(input(EN));
    assert.equal(again.text, out.text);
    assert.deepEqual(again.cost, { calls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 });
    assert.equal(srv.chatRequests().length, 1);
  });

  it('keeps a Chinese prompt Chinese and tells the model so', async () => {
    const out = await createLlmStrategy('llm_guided', client()).apply(input(ZH, 'zh'));
    const sent = (srv.chatRequests()[0]!.body as { messages: Array<{ content: string }> }).messages[1]!.content;
    assert.match(sent, /written in Chinese/);
    assert.match(out.text, /^## 任务\n/);
    assert.match(out.text, /## 输出/);
    assert.deepEqual(variableMultiset(out.text), variableMultiset(ZH));
  });

  const rejections: Array<[string, (p: string) => string, RegExp, string]> = [
    ['drops a variable', (p) => p.replace('[[VAR_1]]', 'the question'), /dropped \{\{#sys\.query#\}\}/, 'variables-changed'],
    ['duplicates a variable', (p) => `${p} Again: [[VAR_2]]`, /duplicated \{\{#context#\}\}/, 'variables-changed'],
    ['invents a placeholder', (p) => `${p} [[VAR_9]]`, /invented \[\[VAR_9\]\]/, 'variables-changed'],
    ['writes a new raw variable', (p) => `${p} {{#sys.user_id#}}`, /added \{\{#sys\.user_id#\}\}/, 'variables-changed'],
    ['alters a variable', (p) => p.replace('[[VAR_3]]', '{{#1718246807593.txt#}}'), /dropped \{\{#1718246807593\.text#\}\}; added \{\{#1718246807593\.txt#\}\}/, 'variables-changed'],
    ['returns an empty prompt', () => '   ', /empty prompt/, 'empty'],
  ];
  for (const [what, edit, re, reason] of rejections) {
    it(`rejects a candidate that ${what}`, async () => {
      const s = createLlmStrategy('llm_guided', client());
      const protectedPrompt = '[[VAR_1]] [[VAR_2]] [[VAR_3]] Answer well.';
      srv.enqueue(answer(edit(protectedPrompt)));
      const e = await rejectionOf(s.apply(input(EN)));
      assert.ok(e instanceof CandidateRejectedError, String(e));
      assert.equal(e.code, 'LLM_REJECTED_CANDIDATE');
      assert.equal(e.rejection.reason, reason);
      assert.match(e.message, re);
      assert.equal(e.cost?.calls, 1);
    });
  }

  it('a raw variable written instead of its placeholder is accepted when the multiset is the same', async () => {
    srv.enqueue(answer('{{#sys.query#}} [[VAR_2]] [[VAR_3]] Answer well.'));
    const out = await createLlmStrategy('llm_guided', client()).apply(input(EN));
    assert.deepEqual(variableMultiset(out.text), variableMultiset(EN));
  });

  it('a rejected candidate is not cached: the next apply asks again', async () => {
    const s = createLlmStrategy('llm_efficiency', client());
    srv.enqueue(answer('no variables at all'));
    await rejectionOf(s.apply(input(EN)));
    const out = await s.apply(input(EN));
    assert.equal(srv.chatRequests().length, 2);
    assert.deepEqual(variableMultiset(out.text), variableMultiset(EN));
  });

  it("a cut-off answer (finish_reason 'length') is rejected as truncated", async () => {
    srv.enqueue({ content: '{"prompt": "[[VAR_1]] half', finishReason: 'length' });
    const e = await rejectionOf(createLlmStrategy('llm_clarity', client()).apply(input(EN)));
    assert.equal(e.code, 'LLM_REJECTED_CANDIDATE');
    assert.match(e.message, /cut off/);
    assert.equal((e as CandidateRejectedError).rejection.reason, 'truncated');
  });

  it('a malformed answer is refused as unreadable, and the call it took is counted', async () => {
    srv.enqueue({ content: 'I improved it! The new prompt is great.', usage: { prompt_tokens: 40, completion_tokens: 9 } });
    const e = await rejectionOf(createLlmStrategy('llm_clarity', client()).apply(input(EN)));
    assert.equal(e.code, 'LLM_REJECTED_CANDIDATE');
    assert.equal((e as CandidateRejectedError).rejection.reason, 'unparseable');
    assert.match(e.message, /rejected: The model's answer is not JSON/);
    const cost = (e as CandidateRejectedError).cost!;
    assert.deepEqual([cost.calls, cost.promptTokens, cost.completionTokens], [1, 40, 9]);
  });

  it('confidence is bounded to 0..1 (a percentage is read as such); language switch lowers it', async () => {
    srv.enqueue(answer('[[VAR_1]] [[VAR_2]] [[VAR_3]] ok', { confidence: 85 }));
    const a = await createLlmStrategy('llm_guided', client()).apply(input(EN));
    assert.equal(a.confidence, 0.85);
    srv.enqueue(answer('Answer [[VAR_2]] using [[VAR_1]], briefly, in plain words.', { confidence: 0.95 }));
    const b = await createLlmStrategy('llm_guided', client()).apply(input(ZH, 'zh'));
    assert.ok(b.confidence <= 0.2);
    assert.match(b.rationale, /language/);
  });

  it('the deterministic rewriter keeps placeholders exactly (what the server received vs answered)', async () => {
    await createLlmStrategy('llm_guided', client()).apply(input(EN));
    assert.match(sentPrompt(srv), /\[\[VAR_3\]\]/);
  });

  describe('hybrid', () => {
    /** A small real rule step written for this test (the rule strategies are another part). */
    const squashSpaces: Strategy = {
      name: 'efficiency_focus',
      type: 'rule',
      async apply(i: StrategyInput): Promise<StrategyOutput> {
        const text = i.text.replace(/ {2,}/g, ' ');
        return { text, rationale: 'collapsed repeated spaces', confidence: text === i.text ? 1 : 0.7, changes: text === i.text ? [] : ['collapsed spaces'] };
      },
    };

    it('needs a rule strategy', () => {
      assert.throws(() => createLlmStrategy('hybrid', client()), /needs a rule strategy/);
    });

    it('applies the rule strategy to the LLM candidate and combines rationale, changes and confidence', async () => {
      srv.enqueue(answer('Use  [[VAR_2]]  to answer [[VAR_1]]; mention [[VAR_3]].', { confidence: 0.9 }));
      const seen: string[] = [];
      const out = await createLlmStrategy('hybrid', client(), {
        ruleStrategy: squashSpaces,
        analyze: (a) => {
          seen.push(a.text);
          return analysisOf(a.text);
        },
      }).apply(input(EN));
      assert.equal(out.text, 'Use {{#context#}} to answer {{#sys.query#}}; mention {{#1718246807593.text#}}.');
      assert.equal(seen.length, 1);
      assert.match(seen[0]!, /Use {2}\{\{#context#\}\}/);
      assert.equal(out.confidence, 0.7);
      assert.ok(out.changes.includes('efficiency_focus: collapsed spaces'));
      assert.match(out.rationale, /Then efficiency_focus/);
      assert.equal(out.cost!.calls, 1);
    });

    it('skips a rule step that would change the variables', async () => {
      const breaker: Strategy = { ...squashSpaces, apply: async (i) => ({ text: i.text.replace(/\{\{#context#\}\}/, ''), rationale: 'x', confidence: 1, changes: ['x'] }) };
      srv.enqueue(answer('[[VAR_1]] [[VAR_2]] [[VAR_3]] fine'));
      const out = await createLlmStrategy('hybrid', client(), { ruleStrategy: breaker }).apply(input(EN));
      assert.deepEqual(variableMultiset(out.text), variableMultiset(EN));
      assert.match(out.rationale, /skipped/);
    });
  });

  it('cancellation passes through to the request', async () => {
    srv.enqueue({ hang: true });
    const ac = new AbortController();
    const p = createLlmStrategy('llm_guided', client()).apply({ ...input(EN), signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const e = await rejectionOf(p);
    assert.equal(e.name, 'CancelledError');
    assert.equal(await srv.chatRequests()[0]!.done, 'aborted');
  });
});
