/**
 * The evidence gate: with a model available, an LLM strategy's proposal is kept only when its
 * runs on the prompt's test cases say it is better than the current prompt (the anytime-valid
 * sequential test of evidence/sequence.ts at one-sided α = 0.05, split among the prompt's
 * distinct candidates, and no requirement whose pass rate drops). The heuristic score stays as
 * a cheap pre-filter before any case is run.
 */
import type { PromptRecord } from '../dsl/types';
import { CancelledError, isOptimizerError, toOptimizerError } from '../errors';
import type { EvidencePlan, EvidenceRecord } from '../evidence/gather';
import type { StrategyName } from '../strategies/types';
import type { EvidenceMode } from './config';
import type { RejectCause } from './reasons';

/** What the engine asks for: the evidence on one candidate text of one prompt. */
export interface EvidenceGate {
  /**
   * `opts.candidates`: how many distinct candidate texts of this prompt are tested in this run;
   * each one's keep test gets α / candidates (Bonferroni), so the family keeps at most α of
   * candidates no better than the current prompt.
   */
  gather(prompt: PromptRecord, candidate: string, signal?: AbortSignal, opts?: { candidates?: number }): Promise<EvidenceRecord>;
  /** Optional: the gate's fixed costs for `prompt` as the files stand (cases, checklist), for the estimate. */
  plan?(prompt: PromptRecord): Promise<EvidencePlan>;
}

/** An LLM step may score up to this many points lower on the heuristic and still go to the cases. */
export const PREFILTER_TOLERANCE = 5;

export interface GateCandidate {
  strategy: StrategyName;
  text: string;
  /** Heuristic gain over the original (the old rule's test). */
  gain: number;
}

export interface GateDecision {
  strategy: StrategyName;
  /** Kept by the gate (evidence better; or, in auto mode without evidence, the heuristic's old rule). */
  pass: boolean;
  evidence?: EvidenceRecord;
  cause?: RejectCause;
  reason?: string;
  /** Set when the heuristic decided because the evidence could not be gathered. */
  note?: string;
}

/**
 * Gathers evidence for each candidate (one run per distinct text, in order) and decides.
 * Cancellation throws; a budget error or a case run that fails is, in `auto` mode, a fallback
 * to the heuristic (kept only if the old rule would have kept it, and said so), in `required`
 * mode a refusal.
 */
export async function decide(
  gate: EvidenceGate,
  prompt: PromptRecord,
  candidates: readonly GateCandidate[],
  opts: { mode: EvidenceMode; minImprovement: number; signal?: AbortSignal },
): Promise<GateDecision[]> {
  const byText = new Map<string, Promise<EvidenceRecord>>();
  const out: GateDecision[] = [];
  // Identical texts are one candidate: run once, counted once in the family.
  const family = new Set(candidates.map((c) => c.text)).size;
  for (const c of candidates) {
    let p = byText.get(c.text);
    if (!p) {
      p = gate.gather(prompt, c.text, opts.signal, { candidates: family });
      byText.set(c.text, p);
    }
    try {
      const ev = await p;
      if (ev.verdict === 'better') out.push({ strategy: c.strategy, pass: true, evidence: ev });
      else
        out.push({
          strategy: c.strategy,
          pass: false,
          evidence: ev,
          cause: ev.verdict === 'worse' ? 'evidence-worse' : 'evidence-none',
          reason: reasonOf(ev),
        });
    } catch (e) {
      const err = toOptimizerError(e);
      if (err instanceof CancelledError || opts.signal?.aborted) throw new CancelledError();
      if (isOptimizerError(err) && (err.code === 'LLM_AUTH' || err.code === 'LLM_NO_KEY')) throw err;
      const why = `the test cases could not be run: ${err.message}`;
      if (opts.mode === 'required') out.push({ strategy: c.strategy, pass: false, cause: 'evidence-failed', reason: why });
      else if (c.gain >= opts.minImprovement && c.gain > 0) out.push({ strategy: c.strategy, pass: true, note: `kept on the heuristic score alone (${why})` });
      else out.push({ strategy: c.strategy, pass: false, cause: 'evidence-failed', reason: `${why}; the heuristic score alone does not improve` });
    }
  }
  return out;
}

/** Why a candidate was not kept, in plain words. */
function reasonOf(ev: EvidenceRecord): string {
  const tally = `${ev.wins} wins, ${ev.ties} ties, ${ev.losses} losses`;
  const drop = ev.dropped.length ? `; pass rate dropped for ${ev.dropped.join(', ')}` : '';
  const stop = ev.stopped ? `; ${ev.stopped}` : '';
  if (ev.verdict === 'judge unreliable') return `judge unreliable on ${ev.cases} test cases (${tally}): ${ev.unreliable ?? 'the judge\'s two orders of the answers disagreed too often'}`;
  const bound = ev.verdict === 'worse' && !ev.dropped.length ? 'the upper bound is below 0.5' : `lower bound ${ev.lowerBound.toFixed(2)} ≤ 0.5`;
  return `${ev.verdict} on ${ev.cases} test cases: ${tally} (win rate ${ev.winRate.toFixed(2)}, ${bound}${drop}${stop})`;
}
