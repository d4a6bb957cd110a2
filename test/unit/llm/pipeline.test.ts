/**
 * The shared pipeline under any transport (the seam the vscode.lm backend plugs into): a
 * scripted in-process transport stands for a backend whose answers the test decides.
 */
import * as assert from 'node:assert/strict';
import { CancelledError, LlmError } from '../../../src/core/errors';
import { createPipelineClient, type LlmTransport, type TransportAnswer } from '../../../src/core/llm/pipeline';
import type { ChatRequest } from '../../../src/core/llm/types';
import { msgs, rejectionOf, tempDir } from './helpers';

interface Scripted extends LlmTransport {
  calls: Array<{ model: string; maxTokens: number | undefined }>;
  counted: number;
}

function scripted(opts: { answer?: (req: ChatRequest) => TransportAnswer | Promise<TransportAnswer>; fail?: unknown[]; fixedModel?: boolean; count?: boolean; hang?: boolean } = {}): Scripted {
  const fail = [...(opts.fail ?? [])];
  const t: Scripted = {
    label: 'scripted/backend',
    defaultModel: 'bound-model',
    fixedModel: opts.fixedModel,
    noEmbeddingsReason: 'This backend has no embeddings (scripted).',
    calls: [],
    counted: 0,
    async chat(req, model, maxTokens, signal) {
      t.calls.push({ model, maxTokens });
      if (opts.hang) {
        await new Promise<void>((_r, reject) => signal.addEventListener('abort', () => reject(new CancelledError('aborted')), { once: true }));
      }
      const f = fail.shift();
      if (f) throw f;
      return opts.answer ? opts.answer(req) : { text: `answer to ${req.messages[0]!.content}`, finishReason: 'stop' };
    },
    classify(raw) {
      if (raw instanceof LlmError || raw instanceof CancelledError) return { error: raw, retryable: raw instanceof LlmError && raw.code === 'LLM_RATE_LIMITED', retryAfterMs: 5 };
      return { error: new LlmError('LLM_BAD_RESPONSE', String(raw)), retryable: false };
    },
  };
  if (opts.count) {
    t.countTokens = async (m) => {
      t.counted += 1;
      return m.reduce((n, x) => n + x.content.split(/\s+/).length * 10, 0);
    };
    t.countText = async (text) => {
      t.counted += 1;
      return text.split(/\s+/).length * 10;
    };
  }
  return t;
}

describe('llm pipeline over a transport (the seam of the editor-model backend)', () => {
  it('a backend bound to one model answers with it whatever model the request names; the cache keys on it', async () => {
    const dir = await tempDir();
    const t = scripted({ fixedModel: true });
    const c = createPipelineClient(t, { cacheDir: dir });
    const a = await c.chat({ messages: msgs('hello'), model: 'gpt-4o-mini' });
    assert.equal(a.model, 'bound-model');
    assert.deepEqual(t.calls.map((x) => x.model), ['bound-model']);
    const again = await c.chat({ messages: msgs('hello'), model: 'another-name' });
    assert.equal(again.cached, true, 'the same prompt to the same bound model is served from the cache');
    assert.equal(t.calls.length, 1);
  });

  it('counts tokens with the backend tokenizer when it has one, for the budget and the usage', async () => {
    const t = scripted({ count: true, answer: () => ({ text: 'two words', finishReason: 'stop' }) });
    const c = createPipelineClient(t, { budget: { maxTokens: 1000 } });
    const r = await c.chat({ messages: msgs('three small words') });
    assert.deepEqual(r.usage, { promptTokens: 30, completionTokens: 20, totalTokens: 50 });
    assert.equal(t.counted, 2);
    assert.ok(t.calls[0]!.maxTokens !== undefined && t.calls[0]!.maxTokens <= 970, `max tokens ${t.calls[0]!.maxTokens} should leave room for the 30 prompt tokens`);
    assert.deepEqual(c.spent!(), { calls: 1, tokens: 50, costUsd: 0 });
  });

  it('a token budget the backend count says is too small is refused before the call', async () => {
    const t = scripted({ count: true });
    const c = createPipelineClient(t, { budget: { maxTokens: 15 } });
    const e = await rejectionOf(c.chat({ messages: msgs('three small words') }));
    assert.equal(e.code, 'LLM_BUDGET_EXCEEDED');
    assert.equal(t.calls.length, 0);
  });

  it('a model with no price costs $0 and is logged as "cost unknown", never as a real price', async () => {
    const lines: string[] = [];
    const c = createPipelineClient(scripted({ fixedModel: true }), { log: (_l, m) => lines.push(m) });
    const r = await c.chat({ messages: msgs('x') });
    assert.equal(r.costUsd, 0);
    assert.ok(lines.some((l) => /cost unknown/.test(l)), lines.join('\n'));
    assert.ok(!lines.some((l) => /\$0\.0+/.test(l)));
  });

  it('embeddings from a backend without them fail with LLM_NO_EMBEDDINGS and its reason', async () => {
    const c = createPipelineClient(scripted());
    const e = await rejectionOf(c.embed({ input: ['a'] }));
    assert.equal(e.code, 'LLM_NO_EMBEDDINGS');
    assert.equal(e.message, 'This backend has no embeddings (scripted).');
    assert.deepEqual(await c.embed({ input: [] }), []);
  });

  it('retries what the transport classifies as retryable, and stops on what it does not', async () => {
    const t = scripted({ fail: [new LlmError('LLM_RATE_LIMITED', 'busy'), new LlmError('LLM_RATE_LIMITED', 'busy')] });
    const c = createPipelineClient(t, { retry: { maxRetries: 3 } });
    const r = await c.chat({ messages: msgs('a') });
    assert.equal(r.text, 'answer to a');
    assert.equal(c.usage().retries, 2);
    const t2 = scripted({ fail: [new LlmError('LLM_NO_PERMISSION', 'refused')] });
    const e = await rejectionOf(createPipelineClient(t2, { retry: { maxRetries: 3 } }).chat({ messages: msgs('a') }));
    assert.equal(e.code, 'LLM_NO_PERMISSION');
    assert.equal(t2.calls.length, 1);
  });

  it('cancelling a request in flight aborts the transport signal and rejects with CancelledError', async () => {
    const t = scripted({ hang: true });
    const c = createPipelineClient(t);
    const ctl = new AbortController();
    const p = c.chat({ messages: msgs('a'), signal: ctl.signal });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(t.calls.length, 1);
    ctl.abort();
    const e = await rejectionOf(p);
    assert.ok(e instanceof CancelledError, String(e));
    assert.deepEqual(c.spent!(), { calls: 1, tokens: 0, costUsd: 0 }, 'a sent call counts against the calls budget');
  });
});
