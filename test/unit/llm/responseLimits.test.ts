/**
 * Answers without an end (issue 19 item 3): the client's deadline covers the whole answer, body
 * included, and its size is bounded, on every path (chat, embeddings, a streamed body, the
 * local-server probe, the editor models' text stream). Real HTTP on 127.0.0.1 against
 * test/support/endlessServer.ts, which stops by itself after a few seconds or 400 MB.
 */
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLlmClient } from '../../../src/core/llm/client';
import { ResponseLimitError, boundedFetch, readBoundedText } from '../../../src/core/llm/bounded';
import { probeLocalServers } from '../../../src/core/llm/localServers';
import { CancelledError } from '../../../src/core/errors';
import { startEndlessServer, type EndlessServer } from '../../support/endlessServer';
import { KEY, msgs, rejectionOf } from './helpers';

const MB = 1024 * 1024;

/** Runs `fn` and reports the elapsed time and how far RSS rose above where it started (sampled every 20 ms). */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number; rssGrowthMb: number }> {
  global.gc?.();
  const base = process.memoryUsage().rss;
  let peak = base;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const t0 = Date.now();
  try {
    const value = await fn();
    return { value, ms: Date.now() - t0, rssGrowthMb: (Math.max(peak, process.memoryUsage().rss) - base) / MB };
  } finally {
    clearInterval(t);
  }
}

describe('LLM response limits: a deadline covering the body, and a size limit', function () {
  this.timeout(60_000);
  let srv: EndlessServer | undefined;
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
  });

  it('chat: an endless chunked body is cut off at the size limit (default 8 MB), fast, with RSS bounded', async () => {
    srv = await startEndlessServer('endless');
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 0 });
    const { value: e, ms, rssGrowthMb } = await measured(() => rejectionOf(c.chat({ messages: msgs('hi') })));
    assert.equal(e.code, 'LLM_RESPONSE_TOO_LARGE', e.message);
    assert.match(e.message, /larger than 8 MB/);
    assert.match(e.message, /model\.max_response_mb/);
    assert.ok(ms < 5_000, `took ${ms} ms`);
    assert.ok(rssGrowthMb < 300, `RSS grew ${rssGrowthMb.toFixed(0)} MB`);
    assert.ok(srv.bytesSent < 64 * MB, `the server wrote ${srv.bytesSent} bytes: the client kept reading`);
  });

  it('chat: a 200 MB body (content-length) is refused before it is read; the limit is configurable', async () => {
    srv = await startEndlessServer('huge');
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 0, maxResponseBytes: 2 * MB });
    const { value: e, ms, rssGrowthMb } = await measured(() => rejectionOf(c.chat({ messages: msgs('hi') })));
    assert.equal(e.code, 'LLM_RESPONSE_TOO_LARGE', e.message);
    assert.match(e.message, /larger than 2 MB/);
    assert.ok(ms < 3_000, `took ${ms} ms`);
    assert.ok(rssGrowthMb < 300, `RSS grew ${rssGrowthMb.toFixed(0)} MB`);
  });

  it('chat: a body that trickles without end fails at the deadline of each attempt; the message gives attempts and the whole time', async () => {
    srv = await startEndlessServer('trickle', { stopAfterMs: 15_000 });
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', timeoutMs: 1_000, maxRetries: 1 }, { retry: { baseDelayMs: 10, maxDelayMs: 10 } });
    const { value: e, ms } = await measured(() => rejectionOf(c.chat({ messages: msgs('hi') })));
    assert.equal(e.code, 'LLM_TIMEOUT', e.message);
    assert.equal(srv.requests, 2);
    assert.ok(ms >= 1_900 && ms < 5_000, `took ${ms} ms`);
    assert.match(e.message, /did not end within 1(\.0)? s \(the limit of one attempt, body included; \d+ bytes had arrived\)/);
    assert.match(e.message, /Gave up after 2 attempts, \d(\.\d)? s\./);
    assert.match(e.message, /model\.timeout_seconds/);
    assert.match(e.message, /model\.max_retries/);
  });

  it('embeddings: the same limits apply', async () => {
    srv = await startEndlessServer('endless');
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 0, maxResponseBytes: 1 * MB });
    const { value: e, rssGrowthMb } = await measured(() => rejectionOf(c.embed({ input: ['a', 'b'] })));
    assert.equal(e.code, 'LLM_RESPONSE_TOO_LARGE', e.message);
    assert.ok(rssGrowthMb < 300, `RSS grew ${rssGrowthMb.toFixed(0)} MB`);
  });

  it('a streamed body read chunk by chunk (SSE): cut off at the size limit, and at the deadline', async () => {
    srv = await startEndlessServer('endless');
    const f = boundedFetch(fetch, { timeoutMs: 30_000, maxBytes: 4 * MB });
    const res = await f(`${srv.url}/chat/completions`, { method: 'POST', body: '{"stream":true}' });
    let got = 0;
    const e = await rejectionOf(
      (async () => {
        for await (const part of res.body!) got += (part as Uint8Array).byteLength;
      })(),
    );
    assert.ok(e instanceof ResponseLimitError && e.kind === 'size', String(e));
    assert.ok(got <= 4 * MB, `read ${got} bytes`);
    await srv.close();

    srv = await startEndlessServer('trickle');
    const g = boundedFetch(fetch, { timeoutMs: 700, maxBytes: 4 * MB });
    const t0 = Date.now();
    const res2 = await g(`${srv.url}/chat/completions`, { method: 'POST', body: '{"stream":true}' });
    const e2 = await rejectionOf(
      (async () => {
        for await (const _ of res2.body!) void _;
      })(),
    );
    assert.ok(e2 instanceof ResponseLimitError && e2.kind === 'deadline', String(e2));
    assert.ok(Date.now() - t0 < 2_000);
  });

  it('a cancel by the caller still cancels (not taken for a limit)', async () => {
    srv = await startEndlessServer('trickle');
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', maxRetries: 0, timeoutMs: 10_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const t0 = Date.now();
    const e = await rejectionOf(c.chat({ messages: msgs('hi'), signal: ac.signal }));
    assert.ok(e instanceof CancelledError, `${e.name}: ${e.message}`);
    assert.ok(Date.now() - t0 < 7_000);
  });

  it('the local server probe: a port whose /v1/models answer is endless or too large is not listed, and the probe ends in time', async () => {
    srv = await startEndlessServer('endless');
    const { value: found, ms, rssGrowthMb } = await measured(() => probeLocalServers({ servers: [{ name: 'Endless', port: srv!.port }], timeoutMs: 3_000 }));
    assert.deepEqual(found, []);
    assert.ok(ms < 2_500, `took ${ms} ms: the body was read past the limit`);
    assert.ok(rssGrowthMb < 300, `RSS grew ${rssGrowthMb.toFixed(0)} MB`);

    // A valid model list, but 3 MB of it: not a local model server's answer.
    const ids = Array.from({ length: 60_000 }, (_, i) => ({ id: `model-${i}-${'x'.repeat(30)}` }));
    const big = JSON.stringify({ data: ids });
    assert.ok(big.length > 2 * MB);
    const plain = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(big);
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const port = (plain.address() as AddressInfo).port;
      assert.deepEqual(await probeLocalServers({ servers: [{ name: 'Big', port }], timeoutMs: 3_000 }), []);
      assert.equal((await probeLocalServers({ servers: [{ name: 'Big', port }], timeoutMs: 3_000, maxBytes: 8 * MB }))[0]?.models.length, 60_000);
    } finally {
      await new Promise<void>((r) => plain.close(() => r()));
    }
  });
});

