import { LlmError } from '../errors';
import type { ModelPrice } from './cost';
import type { Budget, Spend } from './types';

const LIMIT_KEYS = {
  calls: { file: 'max_calls', setting: 'maxCalls', flag: '--budget-calls' },
  tokens: { file: 'max_tokens', setting: 'maxTokens', flag: '--budget-tokens' },
  cost: { file: 'max_cost_usd', setting: 'maxCostUsd', flag: '--budget-cost' },
} as const;

/** Where to raise the limit, by its real name: the place it was set when known, else every place it can come from. */
export function raiseHint(kind: keyof typeof LIMIT_KEYS, origin?: Budget['origin']): string {
  const k = LIMIT_KEYS[kind];
  const file = `budget: { ${k.file} } in .optimizer/config.yaml`;
  const setting = `the setting promptOptimizer.budget.${k.setting} in VS Code`;
  const flag = `${k.flag} of promptopt train`;
  switch (origin?.[kind]) {
    case 'file':
      return `The limit is set by ${file}; raise it there to allow more.`;
    case 'setting':
      return `The limit is set by ${setting}; raise it there to allow more.`;
    case 'flag':
      return `The limit is set by ${k.flag}; run again with a higher value to allow more.`;
    default:
      return `To allow more, raise ${file}, ${setting}, or ${flag}.`;
  }
}

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
 * Calls are exact. Tokens and cost are reserved from an estimate (prompt estimate + the answer's
 * max_tokens) and replaced by the real usage when the answer arrives. Under a token or cost
 * limit a chat call always has a max_tokens (see `reserveChat`), so its answer cannot go past
 * what was reserved.
 */
export class BudgetTracker {
  private usedCalls = 0;
  private usedTokens = 0;
  private usedCost = 0;
  private heldCalls = 0;
  private heldTokens = 0;
  private heldCost = 0;
  private readonly charged: Spend = { calls: 0, tokens: 0, costUsd: 0 };

  constructor(private readonly budget: Budget = {}) {}

  private checkCalls(what: string): void {
    const b = this.budget;
    if (b.maxCalls !== undefined && this.usedCalls + this.heldCalls + 1 > b.maxCalls) {
      throw new LlmError(
        'LLM_BUDGET_EXCEEDED',
        `LLM budget exceeded: the run may make at most ${b.maxCalls} call(s) and ${this.usedCalls + this.heldCalls} are used or under way; ${what} was not sent. ${raiseHint('calls', b.origin)}`,
      );
    }
  }

  /** Reserves one call; throws LLM_BUDGET_EXCEEDED (with what ran out) when it would not fit. */
  reserve(tokens: number, costUsd: number, what: string): Reservation {
    const b = this.budget;
    this.checkCalls(what);
    if (b.maxTokens !== undefined && this.usedTokens + this.heldTokens + tokens > b.maxTokens) {
      throw new LlmError(
        'LLM_BUDGET_EXCEEDED',
        `LLM budget exceeded: ${what} needs about ${tokens} tokens but only ${Math.max(0, b.maxTokens - this.usedTokens - this.heldTokens)} of the run's ${b.maxTokens} remain; it was not sent. ${raiseHint('tokens', b.origin)}`,
      );
    }
    if (b.maxCostUsd !== undefined && this.usedCost + this.heldCost + costUsd > b.maxCostUsd) {
      throw new LlmError(
        'LLM_BUDGET_EXCEEDED',
        `LLM budget exceeded: ${what} may cost about $${costUsd.toFixed(4)} but only $${Math.max(0, b.maxCostUsd - this.usedCost - this.heldCost).toFixed(4)} of the run's $${b.maxCostUsd} remain; it was not sent. ${raiseHint('cost', b.origin)}`,
      );
    }
    this.heldCalls += 1;
    this.heldTokens += tokens;
    this.heldCost += costUsd;
    return { tokens, costUsd, settled: false };
  }

  /**
   * Reserves a chat call and chooses its max_tokens. Without a token or cost limit: reserves the
   * prompt plus `wanted` (the request's own max_tokens, if any) and returns `wanted` unchanged.
   * With one: the answer is capped to what remains of the budget after the prompt (never more
   * than `wanted`, or `defaultAnswer` when the request sets none); a cost limit caps it the same
   * way through the model's output price (no cap from an unknown price, which counts as $0).
   * Throws LLM_BUDGET_EXCEEDED when not even a one-token answer fits.
   */
  reserveChat(
    promptTokens: number,
    wanted: number | undefined,
    price: ModelPrice,
    defaultAnswer: number,
    what: string,
  ): { reservation: Reservation; maxTokens: number | undefined } {
    const costOf = (completion: number) => (promptTokens * price.inputPerM + completion * price.outputPerM) / 1_000_000;
    if (!this.limitsTokens) return { reservation: this.reserve(promptTokens + (wanted ?? 0), costOf(wanted ?? 0), what), maxTokens: wanted };
    this.checkCalls(what);
    const b = this.budget;
    let cap = wanted ?? defaultAnswer;
    if (b.maxTokens !== undefined) {
      const room = b.maxTokens - this.usedTokens - this.heldTokens;
      if (room - promptTokens < 1) {
        throw new LlmError(
          'LLM_BUDGET_EXCEEDED',
          `LLM budget exceeded: ${what} needs about ${promptTokens} tokens for its prompt plus its answer but only ${Math.max(0, room)} of the run's ${b.maxTokens} remain; it was not sent. ${raiseHint('tokens', b.origin)}`,
        );
      }
      cap = Math.min(cap, room - promptTokens);
    }
    if (b.maxCostUsd !== undefined) {
      const room = b.maxCostUsd - this.usedCost - this.heldCost;
      const perToken = price.outputPerM / 1_000_000;
      let fits = costOf(0) <= room;
      if (fits && perToken > 0) {
        let n = Math.floor((room - costOf(0)) / perToken);
        // floating point: make sure the reservation itself fits
        while (n > 0 && costOf(n) > room) n -= 1;
        cap = Math.min(cap, n);
        fits = n >= 1;
      }
      if (!fits) {
        throw new LlmError(
          'LLM_BUDGET_EXCEEDED',
          `LLM budget exceeded: ${what} would cost more than the $${Math.max(0, room).toFixed(4)} that remain of the run's $${b.maxCostUsd} even with a one-token answer; it was not sent. ${raiseHint('cost', b.origin)}`,
        );
      }
    }
    return { reservation: this.reserve(promptTokens + cap, costOf(cap), what), maxTokens: cap };
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

  /** Counts usage made elsewhere (an earlier attempt of a resumed run) against the limits. */
  charge(spent: Spend): void {
    this.usedCalls += spent.calls;
    this.usedTokens += spent.tokens;
    this.usedCost += spent.costUsd;
    this.charged.calls += spent.calls;
    this.charged.tokens += spent.tokens;
    this.charged.costUsd += spent.costUsd;
  }

  /** Whether any token or cost limit is set (chat calls then always carry a capped max_tokens). */
  get limitsTokens(): boolean {
    return this.budget.maxTokens !== undefined || this.budget.maxCostUsd !== undefined;
  }

  /** What this tracker's own calls used (sent calls, tokens and cost of answers), not counting `charge`. */
  snapshot(): Spend {
    return { calls: this.usedCalls - this.charged.calls, tokens: this.usedTokens - this.charged.tokens, costUsd: this.usedCost - this.charged.costUsd };
  }
}
