/** The LLM layer: client over the openai SDK, cache, cost/budget, concurrency, structured answers. */
export * from './types';
export { createLlmClient, type LlmClientOptions, type LlmLogger, type LogLevel } from './client';
export { chatJson, parseJsonLoose, responseOf, type ChatJsonResult } from './json';
export { DEFAULT_COST_TABLE, priceFor, knownPrice, costTableWith, unpricedNotes, costOf, estimateTokens, estimateMessagesTokens, type CostTable, type ModelPrice } from './cost';
export { DiskCache, hashKey, type CacheLimits } from './cache';
export { BudgetTracker } from './budget';
export { Limiter } from './limiter';
export { DEFAULT_RETRY, retryAfterMs, backoffMs, type RetryPolicy } from './retry';
