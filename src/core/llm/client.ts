import { AsyncLocalStorage } from 'node:async_hooks';
import OpenAI from 'openai';
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { LlmError } from '../errors';
import type { CacheLimits } from './cache';
import type { CostTable } from './cost';
import { isRetryable, mapError } from './mapError';
import { createPipelineClient, type LlmLogger, type LlmTransport, type PipelineClient, type TransportAnswer } from './pipeline';
import { boundedFetch } from './bounded';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS } from './limits';
import { endpointLabel, makeRedactor } from './redact';
import { DEFAULT_RETRY, retryAfterMs, type RetryPolicy } from './retry';
import type { Budget, ChatMessage, ChatRequest, EndpointConfig } from './types';

export type { LlmLogger, LogLevel } from './pipeline';

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

/** Endpoints (by label) that answered 400 to response_format; chat then asks without it. */
const endpointsWithoutJsonFormat = new Set<string>();
/** Endpoint + model pairs that refused tools (HTTP 400): later requests with tools fail at once, unsent. */
const modelsWithoutTools = new Set<string>();
/** Endpoint + model pairs that refused max_tokens and asked for max_completion_tokens (OpenAI's reasoning models). */
const modelsWithCompletionTokens = new Set<string>();

/** How long an answer that had started to arrive when its caller cancelled may take to finish arriving. */
const ANSWER_GRACE_MS = 5_000;
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small';

