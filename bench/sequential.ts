/**
 * Benchmark (mechanics, not model quality): how often the evidence gate keeps a candidate, by
 * simulation with a scripted judge of known true win rate. Each case is a win, a tie or a loss
 * drawn with fixed probabilities (ties as they come: 30% of cases unless said); the true win
 * rate is P(win) + P(tie)/2. Thousands of runs per point, fixed seed.
 *
 * Side by side:
 *  - `fixed-12 Wilson`: the old gate — 12 cases, kept when the 90% Wilson lower bound > 0.5;
 *  - `sequential`: the gate now — the betting confidence sequence (evidence/sequence.ts),
 *    12 cases first, then `step` more at each look while inconclusive, up to 48.
 *
 * Figures: false-keep rate at 0.5 (must be ≤ 5%), keep rate at 0.6 / 0.7 / 0.8, mean cases and
 * calls per decision, and the family false-keep rate with 3 and 6 candidates none better
 * (Bonferroni on α_keep). Calls: 4 per case and candidate (2 task runs, 2 judge orders), 1 to
 * write each extension's cases, and the 2 + 1 fixed calls of the first 12 cases and checklist.
 * Run: `npm run bench -- sequential` (or `node out/bench/sequential.js`); BENCH_RUNS sets runs per point.
 */
import { ALPHA, lookSizes, sequenceTest } from '../src/core/evidence/sequence';
import { wilsonInterval } from '../src/core/evidence/stats';
import { seededRandom as prng } from '../src/core/evaluation/dataset';

const RUNS = Number(process.env.BENCH_RUNS ?? 10000);
const INITIAL = 12;
const MAX = 48;


/** A scripted judge: win rate `p` (= P(win) + P(tie)/2) with `ties` of cases tied. */
function judge(p: number, ties: number, rnd: () => number): () => number {
  const win = p - ties / 2;
  if (win < 0 || win + ties > 1) throw new Error(`no judge with win rate ${p} and ${ties} ties`);
  return () => {
    const u = rnd();
    return u < win ? 1 : u < win + ties ? 0.5 : 0;
  };
}

function fixedWilson(next: () => number): boolean {
  let s = 0;
  for (let i = 0; i < INITIAL; i++) s += next();
  return wilsonInterval(s / INITIAL, INITIAL).lower > 0.5;
}

/** One candidate through the sequential gate: kept?, cases used, calls. */
function sequential(next: () => number, step: number, alphaKeep: number): { kept: boolean; cases: number; calls: number } {
  const xs: number[] = [];
  const looks = lookSizes(INITIAL, MAX, step);
  let decision = 'continue';
  let extensions = 0;
  for (const [k, n] of looks.entries()) {
    if (k > 0) extensions += 1;
    while (xs.length < n) xs.push(next());
    decision = sequenceTest(xs, { alphaKeep, maxCases: MAX }).decision;
    if (decision !== 'continue') break;
  }
  // 2 calls for the first cases, 1 checklist, 1 per extension, 4 per case.
  return { kept: decision === 'better', cases: xs.length, calls: 3 + extensions + 4 * xs.length };
}

const out = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function point(p: number, ties: number, step: number, seed: number) {
  const rnd = prng(seed);
  let kept = 0;
  let keptFixed = 0;
  let cases = 0;
  let calls = 0;
  for (let i = 0; i < RUNS; i++) {
    const j = judge(p, ties, rnd);
    const s = sequential(j, step, ALPHA);
    kept += s.kept ? 1 : 0;
    cases += s.cases;
    calls += s.calls;
    if (fixedWilson(judge(p, ties, rnd))) keptFixed++;
  }
  return { keep: kept / RUNS, keepFixed12: keptFixed / RUNS, meanCases: cases / RUNS, callsPerDecision: calls / RUNS };
}

function family(k: number, ties: number, step: number, seed: number) {
  const rnd = prng(seed);
  let any = 0;
  let anyUncorrected = 0;
  let anyFixed = 0;
  for (let i = 0; i < RUNS; i++) {
    let hit = false;
    let hitU = false;
    let hitF = false;
    for (let c = 0; c < k; c++) {
      hit = sequential(judge(0.5, ties, rnd), step, ALPHA / k).kept || hit;
      hitU = sequential(judge(0.5, ties, rnd), step, ALPHA).kept || hitU;
      hitF = fixedWilson(judge(0.5, ties, rnd)) || hitF;
    }
    any += hit ? 1 : 0;
    anyUncorrected += hitU ? 1 : 0;
    anyFixed += hitF ? 1 : 0;
  }
  return { any: any / RUNS, anyUncorrected: anyUncorrected / RUNS, anyFixed: anyFixed / RUNS };
}

/** One candidate at true `p` among k tested for the prompt: its keep rate under α/k. */
function powerAmong(k: number, p: number, seed: number): number {
  const rnd = prng(seed);
  let kept = 0;
  for (let i = 0; i < RUNS; i++) kept += sequential(judge(p, 0.3, rnd), 4, ALPHA / k).kept ? 1 : 0;
  return kept / RUNS;
}

function main(): void {
  const note = 'mechanics: a scripted judge of known win rate, not a model';
  for (const step of [1, 4, 6]) {
    for (const [p, ties] of [
      [0.5, 0.3],
      [0.5, 0],
      [0.6, 0.3],
      [0.7, 0.3],
      [0.7, 0],
      [0.8, 0.3],
    ] as const) {
      const r = point(p, ties, step, 1000 + Math.round(p * 100) + ties * 10 + step);
      out({
        name: `evidence.sequential keep rate at true ${p} (${ties * 100}% ties, look every ${step})`,
        value: r3(r.keep),
        unit: 'share of runs kept',
        baseline: r3(r.keepFixed12),
        baselineName: 'fixed-12 Wilson gate',
        baselineCallsPerDecision: 3 + 4 * INITIAL,
        meanCases: r3(r.meanCases),
        callsPerDecision: r3(r.callsPerDecision),
        runs: RUNS,
        note,
      });
    }
  }
  for (const k of [3, 6]) {
    const f = family(k, 0.3, 4, 77 + k);
    out({
      name: `evidence.sequential family false-keep, ${k} candidates none better (30% ties, Bonferroni α/${k}, look every 4)`,
      value: r3(f.any),
      unit: 'share of runs keeping one',
      baseline: r3(f.anyFixed),
      baselineName: 'fixed-12 Wilson gate per candidate',
      uncorrected: r3(f.anyUncorrected),
      runs: RUNS,
      note,
    });
    out({ name: `evidence.sequential keep rate at true 0.7 as one of ${k} candidates (30% ties, α/${k}, look every 4)`, value: r3(powerAmong(k, 0.7, 300 + k)), unit: 'share of runs kept', runs: RUNS, note });
  }
}

main();
