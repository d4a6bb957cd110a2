import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as z from 'zod';
import { createLlmClient } from '../../../src/core/llm/client';
import { chatJson, parseJsonLoose } from '../../../src/core/llm/json';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { KEY, msgs, rejectionOf, tempDir } from './helpers';

describe('parseJsonLoose', () => {
  it('reads plain JSON, fenced JSON, and JSON between a preamble and an epilogue', () => {
    assert.deepEqual(parseJsonLoose('{"a":1}'), { a: 1 });
    assert.deepEqual(parseJsonLoose('```json\n{"a":2}\n```'), { a: 2 });
    assert.deepEqual(parseJsonLoose('Sure! Here is the result:\n```\n{"a":3}\n```\nLet me know if you need more.'), { a: 3 });
    assert.deepEqual(parseJsonLoose('Here you go: {"a": "x } y {", "b": [1, {"c": 2}]} Hope it helps {not json}'), {
      a: 'x } y {',
      b: [1, { c: 2 }],
    });
  });
  it('returns undefined when there is no JSON', () => {
    assert.equal(parseJsonLoose('I cannot help with that.'), undefined);
    assert.equal(parseJsonLoose('{"a": '), undefined);
  });
});

describe('chatJson over real HTTP', function () {
  let srv: FakeOpenAIServer;
  let dir: string;
  const schema = z.object({ answer: z.string(), n: z.number() });
  beforeEach(async () => {
    srv = await startFakeOpenAI();
    dir = await tempDir();
  });
  afterEach(async () => {
    await srv.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('asks for response_format json_object and validates the answer', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' });
    srv.enqueue({ content: 'Here is the JSON you asked for:\n```json\n{"answer": "yes", "n": 4}\n```\nAnything else?' });
    const { value, response } = await chatJson(c, { messages: msgs('json please') }, schema);
    assert.deepEqual(value, { answer: 'yes', n: 4 });
    assert.equal(response.cached, false);
    assert.deepEqual((srv.chatRequests()[0]!.body as { response_format: unknown }).response_format, { type: 'json_object' });
  });

  it('falls back without response_format when the endpoint rejects it with 400, and remembers', async () => {
    const srv2 = await startFakeOpenAI({
      handler: (req) =>
        req.response_format
          ? { status: 400, body: { error: { message: "response_format 'json_object' is not supported" } } }
          : { content: '{"answer": "ok", "n": 1}' },
    });
    try {
      const c = createLlmClient({ baseUrl: srv2.url, apiKey: KEY, model: 'm' });
      assert.deepEqual((await chatJson(c, { messages: msgs('a') }, schema)).value, { answer: 'ok', n: 1 });
      assert.equal(srv2.chatRequests().length, 2);
      await chatJson(c, { messages: msgs('b') }, schema);
      assert.equal(srv2.chatRequests().length, 3, 'no second try with response_format');
      assert.equal((srv2.chatRequests()[2]!.body as { response_format?: unknown }).response_format, undefined);
    } finally {
      await srv2.close();
    }
  });

  it('wrong shape → LLM_BAD_RESPONSE with the field and an excerpt; the bad answer is not kept in the cache', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { cacheDir: dir });
    srv.enqueue({ content: '{"answer": 42}' }, { content: '{"answer": "fixed", "n": 2}' });
    const e = await rejectionOf(chatJson(c, { messages: msgs('a') }, schema));
    assert.equal(e.code, 'LLM_BAD_RESPONSE');
    assert.match(e.message, /answer/);
    assert.match(e.message, /"\{"answer": 42\}"/);
    assert.deepEqual((await chatJson(c, { messages: msgs('a') }, schema)).value, { answer: 'fixed', n: 2 });
    assert.equal(srv.chatRequests().length, 2);
  });

  it('no JSON at all → LLM_BAD_RESPONSE with an excerpt', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' });
    srv.enqueue({ content: 'Sorry, I cannot produce JSON today.' });
    const e = await rejectionOf(chatJson(c, { messages: msgs('a') }, schema));
    assert.equal(e.code, 'LLM_BAD_RESPONSE');
    assert.match(e.message, /Sorry, I cannot/);
  });

  it("finish_reason 'length' → LLM_TRUNCATED", async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' });
    srv.enqueue({ content: '{"answer": "half', finishReason: 'length' });
    const e = await rejectionOf(chatJson(c, { messages: msgs('a'), maxTokens: 5 }, schema));
    assert.equal(e.code, 'LLM_TRUNCATED');
    assert.match(e.message, /cut off.*max_tokens 5/);
  });
});
