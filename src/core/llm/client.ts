import { AsyncLocalStorage } from 'node:async_hooks';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import { CancelledError, LlmError } from '../errors';
import { BudgetTracker, type Reservation } from './budget';
import { DiskCache, hashKey, type CacheLimits } from './cache';
import { DEFAULT_COST_TABLE, costOf, estimateMessagesTokens, estimateTokens, priceFor, type CostTable } from './cost';
import { Limiter } from './limiter';
import { isRetryable, mapError } from './mapError';
import { endpointLabel, makeRedactor } from './redact';
import { DEFAULT_RETRY, backoffMs, retryAfterMs, sleep, type RetryPolicy } from './retry';
import type {
  Budget,
  ChatRequest,
  ChatResponse,
  EmbedRequest,
  EndpointConfig,
  LlmClient,
  LlmUsageTotals,
  Spend,
  TokenUsage,
} from './types';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LlmLogger = (level: LogLevel, msg: string) => void;

export interface LlmClientOptions {
  /** Directory of the on-disk response cache, e.g. `<ws>/.optimizer/cache/llm`. No cache when absent. */
  cacheDir?: string;
  cache?: CacheLimits;
  budget?: Budget;
  /** USD per 1M tokens by model; defaults to DEFAULT_COST_TABLE (unknown models cost 0). */
  costTable?: CostTable;
  /** Receives one line per attempt, retry and failure; secrets are removed before it is called. */
  logger?: LlmLogger;
  /** fetch implementation handed to the SDK (tests, proxies). */
  fetch?: typeof fetch;
  /** Backoff tuning (maxRetries comes from the endpoint config). */
  retry?: Partial<Omit<RetryPolicy, 'maxRetries'>>;
  /**
   * max_tokens sent with a request that sets none while a token/cost budget is set (the answer
   * must fit what was reserved). Default 1024.
   */
  defaultCompletionReserve?: number;
}

/** Cached form of a chat answer. */
interface CachedChat {
  text: string;
  finishReason: string;
  usage: TokenUsage;
  model: string;
}

interface Flight<T> {
  promise: Promise<T>;
  controller: AbortController;
  waiters: number;
  /** Takes it out of the in-flight map, so a new identical call starts its own flight. */
  detach(): void;
}

/** Endpoints (by label) that answered 400 to response_format; chat then asks without it. */
const endpointsWithoutJsonFormat = new Set<string>();
/** Endpoint + model pairs that refused max_tokens and asked for max_completion_tokens (OpenAI's reasoning models). */
const modelsWithCompletionTokens = new Set<string>();

const DEFAULT_TIMEOUT_MS = 60_000;
/** How long an answer that had started to arrive when its caller cancelled may take to finish arriving. */
const ANSWER_GRACE_MS = 5_000;
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small';

/**
 * An LlmClient over the `openai` SDK for any OpenAI-compatible endpoint.
 *
 * Per call: response cache (read) → identical in-flight call joined → budget reserved (refused
 * before sending when it would not fit) → a concurrency slot (FIFO; a cancelled waiter leaves at
 * once) → attempts with a per-request timeout, retried on timeouts, network errors, 408/409/429
 * and 5xx with exponential backoff and jitter, waiting what `retry-after-ms` / `retry-after` ask
 * → usage and cost accounted → answer cached (only finished, successful answers).
 *
 * The SDK's own retries are off (maxRetries 0) so retries are counted and logged here; the
 * AbortSignal is handed to the SDK, which aborts the HTTP request itself. An answer that has
 * started to arrive (status and headers received) when the caller cancels is still read and
 * returned, so the caller can record a call that was made; a request still waiting for its
 * answer is aborted and rejects with CancelledError at once.
 *
 * Under a token or cost budget every chat request carries a max_tokens capped to what remains
 * of the budget after its prompt (see BudgetTracker.reserveChat), so answers cannot overrun it.
 *
 * Throws LlmError LLM_NO_KEY when `cfg.apiKey` is empty (a local server that ignores keys
 * still needs a placeholder) and RangeError on an invalid base URL or concurrency.
 */
