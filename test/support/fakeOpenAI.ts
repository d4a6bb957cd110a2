/**
 * TEST DOUBLE: an OpenAI-compatible HTTP server of our own, listening on 127.0.0.1 (random port),
 * for tests, benchmarks and offline demos. It is not a model: its default answers are
 * deterministic string transforms, and numbers obtained with it must never be presented as
 * real-model results.
 *
 * Serves `POST /v1/chat/completions` (JSON, or SSE when `stream: true`), `POST /v1/embeddings`
 * and `GET /v1/models`. Behaviour per chat request, first match wins:
 *   1. the next reply queued with `srv.enqueue(...)` (FIFO),
 *   2. `opts.handler(req, ctx)`,
 *   3. the default: a deterministic "rewriter" that answers the LLM strategies' JSON format by
 *      improving the prompt block (keeping every `[[VAR_n]]` placeholder), or an echo otherwise.
 * A reply is `{content, finishReason?, usage?, latencyMs?}`, `{status, body?, headers?}`,
 * `{hang: true}`, `{malformed: true}` or `{destroy: true}`.
 *
 * Plain Node (node:http), no test-framework dependency: VS Code integration tests, Playwright
 * demos and benchmarks import it from `out/test/support/fakeOpenAI.js` (or `./index.js`).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROMPT_CLOSE, PROMPT_OPEN, extractPromptBlock } from '../../src/core/strategies/llmPrompts';

export interface ParsedChatMessage {
  role: string;
  content: string;
}

/** A chat request as the server received it. */
export interface ParsedChatRequest {
  model: string;
  messages: ParsedChatMessage[];
  temperature?: number;
  max_tokens?: number;
  response_format?: { type: string };
  stream?: boolean;
  /** The whole JSON body. */
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

export interface ScriptedUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

/** A normal answer. `usage: null` leaves usage out of the response. */
export interface ContentReply {
  content: string;
  /** Tool calls of the answer (OpenAI's message.tool_calls), for requests with tools. */
  toolCalls?: Array<{ id?: string; name: string; arguments: string }>;
  finishReason?: string;
  usage?: ScriptedUsage | null;
  latencyMs?: number;
  model?: string;
}
/** An HTTP error (or any status) with an optional JSON body and headers such as retry-after. */
export interface StatusReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  latencyMs?: number;
}
/** Never answers (until the client gives up or the server closes). */
export interface HangReply {
  hang: true;
}
/** 200 with a body that is not valid JSON. */
export interface MalformedReply {
  malformed: true;
  latencyMs?: number;
}
/** Destroys the socket without an answer. */
export interface DestroyReply {
  destroy: true;
  latencyMs?: number;
}
export type ScriptedReply = ContentReply | StatusReply | HangReply | MalformedReply | DestroyReply;

export interface HandlerContext {
  /** 0-based index of this chat request among all chat requests received. */
  index: number;
  /** Aborts when the client closes the connection. */
  signal: AbortSignal;
  /** What the server would answer by default (the deterministic rewriter or echo). */
  defaultReply(): ContentReply;
}

export type RequestOutcome = 'answered' | 'aborted' | 'destroyed';

export interface RecordedRequest {
  id: number;
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body, the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
  receivedAt: number;
  endedAt?: number;
  outcome?: RequestOutcome;
  /** Settles when the exchange ends: answered, aborted by the client (connection closed first), or destroyed by the server. */
  done: Promise<RequestOutcome>;
}

export interface FakeOpenAIOptions {
  handler?: (req: ParsedChatRequest, ctx: HandlerContext) => ScriptedReply | Promise<ScriptedReply>;
  /** Embedding function; default: `hashEmbedding` with `embeddingDims`. */
  embed?: (texts: string[]) => number[][];
  embeddingDims?: number;
  /** Ids listed by GET /v1/models. */
  models?: string[];
  /** Latency added to every default answer (ms). */
  latencyMs?: number;
}

