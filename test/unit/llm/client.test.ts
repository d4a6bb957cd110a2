import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLlmClient } from '../../../src/core/llm/client';
import { DEFAULT_RETRY, backoffMs, retryAfterMs } from '../../../src/core/llm/retry';
import { costTableWith, knownPrice, unpricedNotes } from '../../../src/core/llm/cost';
import { LlmError } from '../../../src/core/errors';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { KEY, msgs, rejectionOf } from './helpers';

const fast = { retry: { baseDelayMs: 20, maxDelayMs: 100 } };

describe('llm client over real HTTP (loopback fake server)', function () {
  let srv: FakeOpenAIServer;
  beforeEach(async () => {
    srv = await startFakeOpenAI();
  });
  afterEach(async () => {
    await srv.close();
  });

  it('sends the key, injected headers and parameters; waits for scripted latency; accounts usage and cost', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'gpt-4o-mini', headers: { 'x-team': 'core' } });
    srv.enqueue({ content: 'hello', latencyMs: 150, usage: { prompt_tokens: 1000, completion_tokens: 500 } });
    const t0 = Date.now();
    const r = await c.chat({ messages: msgs('hi'), temperature: 0.3, maxTokens: 77 });
    assert.ok(Date.now() - t0 >= 145, 'latency honoured');
    assert.equal(r.text, 'hello');
    assert.equal(r.cached, false);
    assert.deepEqual(r.usage, { promptTokens: 1000, completionTokens: 500, totalTokens: 1500 });
    // gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output
    assert.ok(Math.abs(r.costUsd - (1000 * 0.15 + 500 * 0.6) / 1e6) < 1e-12);
    const rec = srv.chatRequests()[0]!;
    assert.equal(rec.headers.authorization, `Bearer ${KEY}`);
    assert.equal(rec.headers['x-team'], 'core');
    const body = rec.body as Record<string, unknown>;
    assert.equal(body.temperature, 0.3);
    assert.equal(body.max_tokens, 77);
    assert.equal(body.model, 'gpt-4o-mini');
    const u = c.usage();
    assert.equal(u.calls, 1);
    assert.equal(u.promptTokens, 1000);
    assert.equal(u.completionTokens, 500);
  });

  it('estimates tokens when the endpoint sends no usage, and unknown models cost 0', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'some-local-model' });
    srv.enqueue({ content: 'x'.repeat(40), usage: null });
    const r = await c.chat({ messages: msgs('y'.repeat(400)) });
    assert.ok(r.usage.promptTokens >= 100, `prompt estimate ${r.usage.promptTokens}`);
    assert.equal(r.usage.completionTokens, 10);
    assert.equal(r.costUsd, 0);
  });

  it('a custom cost table prices by longest model prefix', async () => {
    const c = createLlmClient(
      { baseUrl: srv.url, apiKey: KEY, model: 'acme-large-2025' },
      { costTable: { acme: { inputPerM: 1, outputPerM: 1 }, 'acme-large': { inputPerM: 10, outputPerM: 20 } } },
    );
    srv.enqueue({ content: 'a', usage: { prompt_tokens: 100_000, completion_tokens: 50_000 } });
    const r = await c.chat({ messages: msgs('q') });
    assert.ok(Math.abs(r.costUsd - 2) < 1e-9, String(r.costUsd));
    assert.ok(Math.abs(c.usage().costUsd - 2) < 1e-9);
  });

  it('costTableWith adds user prices to the list prices; unpricedNotes flags models a cost budget cannot limit', () => {
    const table = costTableWith({ 'house-model': { inputPerM: 0, outputPerM: 0 }, 'gpt-4o-mini': { inputPerM: 1, outputPerM: 2 } });
    assert.deepEqual(knownPrice('gpt-4o-mini-2024-07-18', table), { inputPerM: 1, outputPerM: 2 });
    assert.deepEqual(knownPrice('gpt-4o', table), { inputPerM: 2.5, outputPerM: 10 });
    assert.equal(knownPrice('mystery', table), undefined);
    // a configured price of 0 (a local model) is a known price: no note
    assert.deepEqual(unpricedNotes(['house-model', 'gpt-4o', undefined], 1, table), []);
    const notes = unpricedNotes(['mystery', 'mystery', 'gpt-4o'], 2.5, table);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^No price is known for model mystery: its calls count as \$0, so the cost budget of \$2\.5 does not limit them\. Add its price under pricing: in \.optimizer\/config\.yaml/);
    assert.deepEqual(unpricedNotes(['mystery'], undefined, table), []);
  });

  it('429 with retry-after-ms: retries once and waits what the header asks', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    srv.enqueue({ status: 429, headers: { 'retry-after-ms': '300' } }, { content: 'ok' });
    const r = await c.chat({ messages: msgs('q') });
    assert.equal(r.text, 'ok');
    const [a, b] = srv.chatRequests();
    assert.equal(srv.chatRequests().length, 2);
    assert.ok(b!.receivedAt - a!.receivedAt >= 290, `waited ${b!.receivedAt - a!.receivedAt} ms`);
    assert.equal(c.usage().retries, 1);
    assert.equal(c.usage().calls, 1);
  });

  it('429 with retry-after in seconds is honoured too', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    srv.enqueue({ status: 429, headers: { 'retry-after': '1' } }, { content: 'ok' });
    await c.chat({ messages: msgs('q') });
    const [a, b] = srv.chatRequests();
    assert.ok(b!.receivedAt - a!.receivedAt >= 990, `waited ${b!.receivedAt - a!.receivedAt} ms`);
  });

  it('a retry-after longer than allowed is not waited for: LLM_RATE_LIMITED at once', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { retry: { maxRetryAfterMs: 1000 } });
    srv.enqueue({ status: 429, headers: { 'retry-after': '120' } });
    const t0 = Date.now();
    const e = await rejectionOf(c.chat({ messages: msgs('q') }));
    assert.equal(e.code, 'LLM_RATE_LIMITED');
    assert.match(e.message, /120 s/);
    assert.ok(Date.now() - t0 < 1000);
    assert.equal(srv.chatRequests().length, 1);
  });

  it('500 then success: one retry with backoff', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { retry: { baseDelayMs: 80, maxDelayMs: 1000 } });
    srv.enqueue({ status: 500 }, { content: 'fine' });
    const r = await c.chat({ messages: msgs('q') });
    assert.equal(r.text, 'fine');
    const [a, b] = srv.chatRequests();
    assert.ok(b!.receivedAt - a!.receivedAt >= 38, 'backoff at least half the base delay (jitter)');
    assert.equal(c.usage().retries, 1);
  });

  it('backoff grows exponentially: each retry waits twice the one before (jitter fixed), up to the cap', async () => {
    // A base of 150 ms keeps the doubling (150, 300, 600) well above the scheduling noise of a
    // loaded machine. Each gap at least its delay and under it + 250 ms: a constant or linear
    // backoff fails one of the bounds (600 ≥ 150 + 250; 150 < 600).
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 3 }, { retry: { baseDelayMs: 150, maxDelayMs: 10_000, random: () => 1 } });
    srv.enqueue({ status: 500 }, { status: 502 }, { status: 503 }, { content: 'at last' });
    assert.equal((await c.chat({ messages: msgs('q') })).text, 'at last');
    const at = srv.chatRequests().map((r) => r.receivedAt);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    [150, 300, 600].forEach((d, i) => {
      assert.ok(gaps[i]! >= d - 2, `gap ${i + 1} was ${gaps[i]} ms, expected at least ${d}`);
      assert.ok(gaps[i]! < d + 250, `gap ${i + 1} was ${gaps[i]} ms, expected about ${d}`);
    });
    assert.equal(c.usage().retries, 3);
  });

  it('backoffMs: d = base·2^attempt capped at maxDelayMs, jittered within [d/2, d]', () => {
    const p = { ...DEFAULT_RETRY, baseDelayMs: 100, maxDelayMs: 1000 };
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, p, () => 1)), [100, 200, 400, 800, 1000, 1000]);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffMs(n, p, () => 0)), [50, 100, 200, 400, 500, 500]);
    assert.deepEqual([0, 1, 2].map((n) => backoffMs(n, { ...p, random: () => 0.5 })), [75, 150, 300]);
  });

  it('a 5xx with retry-after is retried after what the header asks, not the (short) backoff', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 2 }, { retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    srv.enqueue({ status: 503, headers: { 'retry-after': '1' } }, { status: 502, headers: { 'retry-after-ms': '250' } }, { content: 'ok' });
    assert.equal((await c.chat({ messages: msgs('q') })).text, 'ok');
    const [a, b, d] = srv.chatRequests().map((r) => r.receivedAt);
    assert.ok(b! - a! >= 990 && b! - a! < 1600, `waited ${b! - a!} ms after the 503`);
    assert.ok(d! - b! >= 245 && d! - b! < 800, `waited ${d! - b!} ms after the 502`);
    assert.equal(c.usage().retries, 2);
  });

  it('retry-after given as an HTTP date: waits until that time', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    // HTTP dates have whole seconds: the next whole second at least 1 s away
    const until = Math.ceil((Date.now() + 1000) / 1000) * 1000;
    srv.enqueue({ status: 429, headers: { 'retry-after': new Date(until).toUTCString() } }, { content: 'ok' });
    await c.chat({ messages: msgs('q') });
    const [a, b] = srv.chatRequests().map((r) => r.receivedAt);
    assert.ok(b! >= until - 5, `retried ${until - b!} ms before the date`);
    assert.ok(b! - a! >= 900 && b! < until + 600, `retried ${b! - until} ms after the date`);
  });

  it('retryAfterMs reads seconds, milliseconds and HTTP dates (a past date means now)', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    assert.equal(retryAfterMs(h({ 'retry-after': 'Wed, 21 Oct 2015 07:28:03 GMT' }), now - 500), 3500);
    assert.equal(retryAfterMs(h({ 'retry-after': 'Wed, 21 Oct 2015 07:27:00 GMT' }), now), 0);
    assert.equal(retryAfterMs(h({ 'retry-after': '7' })), 7000);
    assert.equal(retryAfterMs(h({ 'retry-after-ms': '120', 'retry-after': '7' })), 120);
    assert.equal(retryAfterMs(h({ 'retry-after': 'soon' })), undefined);
  });

  it('persistent 503 gives up after maxRetries with LLM_HTTP and the status', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 2 }, fast);
    srv.enqueue({ status: 503 }, { status: 503 }, { status: 503 }, { content: 'never' });
    const e = await rejectionOf(c.chat({ messages: msgs('q') }));
    assert.ok(e instanceof LlmError);
    assert.equal(e.code, 'LLM_HTTP');
    assert.equal(e.status, 503);
    assert.equal(srv.chatRequests().length, 3);
    assert.equal(c.usage().retries, 2);
  });

  it('400 is not retried', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, fast);
    srv.enqueue({ status: 400, body: { error: { message: 'bad temperature' } } });
    const e = await rejectionOf(c.chat({ messages: msgs('q') }));
    assert.equal(e.code, 'LLM_HTTP');
    assert.match(e.message, /HTTP 400.*bad temperature/);
    assert.equal(srv.chatRequests().length, 1);
  });

  it('times out per request (LLM_TIMEOUT) and the server sees the connection closed', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', timeoutMs: 200, maxRetries: 0 });
    srv.enqueue({ hang: true });
    const t0 = Date.now();
    const e = await rejectionOf(c.chat({ messages: msgs('q') }));
    const took = Date.now() - t0;
    assert.equal(e.code, 'LLM_TIMEOUT');
    assert.match(e.message, /within 200 ms/);
    assert.ok(took >= 190 && took < 1500, `took ${took}`);
    assert.equal(await srv.chatRequests()[0]!.done, 'aborted');
  });

  it('a timed-out attempt is retried', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', timeoutMs: 150, maxRetries: 1 }, fast);
    srv.enqueue({ hang: true }, { content: 'second' });
    assert.equal((await c.chat({ messages: msgs('q') })).text, 'second');
    assert.equal(c.usage().retries, 1);
  });

  it('malformed JSON body → LLM_BAD_RESPONSE (not retried)', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, fast);
    srv.enqueue({ malformed: true });
    const e = await rejectionOf(c.chat({ messages: msgs('q') }));
    assert.equal(e.code, 'LLM_BAD_RESPONSE');
    assert.equal(srv.chatRequests().length, 1);
  });

  it('a destroyed connection is a network error, retried', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 1 }, fast);
    srv.enqueue({ destroy: true }, { destroy: true });
    const e = await rejectionOf(c.chat({ messages: msgs('q') }));
    assert.equal(e.code, 'LLM_NETWORK');
    assert.equal(srv.chatRequests().length, 2);
  });

  it('unreachable endpoint → LLM_NETWORK naming the endpoint', async () => {
    const port = srv.port;
    await srv.close();
    const c = createLlmClient({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: KEY, model: 'm', maxRetries: 0 });
    const e = await rejectionOf(c.chat({ messages: msgs('q') }));
    assert.equal(e.code, 'LLM_NETWORK');
    assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${port}/v1`));
    srv = await startFakeOpenAI();
  });

  it('404 → LLM_MODEL_NOT_FOUND naming the model', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'gpt-nope' });
    srv.enqueue({ status: 404, body: { error: { message: 'The model `gpt-nope` does not exist' } } });
    const e = await rejectionOf(c.chat({ messages: msgs('q') }));
    assert.equal(e.code, 'LLM_MODEL_NOT_FOUND');
    assert.match(e.message, /"gpt-nope"/);
  });

  it('an empty key is refused before any request (LLM_NO_KEY)', () => {
    assert.throws(() => createLlmClient({ baseUrl: srv.url, apiKey: '', model: 'm' }), (e: unknown) => (e as LlmError).code === 'LLM_NO_KEY');
  });

  it('never puts the API key (or header secrets) into errors or log lines', async () => {
    const lines: string[] = [];
    const secretHeader = 'hdr-SECRET-987654321';
    const c = createLlmClient(
      { baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 1, timeoutMs: 150, headers: { 'x-api-key': secretHeader } },
      { ...fast, logger: (level, msg) => lines.push(`${level} ${msg}`) },
    );
    const echo = { error: { message: `Incorrect API key provided: ${KEY} (header ${secretHeader})` } };
    const errors: Error[] = [];
    srv.enqueue({ status: 401, body: echo });
    errors.push(await rejectionOf(c.chat({ messages: msgs('a') })));
    srv.enqueue({ status: 500, body: echo }, { status: 500, body: echo });
    errors.push(await rejectionOf(c.chat({ messages: msgs('b') })));
    srv.enqueue({ status: 400, body: echo });
    errors.push(await rejectionOf(c.chat({ messages: msgs('c') })));
    srv.enqueue({ hang: true }, { hang: true });
    errors.push(await rejectionOf(c.chat({ messages: msgs('d') })));
    assert.equal(errors[0]!.message.includes('refused the API key'), true);
    assert.ok(lines.length >= 4, 'something was logged');
    for (const e of errors) {
      const all = [e.message, String(e), e.stack ?? '', JSON.stringify(e), JSON.stringify((e as { cause?: unknown }).cause ?? null)].join('\n');
      assert.ok(!all.includes(KEY), `key leaked in: ${all}`);
      assert.ok(!all.includes(secretHeader), `header secret leaked in: ${all}`);
    }
    for (const l of lines) {
      assert.ok(!l.includes(KEY) && !l.includes(secretHeader), `leak in log line: ${l}`);
    }
  });

  it('honours the concurrency limit', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', concurrency: 3 });
    srv.enqueue(...Array.from({ length: 10 }, () => ({ content: 'x', latencyMs: 60 })));
    await Promise.all(Array.from({ length: 10 }, (_, i) => c.chat({ messages: msgs(`q${i}`) })));
    assert.equal(srv.maxInFlight, 3);
    assert.equal(srv.chatRequests().length, 10);
  });

  it('aborting a request in flight rejects within 100 ms and closes the connection', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' });
    srv.enqueue({ hang: true });
    const ac = new AbortController();
    const p = c.chat({ messages: msgs('q'), signal: ac.signal });
    while (srv.chatRequests().length === 0) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    ac.abort();
    const e = await rejectionOf(p);
    assert.ok(Date.now() - t0 < 100, `rejected after ${Date.now() - t0} ms`);
    assert.equal(e.name, 'CancelledError');
    const outcome = await Promise.race([srv.chatRequests()[0]!.done, new Promise((r) => setTimeout(() => r('still open'), 500))]);
    assert.equal(outcome, 'aborted');
    assert.equal(c.usage().calls, 0);
  });

  it('an answer that arrives as its caller cancels is still returned (the call was made), and counted', async () => {
    const ac = new AbortController();
    // the whole answer has arrived when the caller cancels, before the client has read it
    const fetchThenCancel: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const body = await res.text();
      ac.abort();
      return new Response(body, { status: res.status, headers: res.headers });
    };
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' }, { fetch: fetchThenCancel });
    srv.enqueue({ content: 'arrived' });
    const r = await c.chat({ messages: msgs('q'), signal: ac.signal });
    assert.equal(r.text, 'arrived');
    assert.equal(c.usage().calls, 1);
    // a new call with the aborted signal is not sent
    assert.equal((await rejectionOf(c.chat({ messages: msgs('q2'), signal: ac.signal }))).name, 'CancelledError');
    assert.equal(srv.chatRequests().length, 1);
  });

  it('an answer whose body is still arriving when the caller cancels is read to the end', async () => {
    const body = JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'slow but whole' }, finish_reason: 'stop' }] });
    const slow = http.createServer((_req, res) => {
      _req.resume();
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.write(body.slice(0, 20));
      setTimeout(() => res.end(body.slice(20)), 150);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    try {
      const ac = new AbortController();
      const cancelOnHeaders: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        setTimeout(() => ac.abort(), 20);
        return res;
      };
      const c = createLlmClient({ baseUrl: `http://127.0.0.1:${(slow.address() as AddressInfo).port}/v1`, apiKey: KEY, model: 'm' }, { fetch: cancelOnHeaders });
      const r = await c.chat({ messages: msgs('q'), signal: ac.signal });
      assert.ok(ac.signal.aborted);
      assert.equal(r.text, 'slow but whole');
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });

  it('a queued request that is cancelled leaves the queue at once and never reaches the server', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', concurrency: 1 });
    srv.enqueue({ content: 'first', latencyMs: 300 }, { content: 'third' });
    const first = c.chat({ messages: msgs('1') });
    const ac = new AbortController();
    const second = c.chat({ messages: msgs('2'), signal: ac.signal });
    const third = c.chat({ messages: msgs('3') });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    ac.abort();
    const e = await rejectionOf(second);
    assert.ok(Date.now() - t0 < 50);
    assert.equal(e.name, 'CancelledError');
    assert.equal((await first).text, 'first');
    assert.equal((await third).text, 'third');
    const sent = srv.chatRequests().map((r) => (r.body as { messages: Array<{ content: string }> }).messages[0]!.content);
    assert.deepEqual(sent, ['1', '3']);
  });

  it('an already-aborted signal sends nothing', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm' });
    const e = await rejectionOf(c.chat({ messages: msgs('q'), signal: AbortSignal.abort() }));
    assert.equal(e.name, 'CancelledError');
    assert.equal(srv.requests.length, 0);
  });

  it('embeddings: through the same client, deterministic vectors in input order', async () => {
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', embeddingModel: 'fake-embedding' });
    const v = await c.embed({ input: ['the cat sat', 'the cat sat', 'quantum flux'] });
    assert.equal(v.length, 3);
    assert.deepEqual(v[0], v[1]);
    assert.notDeepEqual(v[0], v[2]);
    assert.equal((srv.requests[0]!.body as { model: string }).model, 'fake-embedding');
    assert.equal(c.usage().calls, 1);
  });
});
