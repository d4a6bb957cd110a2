import * as assert from 'node:assert/strict';
import OpenAI from 'openai';
import { hashEmbedding, rewritePromptDeterministically, startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { KEY } from './helpers';

describe('fake OpenAI test server (test double)', function () {
  let srv: FakeOpenAIServer;
  let sdk: OpenAI;
  beforeEach(async () => {
    srv = await startFakeOpenAI({ models: ['a', 'b'] });
    sdk = new OpenAI({ apiKey: KEY, baseURL: srv.url, maxRetries: 0 });
  });
  afterEach(async () => {
    await srv.close();
  });

  it('listens on 127.0.0.1 only and lists models', async () => {
    assert.match(srv.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const page = await sdk.models.list();
    assert.deepEqual(page.data.map((m) => m.id), ['a', 'b']);
  });

  it('streams SSE chunks that the SDK reassembles', async () => {
    srv.enqueue({ content: 'streamed answer that is longer than sixteen characters' });
    const stream = await sdk.chat.completions.create({ model: 'a', messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const ch of stream) {
      text += ch.choices[0]?.delta.content ?? '';
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(text, 'streamed answer that is longer than sixteen characters');
    assert.equal(finish, 'stop');
  });

  it('handler gets the parsed request and its index; the queue goes first', async () => {
    const s2 = await startFakeOpenAI({ handler: (req, ctx) => ({ content: `${ctx.index}:${req.messages[0]!.content}` }) });
    try {
      const c = new OpenAI({ apiKey: KEY, baseURL: s2.url, maxRetries: 0 });
      s2.enqueue({ content: 'queued' });
      const ask = async (q: string) =>
        (await c.chat.completions.create({ model: 'a', messages: [{ role: 'user', content: q }] })).choices[0]!.message.content;
      assert.equal(await ask('x'), 'queued');
      assert.equal(await ask('y'), '1:y');
    } finally {
      await s2.close();
    }
  });

  it('close() ends hanging requests', async () => {
    srv.enqueue({ hang: true });
    const p = sdk.chat.completions.create({ model: 'a', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    while (srv.chatRequests().length === 0) await new Promise((r) => setTimeout(r, 5));
    await srv.close();
    assert.ok((await p) instanceof Error);
    srv = await startFakeOpenAI();
  });

  it('rewriter: keeps placeholders, adds structure, is idempotent, keeps Chinese Chinese', () => {
    const en = 'You are  very helpful.   \nAnswer [[VAR_1]] with [[VAR_2]].\n\n\n\nThanks [[VAR_1]]';
    const once = rewritePromptDeterministically(en);
    assert.deepEqual(once.prompt.match(/\[\[VAR_\d+\]\]/g), ['[[VAR_1]]', '[[VAR_2]]', '[[VAR_1]]']);
    assert.match(once.prompt, /^## Task\n/);
    assert.ok(!once.prompt.includes('\n\n\n'));
    const twice = rewritePromptDeterministically(once.prompt);
    assert.equal(twice.prompt, once.prompt);
    assert.deepEqual(twice.changes, []);
    assert.match(rewritePromptDeterministically('请根据[[VAR_1]]回答问题。').prompt, /^## 任务\n[\s\S]*## 输出/);
  });

  it('hash embeddings: deterministic, unit length, similar texts closer than unrelated ones', () => {
    const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    const a = hashEmbedding('refund my order please');
    const b = hashEmbedding('please refund the order');
    const c = hashEmbedding('weather forecast tomorrow in Paris');
    assert.deepEqual(a, hashEmbedding('refund my order please'));
    assert.ok(Math.abs(dot(a, a) - 1) < 1e-9);
    assert.ok(dot(a, b) > dot(a, c));
    assert.equal(hashEmbedding('退款订单', 32).length, 32);
  });
});
