import * as z from 'zod';
import { diffVariables, sameVariables } from '../dsl/variables';
import { isOptimizerError } from '../errors';
import { chatJson } from '../llm/json';
import type { ChatMessage, LlmClient } from '../llm/types';
import { hashOf } from './runStore';
import type { OptimizationSession } from './session';

const proposalSchema = z.object({ instruction: z.string().min(1) });

/**
 * Asks `proposer` for a new instruction (JSON `{"instruction": …}`, noCache so repeated asks
 * differ), memoized in the run log by the request so a resumed run asks again for none. A
 * proposal that fails (bad JSON, timeout…) is skipped with an event and undefined; cancellation,
 * budget and auth errors are thrown.
 */
export async function proposeInstruction(
  s: OptimizationSession,
  proposer: LlmClient,
  msgs: ChatMessage[],
  opts: { model?: string; temperature: number; signal?: AbortSignal; tag: string; label: string },
): Promise<string | undefined> {
  const key = hashOf(msgs);
  const memo = s.store.getMemo<{ text?: string; error?: string }>('proposal', key);
  if (memo) return memo.text;
  try {
    const { value } = await chatJson(proposer, { messages: msgs, model: opts.model, temperature: opts.temperature, noCache: true, signal: opts.signal, tag: opts.tag }, proposalSchema);
    const text = value.instruction.trim();
    s.store.putMemo('proposal', key, { text });
    return text;
  } catch (e) {
    if (!isOptimizerError(e) || e.family === 'cancelled' || e.code === 'LLM_BUDGET_EXCEEDED' || e.code === 'LLM_AUTH' || e.code === 'LLM_NO_KEY') throw e;
    s.store.putMemo('proposal', key, { error: e.message });
    s.proposalFailed(e.message);
    s.emit({ type: 'optimization_error', code: e.code, message: `a ${opts.label} proposal failed and was skipped: ${e.message}` });
    return undefined;
  }
}

/** Whether a proposal asked with `msgs` is already in the run log (costs no call). */
export function proposalKnown(s: OptimizationSession, msgs: ChatMessage[]): boolean {
  return s.store.hasMemo('proposal', hashOf(msgs));
}

/** Why `proposed` cannot replace `original` (it changes the prompt's variables), or undefined when it keeps them. */
export function variablesChanged(original: string, proposed: string): string | undefined {
  if (sameVariables(original, proposed)) return undefined;
  const d = diffVariables(original, proposed);
  return `changes the prompt's variables (missing: ${d.missing.join(', ') || 'none'}; added: ${d.added.join(', ') || 'none'})`;
}