export function createLlmClient(cfg: EndpointConfig, opts: LlmClientOptions = {}): LlmClient & {
  /** Removes a cached answer (e.g. one that failed validation) so the next identical call asks again. */
  forget(req: ChatRequest): Promise<void>;
} {
  const endpoint = endpointLabel(cfg.baseUrl);
  if (!cfg.apiKey) {
    throw new LlmError('LLM_NO_KEY', `No API key is configured for ${endpoint}. Set one (a local server that ignores keys still needs a placeholder).`);
  }
  try {
    new URL(cfg.baseUrl);
  } catch {
    throw new RangeError(`Invalid LLM base URL.`);
  }
  const redact = makeRedactor([cfg.apiKey, ...Object.values(cfg.headers ?? {})]);
  const log: LlmLogger = (level, msg) => opts.logger?.(level, redact(msg));
  const timeoutMs = cfg.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...opts.retry, maxRetries: cfg.maxRetries ?? DEFAULT_RETRY.maxRetries };
  const limiter = new Limiter(cfg.concurrency ?? DEFAULT_CONCURRENCY);
  const budget = new BudgetTracker(opts.budget);
  const costTable = opts.costTable ?? DEFAULT_COST_TABLE;
  const completionReserve = opts.defaultCompletionReserve ?? 1024;
  const chatCache = opts.cacheDir ? new DiskCache<CachedChat>(opts.cacheDir, opts.cache) : undefined;
  const embedCache = opts.cacheDir ? new DiskCache<number[][]>(opts.cacheDir, opts.cache) : undefined;
  // Tells the attempt under way (through async context) that its response has started to arrive.
  const arrivals = new AsyncLocalStorage<() => void>();
  const baseFetch = opts.fetch ?? globalThis.fetch;
  const fetchNoting: typeof fetch = async (input, init) => {
    const res = await baseFetch(input, init);
    arrivals.getStore()?.();
    return res;
  };
  const sdk = new OpenAI({
    apiKey: cfg.apiKey,
    baseURL: cfg.baseUrl,
    organization: null,
    project: null,
    defaultHeaders: cfg.headers,
    timeout: timeoutMs,
    maxRetries: 0,
    logLevel: 'off',
    fetch: fetchNoting,
  });

  /**
   * Runs one HTTP exchange of the SDK under `signal`: an abort before the response starts to
   * arrive aborts the request; after that, the answer is read to the end (for at most
   * ANSWER_GRACE_MS more), so a call that was answered is not thrown away.
   */
  async function exchange<R>(signal: AbortSignal, call: (signal: AbortSignal) => Promise<R>): Promise<R> {
    const ctl = new AbortController();
    let arrived = false;
    let grace: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      if (!arrived) ctl.abort();
      else grace ??= setTimeout(() => ctl.abort(), Math.min(timeoutMs, ANSWER_GRACE_MS));
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await arrivals.run(
        () => {
          arrived = true;
        },
        () => call(ctl.signal),
      );
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (grace) clearTimeout(grace);
    }
  }
  const totals: LlmUsageTotals = { calls: 0, cachedCalls: 0, retries: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  const chatFlights = new Map<string, Flight<ChatResponse>>();
  const embedFlights = new Map<string, Flight<number[][]>>();

  const chatKey = (req: ChatRequest, model: string) =>
    hashKey({
      kind: 'chat',
      endpoint,
      model,
      temperature: req.temperature,
      maxTokens: req.maxTokens,
      responseFormat: req.responseFormat ?? 'text',
      messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    });

  /** Runs `attempt` with retries; the budget reservation is settled here. */
  async function withRetries<T>(
    what: string,
    model: string,
    signal: AbortSignal,
    reservation: Reservation,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<{ value: T; sent: boolean }> {
    let sent = false;
    let release: (() => void) | undefined;
    try {
      release = await limiter.acquire(signal);
      for (let n = 0; ; n++) {
        if (signal.aborted) throw new CancelledError('The LLM request was cancelled.');
        sent = true;
        try {
          log('debug', `${what}: attempt ${n + 1} to ${endpoint} (model ${model})`);
          return { value: await attempt(signal), sent };
        } catch (raw) {
          const err = mapError(raw, { endpoint, model, timeoutMs, redact });
          if (!isRetryable(err) || n >= policy.maxRetries || signal.aborted) throw err;
          const headers = raw instanceof OpenAI.APIError ? (raw.headers as Headers | undefined) : undefined;
          const asked = retryAfterMs(headers);
          if (asked !== undefined && asked > policy.maxRetryAfterMs) {
            throw new LlmError(
              err.code as LlmError['code'],
              `${err.message} The endpoint asks to wait ${Math.ceil(asked / 1000)} s before retrying, longer than the ${Math.ceil(policy.maxRetryAfterMs / 1000)} s allowed.`,
              { status: (err as LlmError).status },
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

  async function sendChat(req: ChatRequest, model: string, key: string, signal: AbortSignal): Promise<ChatResponse> {
    const what = req.tag ? `chat [${req.tag}]` : 'chat';
    const promptEstimate = estimateMessagesTokens(req.messages);
    // Without a max_tokens of its own, an answer under a budget gets the default allowance, or as
    // many tokens as its prompt when that is more: a rewrite is about as long as the prompt it
    // carries, and cutting it short would waste the call.
    const allowance = Math.max(completionReserve, promptEstimate);
    const { reservation, maxTokens } = budget.reserveChat(promptEstimate, req.maxTokens, priceFor(model, costTable), allowance, `the ${what} request to model ${model}`);
    const capped = maxTokens !== req.maxTokens;
    if (capped) log('debug', `${what}: max_tokens ${maxTokens} to stay within the budget`);
    const wantJson = req.responseFormat === 'json';
    const modelKey = `${endpoint} ${model}`;
    const { value } = await withRetries(what, model, signal, reservation, async (s) => {
      const base: ChatCompletionCreateParamsNonStreaming = {
        model,
        messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
        ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      };
      const withLimit = (p: ChatCompletionCreateParamsNonStreaming): ChatCompletionCreateParamsNonStreaming =>
        maxTokens === undefined ? p : modelsWithCompletionTokens.has(modelKey) ? { ...p, max_completion_tokens: maxTokens } : { ...p, max_tokens: maxTokens };
      const create = async (p: ChatCompletionCreateParamsNonStreaming) => {
        try {
          return await exchange(s, (sig) => sdk.chat.completions.create(withLimit(p), { signal: sig, timeout: timeoutMs, maxRetries: 0 }));
        } catch (e) {
          if (maxTokens !== undefined && !modelsWithCompletionTokens.has(modelKey) && asksForCompletionTokens(e)) {
            log('info', `${endpoint} refused max_tokens for model ${model} (HTTP 400); asking again with max_completion_tokens.`);
            modelsWithCompletionTokens.add(modelKey);
            return exchange(s, (sig) => sdk.chat.completions.create(withLimit(p), { signal: sig, timeout: timeoutMs, maxRetries: 0 }));
          }
          throw e;
        }
      };
      const useFormat = wantJson && !endpointsWithoutJsonFormat.has(endpoint);
      try {
        return await create(useFormat ? { ...base, response_format: { type: 'json_object' } } : base);
      } catch (e) {
        if (useFormat && e instanceof OpenAI.APIError && e.status === 400 && !asksForCompletionTokens(e)) {
          log('info', `${endpoint} rejected response_format json_object (HTTP 400); asking again without it.`);
          const r = await create(base);
          endpointsWithoutJsonFormat.add(endpoint);
          return r;
        }
        throw e;
      }
    });
    const choice = value.choices?.[0];
    if (!choice || !choice.message) {
      budget.settle(reservation, { sent: true, tokens: 0, costUsd: 0 });
      throw new LlmError('LLM_BAD_RESPONSE', `The endpoint ${endpoint} answered without a choice for model ${model}.`);
    }
    const text = choice.message.content ?? '';
    const finishReason = choice.finish_reason ?? 'stop';
    const usage: TokenUsage = value.usage
      ? {
          promptTokens: value.usage.prompt_tokens ?? promptEstimate,
          completionTokens: value.usage.completion_tokens ?? estimateTokens(text),
          totalTokens: 0,
        }
      : { promptTokens: promptEstimate, completionTokens: estimateTokens(text), totalTokens: 0 };
    usage.totalTokens = usage.promptTokens + usage.completionTokens;
    const answeredModel = value.model || model;
    const costUsd = costOf(answeredModel, usage.promptTokens, usage.completionTokens, costTable);
    budget.settle(reservation, { sent: true, tokens: usage.totalTokens, costUsd });
    totals.calls += 1;
    totals.promptTokens += usage.promptTokens;
    totals.completionTokens += usage.completionTokens;
    totals.costUsd += costUsd;
    log('debug', `${what}: ${usage.totalTokens} tokens, $${costUsd.toFixed(6)}, finish ${finishReason}`);
    if (capped && finishReason === 'length') {
      log('warn', `${what}: the answer was cut at ${maxTokens} tokens (max_tokens set to stay within the token/cost budget).`);
    }
    const answer: CachedChat = { text, finishReason, usage, model: answeredModel };
    if (chatCache && !req.noCache && finishReason !== 'length' && finishReason !== 'content_filter') {
      await chatCache.set(key, answer).catch((e: unknown) => log('warn', `Could not write the LLM cache: ${String(e)}`));
    }
    return { ...answer, cached: false, costUsd };
  }

  async function chat(req: ChatRequest): Promise<ChatResponse> {
    if (req.signal?.aborted) throw new CancelledError('The LLM request was cancelled.');
    const model = req.model ?? cfg.model;
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
    const estimate = req.input.reduce((n, t) => n + estimateTokens(t), 0);
    const reservation = budget.reserve(estimate, costOf(model, estimate, 0, costTable), `the embedding request to model ${model}`);
    const { value } = await withRetries('embed', model, signal, reservation, (s) =>
      exchange(s, (sig) => sdk.embeddings.create({ model, input: req.input, encoding_format: 'float' }, { signal: sig, timeout: timeoutMs, maxRetries: 0 })),
    );
    const data = [...(value.data ?? [])].sort((a, b) => a.index - b.index).map((d) => d.embedding);
    if (data.length !== req.input.length || data.some((v) => !Array.isArray(v))) {
      budget.settle(reservation, { sent: true, tokens: 0, costUsd: 0 });
      throw new LlmError('LLM_BAD_RESPONSE', `The endpoint ${endpoint} returned ${data.length} embeddings for ${req.input.length} inputs.`);
    }
    const tokens = value.usage?.prompt_tokens ?? estimate;
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
    const model = req.model ?? cfg.embeddingModel ?? DEFAULT_EMBEDDING_MODEL;
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
    async forget(req: ChatRequest): Promise<void> {
      if (chatCache) await chatCache.delete(chatKey(req, req.model ?? cfg.model));
    },
  };
}

/** Whether `e` is an HTTP 400 asking for max_completion_tokens instead of max_tokens (OpenAI's reasoning models). */
function asksForCompletionTokens(e: unknown): boolean {
  if (!(e instanceof OpenAI.APIError) || e.status !== 400) return false;
  const body = e.error as { message?: unknown; param?: unknown } | undefined;
  const text = `${typeof body?.message === 'string' ? body.message : ''} ${typeof body?.param === 'string' ? body.param : ''} ${e.message}`;
  return /max_completion_tokens/.test(text);
}
