import * as z from 'zod';
import { CancelledError, LlmError } from '../errors';
import { BudgetTracker, type Reservation } from './budget';
import { DiskCache, hashKey, type CacheLimits } from './cache';
import { DEFAULT_COST_TABLE, costOf, estimateMessagesTokens, estimateTokens, knownPrice, priceFor, type CostTable } from './cost';
import { Limiter } from './limiter';
import { DEFAULT_RETRY, backoffMs, gaveUpError, sleep, type RetryPolicy } from './retry';
import type { Budget, ChatMessage, ChatRequest, ChatResponse, EmbedRequest, LlmClient, LlmUsageTotals, Spend, TokenUsage, ToolCall } from './types';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LlmLogger = (level: LogLevel, msg: string) => void;

/** What a transport answered for one chat attempt. */
export interface TransportAnswer {
  text: string;
  toolCalls?: ToolCall[];
  finishReason: string;
  /** Token counts the backend reported (either may be missing: the pipeline estimates it). */
  usage?: { promptTokens?: number; completionTokens?: number };
  /** The model that answered, when the backend says. */
  model?: string;
}

/** A failure of one attempt, as the transport classifies it. */
export interface Classified {
  error: LlmError | CancelledError;
  retryable: boolean;
  /** How long the backend asked to wait before another attempt (ms), when it said. */
  retryAfterMs?: number;
}

/**
 * How one backend reaches a model: the openai SDK over HTTP (client.ts) or VS Code's language
 * models (the extension's vscode.lm backend). Everything else — cache, in-flight sharing,
 * budget, concurrency, retries, accounting — is the pipeline's, the same for every backend.
 */
export interface LlmTransport {
  /** Names the backend in messages and logs and keys the cache (no credentials). */
  readonly label: string;
  /** The model used when a request names none. */
  readonly defaultModel: string;
  /** Every request goes to defaultModel, whatever model it names (a backend bound to one model, e.g. an editor model). */
  readonly fixedModel?: boolean;
  /** One chat attempt; `maxTokens` is the cap to send (undefined: none). Rejects with anything; `classify` maps it. */
  chat(req: ChatRequest, model: string, maxTokens: number | undefined, signal: AbortSignal): Promise<TransportAnswer>;
  /** One embedding attempt; absent when the backend has none (embed() then fails with LLM_NO_EMBEDDINGS). */
  embed?(input: string[], model: string, signal: AbortSignal): Promise<{ vectors: number[][]; tokens?: number }>;
  /** The default embedding model (embed only). */
  readonly defaultEmbeddingModel?: string;
  /** Why embed() is missing, in plain words (shown when something needs embeddings). */
  readonly noEmbeddingsReason?: string;
  /** Tokens of `messages` with the model's own tokenizer; the pipeline estimates when absent or failing. */
  countTokens?(messages: ChatMessage[], model: string, signal: AbortSignal): Promise<number>;
  /** Tokens of one answer with the model's own tokenizer (when the backend reports no usage). */
  countText?(text: string, model: string, signal: AbortSignal): Promise<number>;
  /** Maps whatever an attempt threw to a typed error, and says whether another attempt may succeed. */
  classify(raw: unknown, model: string): Classified;
}

export interface PipelineOptions {
  /** Directory of the on-disk response cache, e.g. `<ws>/.optimizer/cache/llm`. No cache when absent. */
  cacheDir?: string;
  cache?: CacheLimits;
  budget?: Budget;
  /** USD per 1M tokens by model; defaults to DEFAULT_COST_TABLE (unknown models cost 0 and are logged as "cost unknown"). */
  costTable?: CostTable;
  /** Receives one line per attempt, retry and failure (already free of secrets). */
  log?: LlmLogger;
  retry?: Partial<RetryPolicy>;
  /** Concurrent requests (default 4). */
  concurrency?: number;
  /** max_tokens sent with a request that sets none while a token/cost budget is set. Default 1024. */
  defaultCompletionReserve?: number;
}

/** Cached form of a chat answer. */
interface CachedChat {
  text: string;
  toolCalls?: ToolCall[];
  finishReason: string;
  usage: TokenUsage;
  model: string;
}

const tokenCount = z.number().finite().nonnegative();
/** What a cached chat answer must hold to be used (checked on every read, see DiskCache). */
const cachedChatSchema: z.ZodType<CachedChat> = z.object({
  text: z.string(),
  toolCalls: z.array(z.object({ id: z.string(), name: z.string(), arguments: z.string() })).optional(),
  finishReason: z.string(),
  usage: z.object({ promptTokens: tokenCount, completionTokens: tokenCount, totalTokens: tokenCount }),
  model: z.string(),
});
const cachedEmbedSchema: z.ZodType<number[][]> = z.array(z.array(z.number().finite()));

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
  /** Takes it out of the in-flight map, so a new identical call starts its own flight. */
  detach(): void;
}

