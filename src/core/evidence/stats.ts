/**
 * Win/tie/loss tallies and the verdict the gate reads. The gate's interval is the anytime-valid
 * confidence sequence of sequence.ts; the Wilson interval is kept for a tally alone (and as the
 * old fixed-12 gate's rule, the benchmark's baseline).
 */

/** `judge unreliable`: the judge's two orders agreed on too few cases for its verdicts to count. */
export type Verdict = 'better' | 'no evidence' | 'worse' | 'judge unreliable';

/** Below this share of judged cases whose two orders agree, the judge is not trusted (evidence.min_consistency). */
export const DEFAULT_MIN_CONSISTENCY = 0.6;

/** z for a two-sided 90% interval (each bound is a one-sided 95% bound). */
export const Z90 = 1.6448536269514722;

/**
 * Wilson score interval of a proportion `p` observed over `n` trials, at `z` (default 90%).
 * Returns [0, 1] for n = 0 (nothing is known).
 */
export function wilsonInterval(p: number, n: number, z = Z90): { lower: number; upper: number } {
  if (n <= 0) return { lower: 0, upper: 1 };
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = p + z2 / (2 * n);
  const spread = z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { lower: Math.max(0, (centre - spread) / denom), upper: Math.min(1, (centre + spread) / denom) };
}

export interface Tally {
  wins: number;
  ties: number;
  losses: number;
}

export interface RequirementRate {
  id: string;
  text: string;
  /** Share of cases whose output meets the requirement (0..1), for the current prompt and the candidate. */
  current: number;
  candidate: number;
  /** Cases the rate is over (outputs that could be checked). */
  cases: number;
}

export interface WinStats extends Tally {
  cases: number;
  /** (wins + ties / 2) / cases: a tie is half a win. */
  winRate: number;
  /** Bounds of the interval on winRate (the gate's: the confidence sequence after the last look; winStats: 90% Wilson). */
  lower: number;
  upper: number;
}

export function winStats(t: Tally): WinStats {
  const cases = t.wins + t.ties + t.losses;
  const winRate = cases ? (t.wins + t.ties / 2) / cases : 0;
  const { lower, upper } = wilsonInterval(winRate, cases);
  return { ...t, cases, winRate, lower, upper };
}

/** Requirements whose pass rate is lower for the candidate than for the current prompt. */
export function droppedRequirements(rates: readonly RequirementRate[]): RequirementRate[] {
  return rates.filter((r) => r.cases > 0 && r.candidate < r.current - 1e-9);
}

/**
 * The verdict of a tally's bounds (the gate decides with sequence.sequenceTest, which agrees).
 * `better`: the lower bound is above 0.5 and no requirement's pass rate drops.
 * `worse`: the upper bound is below 0.5, or a requirement's pass rate drops.
 * Otherwise `no evidence`.
 */
export function verdictOf(stats: WinStats, rates: readonly RequirementRate[]): Verdict {
  const dropped = droppedRequirements(rates).length > 0;
  if (stats.cases > 0 && stats.upper < 0.5) return 'worse';
  if (dropped) return 'worse';
  if (stats.cases > 0 && stats.lower > 0.5) return 'better';
  return 'no evidence';
}