describe('readBoundedText (the editor models’ streamed text)', () => {
  const abortError = () => new CancelledError('The LLM request was cancelled.');

  it('stops an endless stream at the size limit and cancels the producer', async () => {
    let stopped = 0;
    async function* endless() {
      for (;;) {
        await new Promise((r) => setImmediate(r));
        yield 'x'.repeat(16 * 1024);
      }
    }
    const e = await rejectionOf(readBoundedText(endless(), { timeoutMs: 30_000, maxBytes: 1 * MB, onStop: () => stopped++, abortError }));
    assert.ok(e instanceof ResponseLimitError && e.kind === 'size', String(e));
    assert.equal(stopped, 1);
  });

  it('stops a stream that never ends at the deadline, even one that never yields to the event loop', async () => {
    async function* slow() {
      for (;;) {
        await new Promise((r) => setTimeout(r, 50));
        yield 'a';
      }
    }
    const t0 = Date.now();
    const e = await rejectionOf(readBoundedText(slow(), { timeoutMs: 300, maxBytes: MB, abortError }));
    assert.ok(e instanceof ResponseLimitError && e.kind === 'deadline', String(e));
    assert.ok(Date.now() - t0 < 1_000);
    async function* hot() {
      for (;;) yield 'b';
    }
    const e2 = await rejectionOf(readBoundedText(hot(), { timeoutMs: 200, maxBytes: 10 ** 12, abortError }));
    assert.ok(e2 instanceof ResponseLimitError && e2.kind === 'deadline', String(e2));
  });

  it('returns the text of a stream that ends; a cancel rejects with the caller’s error', async () => {
    async function* two() {
      yield 'he';
      yield 'llo';
    }
    assert.equal(await readBoundedText(two(), { timeoutMs: 1_000, maxBytes: 100, abortError }), 'hello');
    const ac = new AbortController();
    async function* never() {
      await new Promise(() => undefined);
      yield '';
    }
    setTimeout(() => ac.abort(), 50);
    const e = await rejectionOf(readBoundedText(never(), { timeoutMs: 5_000, maxBytes: 100, signal: ac.signal, abortError }));
    assert.ok(e instanceof CancelledError);
  });
});
