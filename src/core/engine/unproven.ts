/**
 * What the evidence gate did not let through, kept for the user instead of thrown away: the
 * best candidate whose cases were inconclusive ("no evidence": reviewable, marked unproven) and
 * the candidates the cases found worse or could not judge reliably (listed with their reports).
 */
import type { EvidenceRecord } from '../evidence/gather';
import { round, scoresOf, type CandidateSummary, type Chain, type OptimizationResult, type RefusedWithEvidence, type UnprovenProposal } from './result';

/** The evidence the gate attached to a strategy's chain (its last kept step carries it). */
function evidenceOfChain(chain: Chain, candidates: readonly CandidateSummary[]): EvidenceRecord | undefined {
  const own = candidates.filter((c) => c.strategy === chain.strategy && c.evidence);
  return own[own.length - 1]?.evidence;
}

/** The most promising inconclusive chain (highest lower bound, then win rate), when the gate kept nothing. */
export function unprovenOf(chains: readonly Chain[], candidates: readonly CandidateSummary[], baselineOverall: number, original: string): UnprovenProposal | undefined {
  let best: { chain: Chain; ev: EvidenceRecord } | undefined;
  for (const chain of chains) {
    if (chain.text === original) continue;
    const ev = evidenceOfChain(chain, candidates);
    if (!ev || ev.verdict !== 'no evidence') continue;
    if (!best || ev.lowerBound > best.ev.lowerBound || (ev.lowerBound === best.ev.lowerBound && ev.winRate > best.ev.winRate)) best = { chain, ev };
  }
  if (!best) return undefined;
  const { chain, ev } = best;
  const a = chain.analysis;
  return {
    strategy: chain.strategy,
    text: chain.text,
    after: scoresOf(a),
    improvement: round(a.overall - baselineOverall),
    confidence: chain.confidence,
    iterations: chain.iterations,
    rationale: chain.rationale.join(' Then: '),
    changes: chain.changes,
    evidence: ev,
  };
}

/** The refused candidates whose cases were run and said no (worse, or an unreliable judge), one per report. */
export function refusedWithEvidence(candidates: readonly CandidateSummary[]): RefusedWithEvidence[] {
  const seen = new Set<string>();
  const out: RefusedWithEvidence[] = [];
  for (const c of candidates) {
    const ev = c.evidence;
    if (c.kept || !ev || ev.verdict === 'better' || ev.verdict === 'no evidence' || seen.has(ev.reportFile)) continue;
    seen.add(ev.reportFile);
    out.push({ strategy: c.strategy, verdict: ev.verdict, evidence: ev });
  }
  return out;
}

/** "unproven: 0.62 (90% interval 0.41–0.80) on 24 cases" */
export function unprovenLabel(ev: Pick<EvidenceRecord, 'winRate' | 'lowerBound' | 'upperBound' | 'cases'>): string {
  const bounds = ev.upperBound !== undefined ? `90% interval ${ev.lowerBound.toFixed(2)}–${ev.upperBound.toFixed(2)}` : `90% lower bound ${ev.lowerBound.toFixed(2)}`;
  return `unproven: ${ev.winRate.toFixed(2)} (${bounds}) on ${ev.cases} case${ev.cases === 1 ? '' : 's'}`;
}

/** The result as if its unproven candidate had been kept (for `--accept-unproven` and the review queue). */
export function withUnproven(r: OptimizationResult): OptimizationResult {
  const u = r.unproven;
  if (!u || r.accepted) return r;
  return { ...r, optimized: u.text, strategy: u.strategy, after: { ...u.after }, improvement: u.improvement, confidence: u.confidence, iterations: u.iterations, rationale: u.rationale, changes: u.changes, evidence: u.evidence, skippedReason: undefined };
}
