import type { ChatRequest, ChatResponse, EmbedRequest, LlmClient, LlmUsageTotals, Spend } from '../llm/types';

/** What the Ensemble planned for one member, and what became of it. */
export interface MemberPlan {
  optimizer: string;
  /** The member's own estimate of its calls (no budget). */
  estimatedCalls: number;
  /** Calls it needs to validate at least one candidate of its own. */
  minimumCalls: number;
  /** Calls given to it up front (it may get more when another member finishes under its share). */
  allottedCalls: number;
  /** Calls it made (cache hits and results reused from the run log cost none). */
  usedCalls?: number;
  /** Why it did not run to the end of its plan, in plain words; absent when it did. */
  cutShort?: string;
}

/**
 * Splits `available` calls between members up front: members are taken in order while their
 * minimums (enough to validate one candidate) fit; the others are cut before they start. Each
 * member kept gets its minimum, and what is left is shared in proportion to what each needs
 * beyond it (never more than its estimate). Calls no member needs stay in a pool.
 */
export function planMemberBudgets(members: Array<{ optimizer: string; estimatedCalls: number; minimumCalls: number }>, available: number): MemberPlan[] {
  const plans: MemberPlan[] = members.map((m) => ({ ...m, allottedCalls: 0 }));
  let left = Math.max(0, available);
  const kept: MemberPlan[] = [];
  for (const p of plans) {
    if (p.minimumCalls <= left) {
      p.allottedCalls = p.minimumCalls;
      left -= p.minimumCalls;
      kept.push(p);
    } else {
      p.cutShort = `not run: it needs at least ${p.minimumCalls} calls to validate one candidate, and the calls budget left ${Math.floor(left)} after the members before it and the Ensemble's own validation`;
    }
  }
  const want = kept.map((p) => Math.max(0, p.estimatedCalls - p.minimumCalls));
  const total = want.reduce((s, w) => s + w, 0);
  if (total > 0) {
    const share = Math.min(left, total);
    kept.forEach((p, i) => {
      p.allottedCalls += Math.floor((share * want[i]!) / total);
    });
  }
  return plans;
}

/**
 * A member's view of the shared client: every call goes to `inner` (so the hard budget, cache
 * and usage stay shared), while `spent()` counts only this member's own sent calls, so its
 * session measures its own share. `usage()` is the shared total (progress, calls so far).
 */
export class MemberClient implements LlmClient {
  private calls = 0;
  private tokens = 0;
  private cost = 0;

  constructor(private readonly inner: LlmClient) {}

  async chat(req: ChatRequest): Promise<ChatResponse> {
    const r = await this.inner.chat(req);
    if (!r.cached) {
      this.calls += 1;
      this.tokens += (r.usage?.promptTokens ?? 0) + (r.usage?.completionTokens ?? 0);
      this.cost += r.costUsd;
    }
    return r;
  }

  async embed(req: EmbedRequest): Promise<number[][]> {
    const r = await this.inner.embed(req);
    this.calls += 1;
    return r;
  }

  usage(): LlmUsageTotals {
    return this.inner.usage();
  }

  async forget(req: ChatRequest): Promise<void> {
    await this.inner.forget?.(req);
  }

  spent(): Spend {
    return { calls: this.calls, tokens: this.tokens, costUsd: this.cost };
  }
}