const DEFAULT_CONCURRENCY = 4;

export type PipelineClient = LlmClient & {
  /** Removes a cached answer (e.g. one that failed validation) so the next identical call asks again. */
  forget(req: ChatRequest): Promise<void>;
};

/**
 * An LlmClient over any transport. Per call: response cache (read) → identical in-flight call
 * joined → budget reserved (refused before sending when it would not fit) → a concurrency slot
 * (FIFO; a cancelled waiter leaves at once) → attempts, retried when the transport classifies
 * the failure as retryable, with exponential backoff and jitter or the wait the backend asked
 * for → usage and cost accounted → answer cached (only finished, successful answers).
 *
 * Under a token or cost budget every chat request carries a max_tokens capped to what remains
 * of the budget after its prompt (see BudgetTracker.reserveChat), so answers cannot overrun it.
 */
export function createPipelineClient(transport: LlmTransport, opts: PipelineOptions = {}): PipelineClient {
  const endpoint = transport.label;
  const log: LlmLogger = opts.log ?? (() => undefined);
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry };
  const limiter = new Limiter(opts.concurrency ?? DEFAULT_CONCURRENCY);
  const budget = new BudgetTracker(opts.budget);
  const costTable = opts.costTable ?? DEFAULT_COST_TABLE;
  const completionReserve = opts.defaultCompletionReserve ?? 1024;
  const cacheWarn = (msg: string) => log('warn', msg);
  const chatCache = opts.cacheDir ? new DiskCache<CachedChat>(opts.cacheDir, opts.cache, undefined, { schema: cachedChatSchema, onWarning: cacheWarn }) : undefined;
  const embedCache = opts.cacheDir ? new DiskCache<number[][]>(opts.cacheDir, opts.cache, undefined, { schema: cachedEmbedSchema, onWarning: cacheWarn }) : undefined;
  const totals: LlmUsageTotals = { calls: 0, cachedCalls: 0, retries: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  const chatFlights = new Map<string, Flight<ChatResponse>>();
  const sendListeners = new Set<() => void | Promise<void>>();
  const embedFlights = new Map<string, Flight<number[][]>>();

  const modelOf = (req: ChatRequest) => (transport.fixedModel ? transport.defaultModel : (req.model ?? transport.defaultModel));
  const chatKey = (req: ChatRequest, model: string) =>
    hashKey({
      kind: 'chat',
      endpoint,
      model,
      temperature: req.temperature,
      maxTokens: req.maxTokens,
      responseFormat: req.responseFormat ?? 'text',
      // Absent fields leave the key of a request without them as it always was.
      jsonSchema: req.jsonSchema,
      topP: req.topP,
      presencePenalty: req.presencePenalty,
      frequencyPenalty: req.frequencyPenalty,
      tools: req.tools,
      toolChoice: req.toolChoice,
      messages: req.messages.map((m) => (m.toolCalls || m.toolCallId ? { role: m.role, content: m.content, toolCalls: m.toolCalls, toolCallId: m.toolCallId } : { role: m.role, content: m.content })),
    });

  /** Runs `attempt` with retries; the budget reservation is settled here on failure. */
  async function withRetries<T>(what: string, model: string, signal: AbortSignal, reservation: Reservation, attempt: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let sent = false;
    let release: (() => void) | undefined;
    try {
      release = await limiter.acquire(signal);
      const started = Date.now();
      for (let n = 0; ; n++) {
        if (signal.aborted) throw new CancelledError('The LLM request was cancelled.');
        // Told before the first attempt goes out (a run log records the call as sent).
        if (n === 0) for (const l of [...sendListeners]) await l();
        if (signal.aborted) throw new CancelledError('The LLM request was cancelled.');
        sent = true;
        try {
          log('debug', `${what}: attempt ${n + 1} to ${endpoint} (model ${model})`);
          return await attempt(signal);
        } catch (raw) {
          const { error: err, retryable, retryAfterMs: asked } = transport.classify(raw, model);
          if (!retryable || signal.aborted) throw err;
          if (n >= policy.maxRetries) throw err instanceof LlmError ? gaveUpError(err, n + 1, Date.now() - started) : err;
          if (asked !== undefined && asked > policy.maxRetryAfterMs && err instanceof LlmError) {
            throw new LlmError(
              err.code,
              `${err.message} The endpoint asks to wait ${Math.ceil(asked / 1000)} s before retrying, longer than the ${Math.ceil(policy.maxRetryAfterMs / 1000)} s allowed.`,
              { status: err.status },
            );
          }
          const wait = asked ?? backoffMs(n, policy);
          totals.retries += 1;
          log('warn', `${what}: ${err.message} Retry ${n + 1}/${policy.maxRetries} in ${wait} ms.`);
          await sleep(wait, signal);
        }
      }
    } catch (e) {
      budget.settle(reservation, { sent, tokens: 0, costUsd: 0 });
      if (e instanceof LlmError) log('error', `${what}: ${e.message}`);
      throw e;
    } finally {
      release?.();
    }
  }

  /**
   * Joins a shared flight: resolves with its result. When this caller's signal aborts and others
   * still wait, it leaves at once (CancelledError). When it was the last one, the flight is
   * stopped and the caller gets what the flight ends with: the answer if it had already arrived
   * (so a call that was made can be recorded), else CancelledError, which comes at once for a
   * request still queued or waiting for its answer.
   */
  function join<T>(flight: Flight<T>, signal: AbortSignal | undefined): Promise<T> {
    flight.waiters += 1;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      let stopped = false;
      const onAbort = () => {
        if (done || stopped) return;
        flight.waiters -= 1;
        if (flight.waiters > 0) {
          done = true;
          reject(new CancelledError('The LLM request was cancelled.'));
          return;
        }
        stopped = true;
        flight.detach();
        flight.controller.abort();
      };
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      if (done) return;
      flight.promise.then(
        (v) => {
          if (done) return;
          done = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          if (done) return;
          done = true;
          signal?.removeEventListener('abort', onAbort);
          reject(stopped && !(e instanceof CancelledError) ? new CancelledError('The LLM request was cancelled.') : e);
        },
      );
    });
  }

  function startFlight<T>(map: Map<string, Flight<T>> | undefined, key: string, run: (signal: AbortSignal) => Promise<T>): Flight<T> {
    const controller = new AbortController();
    const flight: Flight<T> = {
      controller,
      waiters: 0,
      promise: run(controller.signal),
      detach: () => {
        if (map?.get(key) === flight) map.delete(key);
      },
    };
    flight.promise.catch(() => undefined);
    if (map) {
      map.set(key, flight);
      void flight.promise.finally(() => flight.detach()).catch(() => undefined);
    }
    return flight;
  }

  /** The model's own count when the transport has a tokenizer, else the estimate. */
  async function promptTokensOf(messages: ChatMessage[], model: string, signal: AbortSignal): Promise<number> {
    if (transport.countTokens) {
      try {
        return await transport.countTokens(messages, model, signal);
      } catch (e) {
        if (signal.aborted) throw new CancelledError('The LLM request was cancelled.');
        log('debug', `token count by ${endpoint} failed (${e instanceof Error ? e.message : String(e)}); estimating`);
      }
    }
    return estimateMessagesTokens(messages);
  }

  async function completionTokensOf(text: string, model: string, signal: AbortSignal): Promise<number> {
    if (transport.countText && !signal.aborted) {
      try {
        return await transport.countText(text, model, signal);
      } catch {
        // estimated below
      }
    }
    return estimateTokens(text);
  }

  async function sendChat(req: ChatRequest, model: string, key: string, signal: AbortSignal): Promise<ChatResponse> {
    const what = req.tag ? `chat [${req.tag}]` : 'chat';
    const promptEstimate = await promptTokensOf(req.messages, model, signal);
    // Without a max_tokens of its own, an answer under a budget gets the default allowance, or as
    // many tokens as its prompt when that is more: a rewrite is about as long as the prompt it
    // carries, and cutting it short would waste the call.
    const allowance = Math.max(completionReserve, promptEstimate);
    const { reservation, maxTokens } = budget.reserveChat(promptEstimate, req.maxTokens, priceFor(model, costTable), allowance, `the ${what} request to model ${model}`);
    const capped = maxTokens !== req.maxTokens;
    if (capped) log('debug', `${what}: max_tokens ${maxTokens} to stay within the budget`);
    const value = await withRetries(what, model, signal, reservation, (s) => transport.chat(req, model, maxTokens, s));
    const text = value.text;
    const finishReason = value.finishReason || 'stop';
    const usage: TokenUsage = {
      promptTokens: value.usage?.promptTokens ?? promptEstimate,
      completionTokens: value.usage?.completionTokens ?? (await completionTokensOf(text, model, signal)),
      totalTokens: 0,
    };
    usage.totalTokens = usage.promptTokens + usage.completionTokens;
    const answeredModel = value.model || model;
    const costUsd = costOf(answeredModel, usage.promptTokens, usage.completionTokens, costTable);
    budget.settle(reservation, { sent: true, tokens: usage.totalTokens, costUsd });
    totals.calls += 1;
    totals.promptTokens += usage.promptTokens;
    totals.completionTokens += usage.completionTokens;
    totals.costUsd += costUsd;
    const cost = knownPrice(answeredModel, costTable) ? `$${costUsd.toFixed(6)}` : 'cost unknown (no price for this model)';
    log('debug', `${what}: ${usage.totalTokens} tokens, ${cost}, finish ${finishReason}`);
    if (capped && finishReason === 'length') {
      log('warn', `${what}: the answer was cut at ${maxTokens} tokens (max_tokens set to stay within the token/cost budget).`);
    }
    const answer: CachedChat = { text, ...(value.toolCalls?.length ? { toolCalls: value.toolCalls } : {}), finishReason, usage, model: answeredModel };
    if (chatCache && !req.noCache && finishReason !== 'length' && finishReason !== 'content_filter') {
      await chatCache.set(key, answer).catch((e: unknown) => log('warn', `Could not write the LLM cache: ${String(e)}`));
    }
    return { ...answer, cached: false, costUsd };
  }

  async function chat(req: ChatRequest): Promise<ChatResponse> {
    if (req.signal?.aborted) throw new CancelledError('The LLM request was cancelled.');
    const model = modelOf(req);
    const key = chatKey(req, model);
    if (!req.noCache) {
      const hit = chatCache ? await chatCache.get(key).catch(() => undefined) : undefined;
      if (req.signal?.aborted) throw new CancelledError('The LLM request was cancelled.');
      if (hit) {
        totals.cachedCalls += 1;
        return { ...hit, cached: true, costUsd: 0 };
      }
      const existing = chatFlights.get(key);
      if (existing) {
        const r = await join(existing, req.signal);
        totals.cachedCalls += 1;
        return { ...r, cached: true, costUsd: 0 };
      }
    }
    const flight = startFlight(req.noCache ? undefined : chatFlights, key, (s) => sendChat(req, model, key, s));
    return join(flight, req.signal);
  }

  async function sendEmbed(req: EmbedRequest, model: string, key: string, signal: AbortSignal): Promise<number[][]> {
    const embedOnce = transport.embed!.bind(transport);
    const estimate = req.input.reduce((n, t) => n + estimateTokens(t), 0);
    const reservation = budget.reserve(estimate, costOf(model, estimate, 0, costTable), `the embedding request to model ${model}`);
    const value = await withRetries('embed', model, signal, reservation, (s) => embedOnce(req.input, model, s));
    const data = value.vectors;
    if (data.length !== req.input.length || data.some((v) => !Array.isArray(v))) {
      budget.settle(reservation, { sent: true, tokens: 0, costUsd: 0 });
      throw new LlmError('LLM_BAD_RESPONSE', `The endpoint ${endpoint} returned ${data.length} embeddings for ${req.input.length} inputs.`);
    }
    const tokens = value.tokens ?? estimate;
    const costUsd = costOf(model, tokens, 0, costTable);
    budget.settle(reservation, { sent: true, tokens, costUsd });
    totals.calls += 1;
    totals.promptTokens += tokens;
    totals.costUsd += costUsd;
    if (embedCache) await embedCache.set(key, data).catch((e: unknown) => log('warn', `Could not write the LLM cache: ${String(e)}`));
    return data;
  }

  async function embed(req: EmbedRequest): Promise<number[][]> {
    if (req.signal?.aborted) throw new CancelledError('The LLM request was cancelled.');
    if (req.input.length === 0) return [];
    if (!transport.embed) {
      throw new LlmError('LLM_NO_EMBEDDINGS', transport.noEmbeddingsReason ?? `${endpoint} offers no embeddings.`);
    }
    const model = req.model ?? transport.defaultEmbeddingModel ?? 'text-embedding-3-small';
    const key = hashKey({ kind: 'embed', endpoint, model, input: req.input });
    const hit = embedCache ? await embedCache.get(key).catch(() => undefined) : undefined;
    if (hit) {
      totals.cachedCalls += 1;
      return hit;
    }
    const existing = embedFlights.get(key);
    if (existing) {
      const r = await join(existing, req.signal);
      totals.cachedCalls += 1;
      return r;
    }
    return join(
      startFlight(embedFlights, key, (s) => sendEmbed(req, model, key, s)),
      req.signal,
    );
  }

  return {
    chat,
    embed,
    usage: () => ({ ...totals }),
    spent: (): Spend => budget.snapshot(),
    chargeBudget: (spent: Spend) => budget.charge(spent),
    onSend(listener: () => void | Promise<void>): () => void {
      sendListeners.add(listener);
      return () => sendListeners.delete(listener);
    },
    async forget(req: ChatRequest): Promise<void> {
      if (chatCache) await chatCache.delete(chatKey(req, modelOf(req)));
    },
    async peek(req: ChatRequest): Promise<ChatResponse | undefined> {
      if (!chatCache || req.noCache) return undefined;
      const hit = await chatCache.get(chatKey(req, modelOf(req))).catch(() => undefined);
      return hit ? { ...hit, cached: true, costUsd: 0 } : undefined;
    },
  };
}