/**
 * An LlmClient over the `openai` SDK for any OpenAI-compatible endpoint: the SDK transport
 * under the shared pipeline (pipeline.ts: cache, in-flight sharing, budget, concurrency,
 * retries, accounting). Each attempt has a deadline covering the whole answer, body included
 * (`cfg.timeoutMs`, default 60 s), and a body size limit (`cfg.maxResponseBytes`, default 8 MB):
 * past either the exchange is aborted (LLM_TIMEOUT, retried; LLM_RESPONSE_TOO_LARGE, not).
 * Attempts are retried (`cfg.maxRetries`, default 3) on timeouts, network errors, 408/409/429
 * and 5xx, waiting what `retry-after-ms` / `retry-after` ask.
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
export function createLlmClient(cfg: EndpointConfig, opts: LlmClientOptions = {}): PipelineClient {
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
  // Tells the attempt under way (through async context) that its response has started to arrive.
  const arrivals = new AsyncLocalStorage<() => void>();
  const maxResponseBytes = cfg.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  // The SDK's own timeout stops at the headers: this one covers the body too, and bounds its size.
  const baseFetch = boundedFetch(opts.fetch ?? globalThis.fetch, { timeoutMs, maxBytes: maxResponseBytes });
  // The SDK's timer is a backstop only: ours fires first, with what had arrived.
  const sdkTimeoutMs = timeoutMs + 5_000;
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
    timeout: sdkTimeoutMs,
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
  const wantJsonFormat = (req: ChatRequest) => req.responseFormat === 'json' && !endpointsWithoutJsonFormat.has(endpoint);

  /** One chat completion over the SDK, with the fallbacks some endpoints need (no response_format, max_completion_tokens). */
  async function chatOnce(req: ChatRequest, model: string, maxTokens: number | undefined, s: AbortSignal): Promise<TransportAnswer> {
    const modelKey = `${endpoint} ${model}`;
    if (req.tools?.length && modelsWithoutTools.has(modelKey)) {
      throw new LlmError('LLM_NO_TOOLS', `The endpoint ${endpoint} refused tools for model ${model} earlier: it does not do function calling.`);
    }
    const base: ChatCompletionCreateParamsNonStreaming = {
      model,
      messages: req.messages.map(toSdkMessage),
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.topP !== undefined ? { top_p: req.topP } : {}),
      ...(req.presencePenalty !== undefined ? { presence_penalty: req.presencePenalty } : {}),
      ...(req.frequencyPenalty !== undefined ? { frequency_penalty: req.frequencyPenalty } : {}),
      ...(req.tools?.length
        ? {
            tools: req.tools.map((t) => ({ type: 'function' as const, function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters } })),
            ...(req.toolChoice ? { tool_choice: typeof req.toolChoice === 'string' ? req.toolChoice : { type: 'function' as const, function: { name: req.toolChoice.name } } } : {}),
          }
        : {}),
    };
    const withLimit = (p: ChatCompletionCreateParamsNonStreaming): ChatCompletionCreateParamsNonStreaming =>
      maxTokens === undefined ? p : modelsWithCompletionTokens.has(modelKey) ? { ...p, max_completion_tokens: maxTokens } : { ...p, max_tokens: maxTokens };
    const create = async (p: ChatCompletionCreateParamsNonStreaming) => {
      try {
        return await exchange(s, (sig) => sdk.chat.completions.create(withLimit(p), { signal: sig, timeout: sdkTimeoutMs, maxRetries: 0 }));
      } catch (e) {
        if (maxTokens !== undefined && !modelsWithCompletionTokens.has(modelKey) && asksForCompletionTokens(e)) {
          log('info', `${endpoint} refused max_tokens for model ${model} (HTTP 400); asking again with max_completion_tokens.`);
          modelsWithCompletionTokens.add(modelKey);
          return exchange(s, (sig) => sdk.chat.completions.create(withLimit(p), { signal: sig, timeout: sdkTimeoutMs, maxRetries: 0 }));
        }
        throw e;
      }
    };
    const useFormat = wantJsonFormat(req);
    const format: ChatCompletionCreateParamsNonStreaming['response_format'] = req.jsonSchema
      ? { type: 'json_schema', json_schema: { name: req.jsonSchema.name, schema: req.jsonSchema.schema, ...(req.jsonSchema.strict !== undefined ? { strict: req.jsonSchema.strict } : {}) } }
      : { type: 'json_object' };
    let value;
    try {
      value = await create(useFormat ? { ...base, response_format: format } : base);
    } catch (e) {
      if (req.tools?.length && e instanceof OpenAI.APIError && e.status === 400 && refusesTools(e)) {
        modelsWithoutTools.add(modelKey);
        throw new LlmError('LLM_NO_TOOLS', `The endpoint ${endpoint} refused tools for model ${model} (HTTP 400): it does not do function calling.`);
      }
      if (!(useFormat && e instanceof OpenAI.APIError && e.status === 400 && !asksForCompletionTokens(e))) throw e;
      log('info', `${endpoint} rejected response_format json_object (HTTP 400); asking again without it.`);
      value = await create(base);
      endpointsWithoutJsonFormat.add(endpoint);
    }
    const choice = value.choices?.[0];
    if (!choice || !choice.message) {
      throw new LlmError('LLM_BAD_RESPONSE', `The endpoint ${endpoint} answered without a choice for model ${model}.`);
    }
    const toolCalls = (choice.message.tool_calls ?? []).flatMap((c) => (c.type === 'function' ? [{ id: c.id, name: c.function.name, arguments: c.function.arguments ?? '' }] : []));
    return {
      text: choice.message.content ?? '',
      ...(toolCalls.length ? { toolCalls } : {}),
      finishReason: choice.finish_reason ?? 'stop',
      usage: value.usage ? { promptTokens: value.usage.prompt_tokens ?? undefined, completionTokens: value.usage.completion_tokens ?? undefined } : undefined,
      model: value.model || undefined,
    };
  }

  const transport: LlmTransport = {
    label: endpoint,
    defaultModel: cfg.model,
    defaultEmbeddingModel: cfg.embeddingModel ?? DEFAULT_EMBEDDING_MODEL,
    chat: chatOnce,
    async embed(input, model, s) {
      const value = await exchange(s, (sig) => sdk.embeddings.create({ model, input, encoding_format: 'float' }, { signal: sig, timeout: sdkTimeoutMs, maxRetries: 0 }));
      const vectors = [...(value.data ?? [])].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      return { vectors, tokens: value.usage?.prompt_tokens ?? undefined };
    },
    classify(raw, model) {
      const error = mapError(raw, { endpoint, model, timeoutMs, redact });
      const headers = raw instanceof OpenAI.APIError ? (raw.headers as Headers | undefined) : undefined;
      return { error, retryable: isRetryable(error), retryAfterMs: retryAfterMs(headers) };
    },
  };
  return createPipelineClient(transport, {
    cacheDir: opts.cacheDir,
    cache: opts.cache,
    budget: opts.budget,
    costTable: opts.costTable,
    log,
    retry: policy,
    concurrency: cfg.concurrency ?? DEFAULT_CONCURRENCY,
    defaultCompletionReserve: opts.defaultCompletionReserve,
  });
}

/** Our message as the SDK takes it: tool calls of an assistant turn, and the tool turn answering one. */
function toSdkMessage(m: ChatMessage): ChatCompletionMessageParam {
  if (m.role === 'tool') return { role: 'tool', content: m.content, tool_call_id: m.toolCallId ?? '' };
  if (m.role === 'assistant' && m.toolCalls?.length) {
    return { role: 'assistant', content: m.content, tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) };
  }
  return { role: m.role, content: m.content };
}

/** Whether an HTTP 400 is about the request's tools (the endpoint or model has no function calling). */
function refusesTools(e: InstanceType<typeof OpenAI.APIError>): boolean {
  return /tool|function/i.test(e.message);
}

/** Whether `e` is an HTTP 400 asking for max_completion_tokens instead of max_tokens (OpenAI's reasoning models). */
function asksForCompletionTokens(e: unknown): boolean {
  if (!(e instanceof OpenAI.APIError) || e.status !== 400) return false;
  const body = e.error as { message?: unknown; param?: unknown } | undefined;
  const text = `${typeof body?.message === 'string' ? body.message : ''} ${typeof body?.param === 'string' ? body.param : ''} ${e.message}`;
  return /max_completion_tokens/.test(text);
}
