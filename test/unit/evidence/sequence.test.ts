import { strict as assert } from 'node:assert';
import { ALPHA, MAX_BET, confidenceSequence, logCapital, lookSizes, scoreOf, sequenceTest, stakes } from '../../../src/core/evidence/sequence';
import { seededRandom as prng } from '../../../src/core/evaluation/dataset';


const draw = (rnd: () => number, win: number, tie: number) => () => {
  const u = rnd();
  return u < win ? 1 : u < win + tie ? 0.5 : 0;
};

describe('evidence: the betting confidence sequence (Waudby-Smith & Ramdas) and the sequential test', () => {
  it('exact small cases: the stakes and the capital by hand', () => {
    assert.deepEqual([scoreOf('candidate'), scoreOf('tie'), scoreOf('current')], [1, 0.5, 0]);
    // Case 1: nothing seen (shrunk mean ½) → no stake. Case 2 after a win: mean (½+1)/2 = ¾, variance (¼ + (1−¾)²)/2 = 5/32,
    // λ = ¼ / (5/32 + 1/16) = 8/7 → clipped to 0.9.
    const s = stakes([1, 1, 0.5]);
    assert.equal(s.up[0], 0);
    assert.equal(s.up[1], MAX_BET);
    assert.deepEqual(s.down.slice(0, 2), [0, 0]);
    // K⁺(½) = 1 · (1 + 0.9·½) · (1 + λ₃·0) = 1.45
    assert.ok(Math.abs(Math.exp(logCapital([1, 1, 0.5], s.up, 0.5, 'up')) - 1.45) < 1e-12);
    // Nothing seen: the interval is [0, 1]; all ties never move it off ½ from either side.
    const ties = confidenceSequence(Array(48).fill(0.5));
    assert.ok(ties.lower.every((l) => l < 0.5) && ties.upper.every((u) => u > 0.5));
    assert.equal(sequenceTest(Array(48).fill(0.5), { maxCases: 48 }).decision, 'not better');
  });

  it('12 wins of 12 is "better" with the bound the sequence gives; 9 wins and 3 losses is not yet; 12 losses is "worse"', () => {
    const all = confidenceSequence(Array(12).fill(1));
    assert.ok(all.lower[11]! > 0.5 && all.lower[11]! < 0.7, String(all.lower[11]));
    assert.equal(sequenceTest(Array(12).fill(1), { maxCases: 48 }).decision, 'better');
    assert.equal(sequenceTest([1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0], { maxCases: 48 }).decision, 'continue');
    assert.equal(sequenceTest(Array(12).fill(0), { maxCases: 48 }).decision, 'worse');
    // With no case left to win, a sequence that has not decided is "not better" (it never keeps).
    assert.equal(sequenceTest([1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0], { maxCases: 12 }).decision, 'not better');
    // Bonferroni: a smaller α needs more capital.
    // The first case stakes nothing, each later win at most 0.9·½: 1.45⁸ < 20 ≤ 1.45⁹, so 10 straight wins are needed.
    assert.equal(sequenceTest(Array(9).fill(1), { maxCases: 48 }).decision, 'continue');
    const ten = Array(10).fill(1);
    assert.equal(sequenceTest(ten, { maxCases: 48 }).decision, 'better');
    assert.equal(sequenceTest(ten, { maxCases: 48, alphaKeep: ALPHA / 6 }).decision, 'continue');
  });

  it('monotone: the bounds never loosen, a win never lowers the lower bound, and the verdict agrees with the bound', () => {
    const rnd = prng(7);
    for (let run = 0; run < 50; run++) {
      const next = draw(rnd, 0.45, 0.3);
      const xs = Array.from({ length: 48 }, next);
      const cs = confidenceSequence(xs);
      for (let t = 1; t < xs.length; t++) {
        assert.ok(cs.lower[t]! >= cs.lower[t - 1]! && cs.upper[t]! <= cs.upper[t - 1]!);
        assert.ok(cs.lower[t]! <= cs.upper[t]!);
      }
      for (const n of [12, 24, 48]) {
        const d = sequenceTest(xs.slice(0, n), { maxCases: 48 }).decision;
        assert.equal(d === 'better', cs.lower[n - 1]! > 0.5, `run ${run} at ${n}`);
        assert.equal(d === 'worse', cs.upper[n - 1]! < 0.5, `run ${run} at ${n}`);
      }
      // Replacing a case by a win can only raise the bound at the end.
      const better = xs.map((x, i) => (i === 20 ? 1 : x));
      assert.ok(confidenceSequence(better).lower[47]! >= cs.lower[47]! - 1e-9 || xs[20] === 1);
    }
  });

  it('coverage by simulation (fixed seed): the true mean stays inside the whole sequence in ≥ 95% of runs, per side', () => {
    const rnd = prng(20261206);
    for (const [win, tie] of [
      [0.35, 0.3],
      [0.55, 0.3],
      [0.7, 0.2],
      [0.2, 0.1],
    ] as const) {
      const mu = win + tie / 2;
      let lowMiss = 0;
      let highMiss = 0;
      const runs = 400;
      for (let r = 0; r < runs; r++) {
        const next = draw(rnd, win, tie);
        const cs = confidenceSequence(Array.from({ length: 48 }, next));
        // Running bounds: a miss anywhere shows at the end.
        if (cs.lower[47]! > mu) lowMiss++;
        if (cs.upper[47]! < mu) highMiss++;
      }
      assert.ok(lowMiss / runs <= ALPHA, `lower bound missed ${mu} in ${lowMiss}/${runs}`);
      assert.ok(highMiss / runs <= ALPHA, `upper bound missed ${mu} in ${highMiss}/${runs}`);
    }
  });

  it('looks: 12, then every 4 up to 48; one look when the maximum is the first', () => {
    assert.deepEqual(lookSizes(12, 48), [12, 16, 20, 24, 28, 32, 36, 40, 44, 48]);
    assert.deepEqual(lookSizes(12, 12), [12]);
    assert.deepEqual(lookSizes(12, 14), [12, 14]);
  });
});
