import { LlmError } from '../errors';
import type { Budget } from './types';

/** What one call is expected to use, held against the budget while it runs. */
export interface Reservation {
  readonly tokens: number;
  readonly costUsd: number;
  settled: boolean;
}

/**
 * Per-run budget (max calls, tokens, cost). Every call reserves its share *before* it is sent,
 * so any number of concurrent calls can never together go past a limit: a call that would is
 * refused with LlmError LLM_BUDGET_EXCEEDED and never reaches the endpoint.
 *
 * Calls are exact. Tokens and cost are reserved from an estimate (prompt estimate + max_tokens,
 * or `defaultCompletionReserve` when the request sets no max_tokens) and replaced by the real
 * usage when the answer arrives.
 */
export class BudgetTracker {
  private usedCalls = 0;
  private usedTokens = 0;
  private usedCost = 0;
  private heldCalls = 0;
  private heldTokens = 0;
  private heldCost = 0;

  constructor(private readonly budget: Budget = {}) {}

  /** Reserves one call; throws LLM_BUDGET_EXCEEDED (with what ran out) when it would not fit. */
  reserve(tokens: number, costUsd: number, what: string): Reservation {
    const b = this.budget;
    if (b.maxCalls !== undefined && this.usedCalls + this.heldCalls + 1 > b.maxCalls) {
      throw new LlmError(
        'LLM_BUDGET_EXCEEDED',
        `LLM budget exceeded: the run may make at most ${b.maxCalls} call(s) and ${this.usedCalls + this.heldCalls} are used or under way; ${what} was not sent. Raise budgets.maxCalls to allow more.`,
      );
    }
    if (b.maxTokens !== undefined && this.usedTokens + this.heldTokens + tokens > b.maxTokens) {
      throw new LlmError(
        'LLM_BUDGET_EXCEEDED',
        `LLM budget exceeded: ${what} needs about ${tokens} tokens but only ${Math.max(0, b.maxTokens - this.usedTokens - this.heldTokens)} of the run's ${b.maxTokens} remain; it was not sent. Raise budgets.maxTokens to allow more.`,
      );
    }
    if (b.maxCostUsd !== undefined && this.usedCost + this.heldCost + costUsd > b.maxCostUsd) {
      throw new LlmError(
        'LLM_BUDGET_EXCEEDED',
        `LLM budget exceeded: ${what} may cost about $${costUsd.toFixed(4)} but only $${Math.max(0, b.maxCostUsd - this.usedCost - this.heldCost).toFixed(4)} of the run's $${b.maxCostUsd} remain; it was not sent. Raise budgets.maxCostUsd to allow more.`,
      );
    }
    this.heldCalls += 1;
    this.heldTokens += tokens;
    this.heldCost += costUsd;
    return { tokens, costUsd, settled: false };
  }

  /** Replaces a reservation by what was used. `sent` false (cancelled while queued) frees the call too. */
  settle(r: Reservation, used: { sent: boolean; tokens: number; costUsd: number }): void {
    if (r.settled) return;
    r.settled = true;
    this.heldCalls -= 1;
    this.heldTokens -= r.tokens;
    this.heldCost -= r.costUsd;
    if (used.sent) this.usedCalls += 1;
    this.usedTokens += used.tokens;
    this.usedCost += used.costUsd;
  }

  /** Whether any token or cost limit is set (the client then caps reservations by max_tokens). */
  get limitsTokens(): boolean {
    return this.budget.maxTokens !== undefined || this.budget.maxCostUsd !== undefined;
  }

  snapshot(): { calls: number; tokens: number; costUsd: number } {
    return { calls: this.usedCalls, tokens: this.usedTokens, costUsd: this.usedCost };
  }
}
