/** Choosing the proposal of a prompt among the strategies' chains, with the evidence gate. */
import type { Analysis } from '../analysis/types';
import type { PromptRecord } from '../dsl/types';
import type { EvidenceRecord } from '../evidence/gather';
import type { StrategyCost, StrategyName } from '../strategies/types';
import type { EngineConfig } from './config';
import type { EngineEvent } from './events';
import { decide, type EvidenceGate } from './gate';
import { ZERO_COST, addCost, type CandidateSummary, type Chain } from './result';

/** Heuristic order of two chains: score, then confidence, then the shorter text. */
export function better(a: Chain, b: Chain): boolean {
  if (a.analysis.overall !== b.analysis.overall) return a.analysis.overall > b.analysis.overall;
  if (a.confidence !== b.confidence) return a.confidence > b.confidence;
  return a.text.length < b.text.length;
}

export interface ChoiceDeps {
  evidence: EvidenceGate;
  typeOf: (name: StrategyName) => 'rule' | 'llm';
  emit: (e: EngineEvent) => void;
  now: () => number;
}

/**
 * Runs the evidence gate over the LLM chains; rule chains compete on the heuristic as before.
 * An LLM chain with evidence 'better' wins over any rule chain (highest lower bound first).
 */
export async function gateChains(
  deps: ChoiceDeps,
  args: { prompt: PromptRecord; baseline: Analysis; chains: Chain[]; candidates: CandidateSummary[]; config: EngineConfig; runId: string; signal?: AbortSignal },
): Promise<{ best?: Chain; evidence?: EvidenceRecord; note?: string; cost: StrategyCost }> {
  const { prompt, baseline, chains, candidates, config } = args;
  const llm = chains.filter((c) => deps.typeOf(c.strategy) === 'llm');
  const rule = chains.filter((c) => !llm.includes(c));
  let cost = ZERO_COST;
  const decisions = llm.length
    ? await decide(
        deps.evidence,
        prompt,
        llm.map((c) => ({ strategy: c.strategy, text: c.text, gain: c.analysis.overall - baseline.overall })),
        { mode: config.evidence.mode, minImprovement: config.minImprovement, signal: args.signal },
      )
    : [];
  const seen = new Set<string>();
  let best: { chain: Chain; evidence?: EvidenceRecord; note?: string } | undefined;
  decisions.forEach((d, i) => {
    const chain = llm[i]!;
    const ev = d.evidence;
    // One eval per distinct text: its cost is counted once.
    if (ev && !seen.has(chain.text)) {
      seen.add(chain.text);
      cost = addCost(cost, { calls: ev.usage.calls, promptTokens: ev.usage.promptTokens, completionTokens: ev.usage.completionTokens, costUsd: ev.usage.costUsd });
    }
    const kept = candidates.filter((c) => c.strategy === chain.strategy && c.kept);
    const last = kept[kept.length - 1];
    if (last) last.evidence = ev;
    deps.emit({
      type: 'candidate_evidence',
      runId: args.runId,
      promptId: prompt.id,
      strategy: chain.strategy,
      time: deps.now(),
      kept: d.pass,
      verdict: ev?.verdict,
      winRate: ev?.winRate,
      lowerBound: ev?.lowerBound,
      cases: ev?.cases,
      casesFile: ev?.casesFile,
      reason: d.reason ?? d.note,
      cause: d.cause,
    });
    if (!d.pass) {
      if (last) {
        last.kept = false;
        last.reason = d.reason;
        last.cause = d.cause;
      }
      return;
    }
    const better_ =
      !best ||
      (ev && (!best.evidence || ev.lowerBound > best.evidence.lowerBound || (ev.lowerBound === best.evidence.lowerBound && better(chain, best.chain)))) ||
      (!ev && !best.evidence && better(chain, best.chain));
    if (better_) best = { chain, evidence: ev, note: d.note };
  });
  if (!best?.evidence) for (const chain of rule) if (!best || (!best.evidence && better(chain, best.chain))) best = { chain };
  return { best: best?.chain, evidence: best?.evidence, note: best?.note, cost };
}