export interface FakeOpenAIServer {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:43123/v1`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /** Chat completion requests only. */
  chatRequests(): RecordedRequest[];
  /** Queues replies for the next chat requests (FIFO, before the handler). */
  enqueue(...replies: ScriptedReply[]): void;
  /** Requests being handled right now, and the most seen at once. */
  readonly inFlight: number;
  readonly maxInFlight: number;
  /** Clears the log, the queue and the counters. */
  reset(): void;
  /** Stops listening and destroys open connections (hanging requests included). */
  close(): Promise<void>;
}

const CJK_RE = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/g;

function isMostlyCjk(text: string): boolean {
  const t = text.replace(/\[\[VAR_\d+\]\]/g, '');
  const letters = t.match(/\p{L}/gu)?.length ?? 0;
  return letters > 0 && (t.match(CJK_RE)?.length ?? 0) / letters >= 0.3;
}

const FILLERS: Array<[RegExp, string]> = [
  [/\b(very|really|basically|just|actually) /g, ''],
  [/\bin order to\b/g, 'to'],
  [/\bmake sure to\b/g, ''],
];

/**
 * The default rewriter: a deterministic "improvement" of a prompt for tests and demos. Keeps
 * placeholders and markdown, trims trailing spaces, collapses runs of blank lines, drops a few
 * English filler words, adds a `## Task` header when the prompt has none and an output section
 * when missing (in Chinese for Chinese prompts). Applying it twice changes nothing more.
 */
export function rewritePromptDeterministically(text: string): { prompt: string; changes: string[] } {
  const zh = isMostlyCjk(text);
  const changes: string[] = [];
  let out = text
    .split('\n')
    .map((l) => l.replace(/[ \t]+$/, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  if (out !== text.trim()) changes.push('normalised whitespace');
  if (!zh) {
    const before = out;
    for (const [re, rep] of FILLERS) out = out.replace(re, rep);
    if (out !== before) changes.push('removed filler words');
  }
  if (!/^#{1,6} /m.test(out)) {
    out = `${zh ? '## 任务' : '## Task'}\n${out}`;
    changes.push('added a task header');
  }
  if (!/^#{1,6} (Output|输出)/m.test(out)) {
    out += zh ? '\n\n## 输出\n按上述要求作答，简洁、具体。' : '\n\n## Output\nAnswer as specified above; be concise and specific.';
    changes.push('added an output section');
  }
  return { prompt: out, changes };
}

/** Hashing bag-of-words embedding (words, and single CJK characters), L2-normalised. Deterministic. */
export function hashEmbedding(text: string, dims = 64): number[] {
  const v = new Array<number>(dims).fill(0);
  const tokens = [
    ...(text.toLowerCase().replace(CJK_RE, ' ').match(/[\p{L}\p{N}_]+/gu) ?? []),
    ...(text.match(CJK_RE) ?? []),
  ];
  for (const t of tokens) {
    let h = 0x811c9dc5;
    for (let i = 0; i < t.length; i++) {
      h ^= t.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    v[h % dims]! += (h & 0x80000000) !== 0 ? -1 : 1;
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm ? v.map((x) => x / norm) : v;
}

function estimate(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** The default answer to a chat request: the rewriter for strategy requests, an echo otherwise. */
export function defaultChatReply(req: ParsedChatRequest): ContentReply {
  const lastUser = [...req.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const block = extractPromptBlock(lastUser);
  if (block !== undefined) {
    const { prompt, changes } = rewritePromptDeterministically(block);
    const content = JSON.stringify({
      prompt,
      rationale: changes.length
        ? `Deterministic test rewriter (not a model): ${changes.join(', ')}.`
        : 'Deterministic test rewriter (not a model): nothing to change.',
      confidence: changes.length ? 0.8 : 0.5,
      changes,
    });
    return { content };
  }
  const echo = lastUser.replace(/\s+/g, ' ').trim().slice(0, 200);
  return { content: req.response_format?.type === 'json_object' ? JSON.stringify({ echo }) : `echo: ${echo}` };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0 || signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Starts the server on 127.0.0.1 with a random port. */
export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAIServer> {
  const requests: RecordedRequest[] = [];
  let queue: ScriptedReply[] = [];
  let chatIndex = 0;
  let nextId = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  const dims = opts.embeddingDims ?? 64;
  const embed = opts.embed ?? ((texts: string[]) => texts.map((t) => hashEmbedding(t, dims)));

  const server = http.createServer((req, res) => {
    void handle(req, res);
  });
  server.keepAliveTimeout = 30_000;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const controller = new AbortController();
    let settle!: (o: RequestOutcome) => void;
    const rec: RecordedRequest = {
      id: nextId++,
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0]!,
      headers: req.headers,
      body: undefined,
      receivedAt: Date.now(),
      done: new Promise<RequestOutcome>((r) => (settle = r)),
    };
    requests.push(rec);
    let finished = false;
    const finish = (o: RequestOutcome) => {
      if (finished) return;
      finished = true;
      inFlight -= 1;
      rec.outcome = o;
      rec.endedAt = Date.now();
      settle(o);
    };
    res.on('close', () => {
      if (!res.writableFinished) {
        controller.abort();
        finish(rec.outcome === 'destroyed' ? 'destroyed' : 'aborted');
      } else finish('answered');
    });
    try {
      const text = await readBody(req);
      if (text) {
        try {
          rec.body = JSON.parse(text);
        } catch {
          rec.body = text;
        }
      }
      await route(rec, res, controller.signal);
    } catch (e) {
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: { message: `fake server error: ${String(e)}`, type: 'server_error' } });
    }
  }

  function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const data = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers });
    res.end(data);
  }

  async function route(rec: RecordedRequest, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
    const p = rec.path.replace(/\/+$/, '');
    if (rec.method === 'GET' && p === '/v1/models') {
      const ids = opts.models ?? ['fake-model', 'fake-embedding'];
      return sendJson(res, 200, { object: 'list', data: ids.map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })) });
    }
    if (rec.method === 'POST' && p === '/v1/embeddings') {
      const b = (rec.body ?? {}) as { input?: unknown; model?: string };
      const input = typeof b.input === 'string' ? [b.input] : Array.isArray(b.input) ? b.input.map(String) : [];
      const vectors = embed(input);
      return sendJson(res, 200, {
        object: 'list',
        model: b.model ?? 'fake-embedding',
        data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
        usage: { prompt_tokens: input.reduce((n, t) => n + estimate(t), 0), total_tokens: input.reduce((n, t) => n + estimate(t), 0) },
      });
    }
    if (rec.method === 'POST' && p === '/v1/chat/completions') return chat(rec, res, signal);
    return sendJson(res, 404, { error: { message: `Unknown route ${rec.method} ${rec.path}`, type: 'invalid_request_error' } });
  }

  async function chat(rec: RecordedRequest, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
    const body = (rec.body && typeof rec.body === 'object' ? rec.body : {}) as Record<string, unknown>;
    const parsed: ParsedChatRequest = {
      model: String(body.model ?? ''),
      messages: Array.isArray(body.messages)
        ? (body.messages as Array<{ role?: unknown; content?: unknown }>).map((m) => ({
            role: String(m.role ?? ''),
            content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? ''),
          }))
        : [],
      temperature: typeof body.temperature === 'number' ? body.temperature : undefined,
      max_tokens: typeof body.max_tokens === 'number' ? body.max_tokens : undefined,
      response_format: body.response_format as { type: string } | undefined,
      stream: body.stream === true,
      body,
      headers: rec.headers,
    };
    const index = chatIndex++;
    const ctx: HandlerContext = { index, signal, defaultReply: () => defaultChatReply(parsed) };
    let reply: ScriptedReply;
    if (queue.length) reply = queue.shift()!;
    else if (opts.handler) reply = await opts.handler(parsed, ctx);
    else reply = { ...defaultChatReply(parsed), latencyMs: opts.latencyMs };

    if ('hang' in reply) return; // never answer; 'close' records the outcome
    await delay(reply.latencyMs ?? 0, signal);
    if (signal.aborted) return;
    if ('destroy' in reply) {
      rec.outcome = 'destroyed';
      res.socket?.destroy();
      return;
    }
    if ('malformed' in reply) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "chatcmpl-broken", "choices": [{"message": {"content": "unterminated');
      return;
    }
    if ('status' in reply) {
      return sendJson(
        res,
        reply.status,
        reply.body ?? { error: { message: `scripted HTTP ${reply.status}`, type: reply.status >= 500 ? 'server_error' : 'invalid_request_error' } },
        reply.headers,
      );
    }
    const model = reply.model ?? (parsed.model || 'fake-model');
    const promptTokens = parsed.messages.reduce((n, m) => n + estimate(m.content), 0);
    const usage =
      reply.usage === null
        ? undefined
        : (() => {
            const u = reply.usage ?? { prompt_tokens: promptTokens, completion_tokens: estimate(reply.content) };
            return { ...u, total_tokens: u.prompt_tokens + u.completion_tokens };
          })();
    const id = `chatcmpl-fake-${rec.id}`;
    const created = Math.floor(Date.now() / 1000);
    const finish = reply.finishReason ?? 'stop';
    if (parsed.stream) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      const pieces = reply.content.match(/[\s\S]{1,16}/g) ?? [''];
      const chunk = (delta: Record<string, unknown>, finishReason: string | null, extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }], ...extra })}\n\n`;
      res.write(chunk({ role: 'assistant', content: '' }, null));
      for (const p of pieces) res.write(chunk({ content: p }, null));
      const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      res.write(chunk({}, finish, includeUsage && usage ? { usage } : {}));
      res.end('data: [DONE]\n\n');
      return;
    }
    sendJson(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: reply.content,
            refusal: null,
            ...(reply.toolCalls?.length ? { tool_calls: reply.toolCalls.map((c, i) => ({ id: c.id ?? `call_${i}`, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
          },
          finish_reason: reply.toolCalls?.length && finish === 'stop' ? 'tool_calls' : finish,
          logprobs: null,
        },
      ],
      ...(usage ? { usage } : {}),
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    chatRequests: () => requests.filter((r) => r.path.replace(/\/+$/, '') === '/v1/chat/completions'),
    enqueue: (...replies) => {
      queue.push(...replies);
    },
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
    reset() {
      requests.length = 0;
      queue = [];
      chatIndex = 0;
      maxInFlight = inFlight;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export { PROMPT_OPEN, PROMPT_CLOSE };
