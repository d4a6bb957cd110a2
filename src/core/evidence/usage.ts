import { responseOf } from '../llm/json';
import type { ChatResponse } from '../llm/types';

/** Calls, tokens and cost of the requests one piece of evidence made (answers from the cache count 0). */
export interface EvidenceUsage {
  calls: number;
  cachedCalls: number;
  promptTokens: number;
  completionTokens: number;
  costUsd: number;
}

export const zeroUsage = (): EvidenceUsage => ({ calls: 0, cachedCalls: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 });

/** Adds one answer (a fresh call, or a cached one counted apart). */
export function countResponse(u: EvidenceUsage, r: ChatResponse | undefined): void {
  if (!r) return;
  if (r.cached) {
    u.cachedCalls += 1;
    return;
  }
  u.calls += 1;
  u.promptTokens += r.usage.promptTokens;
  u.completionTokens += r.usage.completionTokens;
  u.costUsd += r.costUsd;
}

/** Counts the answer a failed chatJson call carried: an unreadable or truncated answer was still a request sent. */
export function countFailure(u: EvidenceUsage, e: unknown): void {
  countResponse(u, responseOf(e));
}

export function addUsage(a: EvidenceUsage, b: EvidenceUsage): EvidenceUsage {
  return {
    calls: a.calls + b.calls,
    cachedCalls: a.cachedCalls + b.cachedCalls,
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    costUsd: a.costUsd + b.costUsd,
  };
}
