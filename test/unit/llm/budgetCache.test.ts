import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createLlmClient } from '../../../src/core/llm/client';
import { DiskCache, hashKey } from '../../../src/core/llm/cache';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { KEY, msgs, rejectionOf, tempDir } from './helpers';

describe('llm budgets (enforced before each call)', function () {
  let srv: FakeOpenAIServer;
  beforeEach(async () => {
    srv = await startFakeOpenAI({ latencyMs: 30 });
  });
  afterEach(async () => {
    await srv.close();
  });

  it('20 concurrent calls with maxCalls 5: exactly 5 reach the server, 15 are refused', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', concurrency: 8 }, { budget: { maxCalls: 5 } });
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => c.chat({ messages: msgs(`q${i}`) })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(ok.length, 5);
    assert.equal(refused.length, 15);
    for (const r of refused) {
      assert.equal((r.reason as { code: string }).code, 'LLM_BUDGET_EXCEEDED');
      assert.match((r.reason as Error).message, /at most 5 call/);
    }
    assert.equal(srv.chatRequests().length, 5);
    assert.equal(c.usage().calls, 5);
  });

  it('a call cancelled while queued gives its reserved call back', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', concurrency: 1 }, { budget: { maxCalls: 2 } });
    const first = c.chat({ messages: msgs('1') });
    const ac = new AbortController();
    const second = c.chat({ messages: msgs('2'), signal: ac.signal });
    ac.abort();
    await rejectionOf(second);
    await first;
    await c.chat({ messages: msgs('3') });
    const e = await rejectionOf(c.chat({ messages: msgs('4') }));
    assert.equal(e.code, 'LLM_BUDGET_EXCEEDED');
    assert.equal(srv.chatRequests().length, 2);
  });

  it('token budget: concurrent calls reserve prompt estimate + max_tokens and never exceed it', async () => {
    const own = await startFakeOpenAI({ handler: (req) => ({ content: 'ok', latencyMs: 30, usage: { prompt_tokens: 10, completion_tokens: Math.min(150, req.max_tokens ?? 150) } }) });
    try {
      const c = createLlmClient({ baseUrl: own.url, apiKey: KEY, model: 'm', concurrency: 8 }, { budget: { maxTokens: 1000 } });
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => c.chat({ messages: msgs(`question number ${i}`), maxTokens: 150 })));
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      const u = c.usage();
      assert.ok(u.promptTokens + u.completionTokens <= 1000, `used ${u.promptTokens + u.completionTokens}`);
      assert.equal(own.chatRequests().length, ok);
      assert.ok(ok >= 3 && ok < 10, `ok=${ok}`);
      // the request's own max_tokens is kept while it fits; the last one sent is capped to what remained
      const sent = own.chatRequests().map((r) => (r.body as { max_tokens: number }).max_tokens);
      assert.ok(sent.every((m) => m >= 1 && m <= 150), String(sent));
      assert.equal(sent.filter((m) => m === 150).length, ok - 1);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.equal((refused.reason as { code: string }).code, 'LLM_BUDGET_EXCEEDED');
      assert.match((refused.reason as Error).message, /tokens.*budget: \{ max_tokens \}.*promptOptimizer\.budget\.maxTokens/);
    } finally {
      await own.close();
    }
  });

  it('cost budget: refuses the call that could go past maxCostUsd, with a clear message', async () => {
    const c = createLlmClient(
      { baseUrl: srv.url, apiKey: KEY, model: 'pricey' },
      { budget: { maxCostUsd: 0.01 }, costTable: { pricey: { inputPerM: 1000, outputPerM: 1000 } } },
    );
    // each call: ~10 tokens (est) + max_tokens 2 → ~$0.01 per 10 tokens; the first fits, usage 4 tokens = $0.004
    srv.enqueue({ content: 'a', usage: { prompt_tokens: 2, completion_tokens: 2 } });
    await c.chat({ messages: msgs('hi'), maxTokens: 2 });
    assert.ok(Math.abs(c.usage().costUsd - 0.004) < 1e-12);
    const e = await rejectionOf(c.chat({ messages: msgs('a longer question that needs more tokens'), maxTokens: 2 }));
    assert.equal(e.code, 'LLM_BUDGET_EXCEEDED');
    assert.match(e.message, /\$.*budget: \{ max_cost_usd \}.*promptOptimizer\.budget\.maxCostUsd/);
    assert.equal(srv.chatRequests().length, 1);
  });
});

