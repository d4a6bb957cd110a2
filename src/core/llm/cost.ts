import type { ChatMessage } from './types';

/** USD per one million tokens, for input (prompt) and output (completion) tokens. */
export interface ModelPrice {
  inputPerM: number;
  outputPerM: number;
}

/** Model name (or name prefix) → price. The longest matching prefix wins; unknown models cost 0. */
export type CostTable = Record<string, ModelPrice>;

/**
 * A few well-known list prices (USD per 1M tokens, standard tier) so budgets mean something
 * out of the box. Prices change: pass your own table to `createLlmClient` for real accounting.
 */
export const DEFAULT_COST_TABLE: Readonly<CostTable> = Object.freeze({
  'gpt-4o': { inputPerM: 2.5, outputPerM: 10 },
  'gpt-4o-mini': { inputPerM: 0.15, outputPerM: 0.6 },
  'gpt-4.1': { inputPerM: 2, outputPerM: 8 },
  'gpt-4.1-mini': { inputPerM: 0.4, outputPerM: 1.6 },
  'gpt-4.1-nano': { inputPerM: 0.1, outputPerM: 0.4 },
  'gpt-3.5-turbo': { inputPerM: 0.5, outputPerM: 1.5 },
  'o3-mini': { inputPerM: 1.1, outputPerM: 4.4 },
  'deepseek-chat': { inputPerM: 0.27, outputPerM: 1.1 },
  'text-embedding-3-small': { inputPerM: 0.02, outputPerM: 0 },
  'text-embedding-3-large': { inputPerM: 0.13, outputPerM: 0 },
});

/** The price of `model`: exact name, else the longest table key that prefixes it (so dated snapshots match); undefined when none. */
export function knownPrice(model: string, table: CostTable = DEFAULT_COST_TABLE): ModelPrice | undefined {
  const exact = table[model];
  if (exact) return exact;
  let best: string | undefined;
  for (const k of Object.keys(table)) {
    if (model.startsWith(k) && (best === undefined || k.length > best.length)) best = k;
  }
  return best ? table[best]! : undefined;
}

/** The price of `model` (see knownPrice), 0 for an unknown model. */
export function priceFor(model: string, table: CostTable = DEFAULT_COST_TABLE): ModelPrice {
  return knownPrice(model, table) ?? { inputPerM: 0, outputPerM: 0 };
}

/** The default table with the user's prices (e.g. `pricing:` of `.optimizer/config.yaml`) added or replacing entries. */
export function costTableWith(pricing: CostTable | undefined): CostTable {
  return { ...DEFAULT_COST_TABLE, ...(pricing ?? {}) };
}

/**
 * A plain-words note for each of `models` that has no price while a cost budget is set: their
 * calls count as $0, so the cost budget does not limit them. Empty without a cost budget.
 */
export function unpricedNotes(models: Array<string | undefined>, maxCostUsd: number | undefined, table: CostTable = DEFAULT_COST_TABLE): string[] {
  if (maxCostUsd === undefined) return [];
  const unknown = [...new Set(models.filter((m): m is string => !!m))].filter((m) => !knownPrice(m, table));
  return unknown.map(
    (m) =>
      `No price is known for model ${m}: its calls count as $0, so the cost budget of $${maxCostUsd} does not limit them. Add its price under pricing: in .optimizer/config.yaml (input_per_million, output_per_million).`,
  );
}

/** Cost in USD of a call, from its token counts. */
export function costOf(model: string, promptTokens: number, completionTokens: number, table?: CostTable): number {
  const p = priceFor(model, table);
  return (promptTokens * p.inputPerM + completionTokens * p.outputPerM) / 1_000_000;
}

const CJK_RE = /[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/g;

/**
 * Rough token count used when an endpoint gives no `usage`, and to reserve budget before a
 * call: one token per CJK character, one per four other characters. Errs on the high side for
 * CJK, which is the safe side for budgets.
 */
export function estimateTokens(text: string): number {
  if (!text) return 0;
  const cjk = text.match(CJK_RE)?.length ?? 0;
  return cjk + Math.ceil((text.length - cjk) / 4);
}

/** Estimated prompt tokens of a chat request (content plus a small per-message overhead). */
export function estimateMessagesTokens(messages: ChatMessage[]): number {
  let n = 3;
  for (const m of messages) n += 4 + estimateTokens(m.content);
  return n;
}
