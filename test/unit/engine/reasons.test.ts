import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRunLog } from '../../../src/core/engine/runLog';
import { startFakeOpenAI, type ParsedChatRequest } from '../../support/fakeOpenAI';
import { cli, workspace } from '../evidence/helpers';

const KEY = { OPENAI_API_KEY: 'sk-reasons-test-0001' };

/** Answers every rewrite request with `f(prompt block)` as the JSON answer's text. */
const rewriter = (content: (req: ParsedChatRequest) => string) => ({ handler: (req: ParsedChatRequest) => ({ content: content(req), usage: { prompt_tokens: 50, completion_tokens: 10 } }) });

describe('optimize: the cause of every refusal is named, and a run whose every answer was unusable fails', function () {
  this.timeout(30000);
  let w: ReturnType<typeof workspace>;
  beforeEach(() => (w = workspace()));
  afterEach(() => w.cleanup());

  async function run(content: (req: ParsedChatRequest) => string, extra: string[] = []) {
    const srv = await startFakeOpenAI(rewriter(content));
    try {
      const r = await cli(['optimize', 'support.yml', '--yes', '--strategy', 'llm_guided', '--strategy', 'hybrid', '--prompt', w.promptId, '--base-url', srv.url, ...extra], w.ws, KEY);
      return { ...r, calls: srv.chatRequests().length };
    } finally {
      await srv.close();
    }
  }

  it('a dropped variable: named per strategy in the text, in --json, and exit 1', async () => {
    const drop = () => JSON.stringify({ prompt: 'Answer the question using [[VAR_2]].', rationale: 'shorter', confidence: 0.9, changes: [] });
    const text = await run(drop);
    assert.equal(text.code, 1, text.err);
    assert.match(text.err, /llm_guided: the rewrite changed a variable \(dropped \{\{#1700000000001\.product#\}\}\)/);
    assert.match(text.err, /every answer of the model was unusable/);
    const json = await run(drop, ['--json', '--no-cache']);
    assert.equal(json.code, 1);
    const r = (JSON.parse(json.out) as { causes: string[]; cost: { calls: number }; candidates: { strategy: string; cause: string }[] }[])[0]!;
    assert.deepEqual(r.causes, ['variables-changed', 'variables-changed']);
    assert.deepEqual(r.candidates.map((c) => [c.strategy, c.cause]), [['llm_guided', 'variables-changed'], ['hybrid', 'variables-changed']]);
    assert.equal(r.cost.calls, 2, 'both requests were sent and counted');
  });

  it('garbage and cut-off answers are named as such and counted as calls; the run log says why', async () => {
    const r = await run(() => 'Sure! Here is a better prompt for you.', ['--json', '--write']);
    assert.equal(r.code, 1);
    const res = (JSON.parse(r.out) as { causes: string[]; skippedReason: string; cost: { calls: number; promptTokens: number } }[])[0]!;
    assert.deepEqual(res.causes, ['unreadable-answer', 'unreadable-answer']);
    assert.match(res.skippedReason, /llm_guided: the answer could not be read \(The model's answer is not JSON: "Sure! Here is/);
    assert.equal(res.cost.calls, 2);
    assert.equal(res.cost.promptTokens, 100);
    const runs = path.join(w.ws, '.optimizer', 'runs');
    const log = await readRunLog<{ type: string; causes?: string[]; skippedReason?: string }>(path.join(runs, fs.readdirSync(runs)[0]!));
    const done = log.find((e) => e.type === 'optimization_complete')!;
    assert.deepEqual(done.causes, ['unreadable-answer', 'unreadable-answer']);

    const srv = await startFakeOpenAI({ handler: () => ({ content: '{"prompt": "cut', finishReason: 'length' }) });
    try {
      const t = await cli(['optimize', 'support.yml', '--json', '--strategy', 'llm_guided', '--prompt', w.promptId, '--base-url', srv.url], w.ws, KEY);
      assert.equal(t.code, 1);
      const x = (JSON.parse(t.out) as { causes: string[]; cost: { calls: number } }[])[0]!;
      assert.deepEqual(x.causes, ['truncated']);
      assert.equal(x.cost.calls, 1);
    } finally {
      await srv.close();
    }
  });

  it('a usable answer that only fails on confidence is not "unusable": exit 0, cause below-confidence', async () => {
    const low = (req: ParsedChatRequest) => {
      const user = req.messages[req.messages.length - 1]!.content;
      const block = /<original_prompt>\n([\s\S]*?)\n<\/original_prompt>/.exec(user)![1]!;
      return JSON.stringify({ prompt: `${block}\nBe specific.`, rationale: '', confidence: 0.1, changes: [] });
    };
    const r = await run(low, ['--json', '--evidence', 'off']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual((JSON.parse(r.out) as { causes: string[] }[])[0]!.causes, ['below-confidence', 'below-confidence']);
  });
});