/** A server that answers `answerTokens` tokens ('abcd' = 1 token) unless max_tokens asks for fewer, as real endpoints do. */
function longAnswers(answerTokens: number) {
  return startFakeOpenAI({
    handler: (req) => {
      const n = Math.min(answerTokens, req.max_tokens ?? (req.body.max_completion_tokens as number | undefined) ?? Infinity);
      return { content: 'abcd'.repeat(n), finishReason: n < answerTokens ? 'length' : 'stop' };
    },
  });
}

describe('llm budgets: answers are capped to what the budget has left', function () {
  let srv: FakeOpenAIServer;
  afterEach(async () => {
    await srv.close();
  });

  it('token budget, no max_tokens requested, long answers: max_tokens is sent and the total stays within the budget', async () => {
    srv = await longAnswers(2000);
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 0 }, { budget: { maxTokens: 1100 } });
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      try {
        const r = await c.chat({ messages: msgs(`write a long essay ${i}`) });
        outcomes.push(r.finishReason);
      } catch (e) {
        outcomes.push((e as { code: string }).code);
      }
    }
    const u = c.usage();
    assert.ok(u.promptTokens + u.completionTokens <= 1100, `used ${u.promptTokens + u.completionTokens} tokens of 1100`);
    const sent = srv.chatRequests().map((r) => (r.body as { max_tokens?: number }).max_tokens);
    assert.ok(sent.length >= 2, `only ${sent.length} call(s) sent`);
    assert.ok(sent.every((m) => m !== undefined && m >= 1), `max_tokens sent: ${String(sent)}`);
    // the first answer gets the default allowance, the next what is left after it
    assert.equal(sent[0], 1024);
    assert.ok(sent[1]! < 100, String(sent));
    assert.deepEqual(outcomes.slice(sent.length), Array(5 - sent.length).fill('LLM_BUDGET_EXCEEDED'));
    assert.equal(u.calls, sent.length);
  });

  it('under a budget, a request with a long prompt and no max_tokens may answer as long as its prompt (a rewrite is not cut short)', async () => {
    srv = await longAnswers(3000);
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { budget: { maxCostUsd: 100 } });
    const long = 'Rewrite this prompt. '.repeat(600); // about 2,500 tokens
    const r = await c.chat({ messages: msgs(long) });
    const sent = (srv.chatRequests()[0]!.body as { max_tokens?: number }).max_tokens!;
    assert.ok(sent >= 2000, `max_tokens ${sent} would cut a rewrite of a ~2,500-token prompt`);
    assert.ok(r.finishReason === 'stop' || r.finishReason === 'length');
    // A short prompt keeps the default allowance.
    await c.chat({ messages: msgs('short') });
    assert.equal((srv.chatRequests()[1]!.body as { max_tokens?: number }).max_tokens, 1024);
  });

  it('a request whose own max_tokens fits is sent with it; without any budget no max_tokens is added', async () => {
    srv = await longAnswers(20);
    const capped = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { budget: { maxTokens: 10_000 } });
    await capped.chat({ messages: msgs('a'), maxTokens: 50 });
    const free = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' });
    await free.chat({ messages: msgs('b') });
    const [a, b] = srv.chatRequests().map((r) => r.body as { max_tokens?: number });
    assert.equal(a!.max_tokens, 50);
    assert.equal('max_tokens' in b!, false);
  });

  it('nothing left for an answer: refused before the call, with what remains', async () => {
    srv = await longAnswers(20);
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { budget: { maxTokens: 12 } });
    const e = await rejectionOf(c.chat({ messages: msgs('a question that is longer than the budget allows') }));
    assert.equal(e.code, 'LLM_BUDGET_EXCEEDED');
    assert.match(e.message, /only 12 of the run's 12 remain.*budget: \{ max_tokens \}/);
    assert.equal(srv.chatRequests().length, 0);
  });

  it('cost budget with a known price caps max_tokens the same way: long answers never go past it', async () => {
    srv = await longAnswers(3000);
    // $1000 per 1M input tokens, $2000 per 1M output tokens: $0.002 per answer token
    const c = createLlmClient(
      { baseUrl: srv.url, apiKey: KEY, model: 'pricey', maxRetries: 0 },
      { budget: { maxCostUsd: 1 }, costTable: { pricey: { inputPerM: 1000, outputPerM: 2000 } }, defaultCompletionReserve: 5000 },
    );
    const codes: string[] = [];
    for (let i = 0; i < 4; i++) {
      await c.chat({ messages: msgs(`essay ${i}`) }).then(
        (r) => codes.push(r.finishReason),
        (e: { code: string }) => codes.push(e.code),
      );
    }
    assert.ok(c.usage().costUsd <= 1 + 1e-9, `spent $${c.usage().costUsd}`);
    const sent = srv.chatRequests().map((r) => (r.body as { max_tokens: number }).max_tokens);
    // prompt ≈ 10 tokens ($0.01): about 495 answer tokens fit in $1, far below the 3000 the model would write
    assert.ok(sent[0]! > 400 && sent[0]! < 500, String(sent));
    assert.equal(codes[0], 'length');
    assert.ok(codes.includes('LLM_BUDGET_EXCEEDED'), codes.join());
  });

  it('a model that refuses max_tokens (asks for max_completion_tokens) is asked again with it, and remembered', async () => {
    srv = await startFakeOpenAI({
      handler: (req) =>
        req.max_tokens !== undefined
          ? { status: 400, body: { error: { message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", param: 'max_tokens', type: 'invalid_request_error' } } }
          : { content: 'fine' },
    });
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'reasoner-x' }, { budget: { maxTokens: 5000 } });
    assert.equal((await c.chat({ messages: msgs('q1') })).text, 'fine');
    assert.equal((await c.chat({ messages: msgs('q2') })).text, 'fine');
    const bodies = srv.chatRequests().map((r) => r.body as Record<string, unknown>);
    assert.equal(bodies.length, 3);
    assert.equal(bodies[0]!.max_tokens, 1024);
    assert.deepEqual([bodies[1]!.max_tokens, bodies[1]!.max_completion_tokens], [undefined, 1024]);
    assert.deepEqual([bodies[2]!.max_tokens, bodies[2]!.max_completion_tokens], [undefined, 1024]);
  });
});

