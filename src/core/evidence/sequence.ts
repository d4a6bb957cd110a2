/**
 * The anytime-valid test behind the evidence gate: a confidence sequence for the mean of
 * bounded per-case scores (win 1, tie ½, loss 0), by betting — Waudby-Smith & Ramdas,
 * "Estimating means of bounded random variables by betting", JRSS-B 2023 (sections 3–5).
 *
 * For a candidate mean m, a bettor starts with capital 1 and stakes a fraction λᵢ of it on each
 * case's score being above m: Kₜ⁺(m) = Πᵢ (1 + λᵢ (xᵢ − m)). When the true mean is m (or less)
 * this is a non-negative supermartingale, so by Ville's inequality it ever reaches 1/α with
 * probability at most α — however often one looks, and whatever the stopping rule. The lower
 * bound after t cases is the smallest m whose capital has not reached 1/α (kept as a running
 * maximum, the intersection of the sequence); the upper bound is the mirror image.
 *
 * The stakes are predictable (λᵢ uses only the cases before i) and the same for every m, so
 * Kₜ⁺(m) falls as m rises and the bound is one root. They follow the "approximate growth-rate
 * adaptive" rule (aGRAPA, WSR §B.3) aimed at the null m = ½ that decides the gate:
 * λᵢ = (μ̂ − ½) / (σ̂² + (μ̂ − ½)²), clipped to [0, 0.9], with μ̂, σ̂² the shrunk running mean and
 * variance. Ties lower the variance, so they cost less power than under a proportion's test.
 *
 * The keep test is one-sided: "better" needs Kₜ⁺(½) ≥ 1/α_keep at some look, with α_keep = 0.05
 * (the false-keep rate at a true win rate of ½ is at most 5%), divided by the number of distinct
 * candidates of the prompt (Bonferroni) so the family keeps at most 5% of null candidates.
 * "worse" is the mirror test at α = 0.05.
 */

/** One-sided error of each bound (the false-keep target at a true win rate of ½). */
export const ALPHA = 0.05;
/** Largest fraction staked on one case (keeps 1 + λ(x − m) > 0 for every m in [0, 1]). */
export const MAX_BET = 0.9;

/** A case's score: win 1, tie ½, loss 0. */
export function scoreOf(winner: 'candidate' | 'current' | 'tie'): number {
  return winner === 'candidate' ? 1 : winner === 'tie' ? 0.5 : 0;
}

/**
 * The stakes for each case, from the cases before it: `up` bets on a mean above ½ (lower
 * bound), `down` below ½ (upper bound).
 */
export function stakes(xs: readonly number[]): { up: number[]; down: number[] } {
  const up: number[] = [];
  const down: number[] = [];
  // Shrunk running estimates (WSR eq. 26): one pseudo-case at ½ with variance ¼.
  let sum = 0.5;
  let n = 1;
  let sq = 0.25;
  for (let i = 0; i < xs.length; i++) {
    const mean = sum / n;
    const variance = sq / n;
    const d = mean - 0.5;
    const lam = d / (variance + d * d);
    up.push(Math.min(MAX_BET, Math.max(0, lam)));
    down.push(Math.min(MAX_BET, Math.max(0, -lam)));
    const x = xs[i]!;
    sum += x;
    n += 1;
    sq += (x - sum / n) ** 2;
  }
  return { up, down };
}

/** log Kₜ⁺(m) over the first t cases (side 'up'), or log Kₜ⁻(m) (side 'down'). */
export function logCapital(xs: readonly number[], bets: readonly number[], m: number, side: 'up' | 'down', t = xs.length): number {
  let s = 0;
  for (let i = 0; i < t; i++) s += Math.log1p(side === 'up' ? bets[i]! * (xs[i]! - m) : -bets[i]! * (xs[i]! - m));
  return s;
}

function root(f: (m: number) => number, lo: number, hi: number): number {
  for (let k = 0; k < 50; k++) {
    const mid = (lo + hi) / 2;
    if (f(mid) > 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface SequenceBounds {
  /** Running lower and upper bound after each case (index t − 1 for t cases). */
  lower: number[];
  upper: number[];
}

/**
 * The confidence sequence after every case: lower at level α_lower, upper at α_upper, each
 * one-sided, both running (never loosen).
 */
export function confidenceSequence(xs: readonly number[], alpha: { lower?: number; upper?: number } = {}): SequenceBounds {
  const { up, down } = stakes(xs);
  const tl = Math.log(1 / (alpha.lower ?? ALPHA));
  const tu = Math.log(1 / (alpha.upper ?? ALPHA));
  const lower: number[] = [];
  const upper: number[] = [];
  let lo = 0;
  let hi = 1;
  for (let t = 1; t <= xs.length; t++) {
    // log K⁺ falls in m (from ≥ 0 at m = 0 … to ≤ 0 at m = 1): the bound is where it crosses the threshold.
    const fl = (m: number) => logCapital(xs, up, m, 'up', t) - tl;
    if (fl(0) >= 0) lo = Math.max(lo, root(fl, 0, 1));
    const fu = (m: number) => logCapital(xs, down, m, 'down', t) - tu;
    if (fu(1) >= 0) hi = Math.min(hi, 1 - root((q) => fu(1 - q), 0, 1));
    lower.push(lo);
    upper.push(hi);
  }
  return { lower, upper };
}

export type SequenceDecision = 'better' | 'worse' | 'continue' | 'not better';

export interface SequenceTest {
  decision: SequenceDecision;
  /** Largest log capital reached so far by the keep bettor (at ½) and the "worse" bettor. */
  logUp: number;
  logDown: number;
}

/**
 * The gate's test at ½ after the cases so far: `better` once the keep capital has reached
 * 1/α_keep, `worse` once the other has reached 1/α_worse, `not better` when even winning every
 * case left up to `maxCases` could not reach the keep threshold (a futility stop that never
 * keeps, so it costs no validity), else `continue`.
 */
export function sequenceTest(xs: readonly number[], opts: { alphaKeep?: number; alphaWorse?: number; maxCases: number }): SequenceTest {
  const { up, down } = stakes(xs);
  const tk = Math.log(1 / (opts.alphaKeep ?? ALPHA));
  const tw = Math.log(1 / (opts.alphaWorse ?? ALPHA));
  let a = 0;
  let b = 0;
  let maxA = 0;
  let maxB = 0;
  for (let i = 0; i < xs.length; i++) {
    a += Math.log1p(up[i]! * (xs[i]! - 0.5));
    b += Math.log1p(-down[i]! * (xs[i]! - 0.5));
    maxA = Math.max(maxA, a);
    maxB = Math.max(maxB, b);
  }
  if (maxA >= tk) return { decision: 'better', logUp: maxA, logDown: maxB };
  if (maxB >= tw) return { decision: 'worse', logUp: maxA, logDown: maxB };
  const left = Math.max(0, opts.maxCases - xs.length);
  if (a + left * Math.log1p(MAX_BET * 0.5) < tk) return { decision: 'not better', logUp: maxA, logDown: maxB };
  return { decision: 'continue', logUp: maxA, logDown: maxB };
}

/** Cases added at each look after the first while the result is inconclusive. */
export const LOOK_STEP = 4;

/** The case counts at which the gate looks: `initial`, then every `step` up to `max` (the last look is `max`). */
export function lookSizes(initial: number, max: number, step = LOOK_STEP): number[] {
  const out = [Math.min(initial, Math.max(initial, max))];
  while (out[out.length - 1]! < max) out.push(Math.min(max, out[out.length - 1]! + step));
  return out;
}