describe('llm response cache', function () {
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

  const cfg = () => ({ baseUrl: srv.url, apiKey: KEY, model: 'gpt-4o-mini' });

  it('a second identical run makes 0 calls', async () => {
    const run = async () => {
      const c = createLlmClient(cfg(), { cacheDir: dir });
      const out = [];
      for (let i = 0; i < 3; i++) out.push(await c.chat({ messages: msgs(`prompt ${i}`), temperature: 0 }));
      return { out, usage: c.usage() };
    };
    const first = await run();
    assert.equal(srv.chatRequests().length, 3);
    assert.ok(first.out.every((r) => !r.cached));
    const second = await run();
    assert.equal(srv.chatRequests().length, 3, 'no new call');
    assert.ok(second.out.every((r) => r.cached && r.costUsd === 0));
    assert.deepEqual(second.out.map((r) => r.text), first.out.map((r) => r.text));
    assert.equal(second.usage.calls, 0);
    assert.equal(second.usage.cachedCalls, 3);
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.json'));
    assert.equal(files.length, 3);
    assert.ok(files.every((f) => /^[0-9a-f]{64}\.json$/.test(f)));
  });

  it('the key covers model, every parameter and the messages; noCache bypasses it', async () => {
    const c = createLlmClient(cfg(), { cacheDir: dir });
    await c.chat({ messages: msgs('p') });
    await c.chat({ messages: msgs('p'), temperature: 0.5 });
    await c.chat({ messages: msgs('p'), maxTokens: 10 });
    await c.chat({ messages: msgs('p'), model: 'other' });
    await c.chat({ messages: msgs('p'), responseFormat: 'json' });
    await c.chat({ messages: [{ role: 'system', content: 'p' }] });
    assert.equal(srv.chatRequests().length, 6);
    await c.chat({ messages: msgs('p') });
    assert.equal(srv.chatRequests().length, 6);
    await c.chat({ messages: msgs('p'), noCache: true });
    assert.equal(srv.chatRequests().length, 7);
  });

  it('errors and truncated answers are never cached', async () => {
    const c = createLlmClient({ ...cfg(), maxRetries: 0 }, { cacheDir: dir });
    srv.enqueue({ status: 500 }, { content: 'cut', finishReason: 'length' });
    await rejectionOf(c.chat({ messages: msgs('p') }));
    const t = await c.chat({ messages: msgs('p') });
    assert.equal(t.finishReason, 'length');
    const ok = await c.chat({ messages: msgs('p') });
    assert.equal(ok.cached, false);
    assert.equal(srv.chatRequests().length, 3);
    await c.chat({ messages: msgs('p') });
    assert.equal(srv.chatRequests().length, 3);
  });

  it('concurrent identical requests are coalesced into one call; one caller cancelling does not cancel the others', async () => {
    const c = createLlmClient(cfg(), { cacheDir: dir });
    srv.enqueue({ content: 'shared', latencyMs: 150 });
    const ac = new AbortController();
    const ps = Array.from({ length: 5 }, (_, i) => c.chat({ messages: msgs('same'), signal: i === 0 ? ac.signal : undefined }));
    setTimeout(() => ac.abort(), 30);
    const rs = await Promise.allSettled(ps);
    assert.equal(rs[0]!.status, 'rejected');
    const texts = rs.slice(1).map((r) => (r as PromiseFulfilledResult<{ text: string }>).value.text);
    assert.deepEqual(texts, ['shared', 'shared', 'shared', 'shared']);
    assert.equal(srv.chatRequests().length, 1);
    assert.equal(c.usage().calls, 1);
  });

  it('an identical call made right after the only caller of a flight cancelled it starts its own request', async () => {
    const c = createLlmClient(cfg());
    srv.enqueue({ hang: true }, { content: 'fresh' });
    const ac = new AbortController();
    const first = c.chat({ messages: msgs('same'), signal: ac.signal });
    while (srv.chatRequests().length === 0) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    const second = c.chat({ messages: msgs('same') });
    assert.equal((await rejectionOf(first)).name, 'CancelledError');
    assert.equal((await second).text, 'fresh');
    assert.equal(srv.chatRequests().length, 2);
  });

  it('forget() drops an entry so the next call asks again', async () => {
    const c = createLlmClient(cfg(), { cacheDir: dir });
    await c.chat({ messages: msgs('p') });
    await c.forget({ messages: msgs('p') });
    await c.chat({ messages: msgs('p') });
    assert.equal(srv.chatRequests().length, 2);
  });

  it('TTL: an expired entry is a miss and is removed', async () => {
    let now = 1_000_000;
    const cache = new DiskCache<string>(dir, { ttlMs: 1000 }, () => now);
    const k = hashKey({ a: 1 });
    await cache.set(k, 'v');
    now += 999;
    assert.equal(await cache.get(k), 'v');
    now += 1001;
    assert.equal(await cache.get(k), undefined);
    assert.deepEqual(await fs.readdir(dir), []);
  });

  it('TTL through the client', async () => {
    const c = createLlmClient(cfg(), { cacheDir: dir, cache: { ttlMs: 100 } });
    await c.chat({ messages: msgs('p') });
    await c.chat({ messages: msgs('p') });
    assert.equal(srv.chatRequests().length, 1);
    await new Promise((r) => setTimeout(r, 150));
    await c.chat({ messages: msgs('p') });
    assert.equal(srv.chatRequests().length, 2);
  });

  it('eviction by entry count removes the least recently used files, also across instances', async () => {
    const cache = new DiskCache<string>(dir, { maxEntries: 3 });
    const keys = Array.from({ length: 5 }, (_, i) => hashKey({ i }));
    for (const k of keys.slice(0, 3)) await cache.set(k, k);
    await cache.get(keys[0]!); // refresh 0: now 1 is the least recent
    await cache.set(keys[3]!, 'x');
    assert.equal(await cache.get(keys[1]!), undefined);
    assert.equal(await cache.get(keys[0]!), keys[0]);
    assert.equal((await fs.readdir(dir)).length, 3);
    const again = new DiskCache<string>(dir, { maxEntries: 3 });
    await again.set(keys[4]!, 'y');
    assert.equal((await fs.readdir(dir)).length, 3);
    assert.equal((await again.stats()).entries, 3);
  });

  it('eviction by bytes keeps the total under maxBytes; an oversize entry is not stored', async () => {
    const cache = new DiskCache<string>(dir, { maxBytes: 2000 });
    for (let i = 0; i < 10; i++) await cache.set(hashKey({ i }), 'z'.repeat(400));
    const files = await fs.readdir(dir);
    let total = 0;
    for (const f of files) total += (await fs.stat(path.join(dir, f))).size;
    assert.ok(total <= 2000, `total ${total}`);
    assert.ok(files.length >= 3);
    await cache.set(hashKey({ big: 1 }), 'b'.repeat(5000));
    assert.equal(await cache.get(hashKey({ big: 1 })), undefined);
  });

  it('a corrupt entry is a miss and is removed', async () => {
    const cache = new DiskCache<string>(dir);
    const k = hashKey({ c: 1 });
    await fs.writeFile(path.join(dir, `${k}.json`), '{not json');
    assert.equal(await cache.get(k), undefined);
    assert.deepEqual(await fs.readdir(dir), []);
  });
});
