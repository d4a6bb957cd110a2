import { strict as assert } from 'node:assert';
import { droppedRequirements, verdictOf, wilsonInterval, winStats } from '../../../src/core/evidence/stats';

const close = (a: number, b: number, eps = 5e-4) => assert.ok(Math.abs(a - b) < eps, `${a} ≠ ${b}`);

describe('evidence: Wilson interval and verdict', () => {
  it('matches hand-computed 90% Wilson bounds', () => {
    // p = 1, n = 12: (1 + z²/24 - z·sqrt(z²/576)) / (1 + z²/12), z = 1.6449
    close(wilsonInterval(1, 12).lower, 0.8160);
    // p = 0.75, n = 12
    close(wilsonInterval(0.75, 12).lower, 0.5127);
    close(wilsonInterval(0.75, 12).upper, 0.8954);
    close(wilsonInterval(0.5, 100).lower, 0.4189);
    assert.deepEqual(wilsonInterval(0.5, 0), { lower: 0, upper: 1 });
  });

  it('a tie is half a win; 9 of 12 wins is just enough, 8 wins and 4 ties is not', () => {
    const nine = winStats({ wins: 9, ties: 0, losses: 3 });
    assert.equal(nine.winRate, 0.75);
    assert.equal(verdictOf(nine, []), 'better');
    const eight = winStats({ wins: 8, ties: 4, losses: 0 });
    close(eight.winRate, 10 / 12);
    assert.equal(verdictOf(winStats({ wins: 8, ties: 0, losses: 4 }), []), 'no evidence');
    assert.equal(verdictOf(winStats({ wins: 0, ties: 12, losses: 0 }), []), 'no evidence');
    assert.equal(verdictOf(winStats({ wins: 1, ties: 1, losses: 10 }), []), 'worse');
    assert.equal(verdictOf(winStats({ wins: 0, ties: 0, losses: 0 }), []), 'no evidence');
  });

  it('a requirement whose pass rate drops makes the verdict worse, even with every case won', () => {
    const all = winStats({ wins: 12, ties: 0, losses: 0 });
    const rates = [{ id: 'R1', text: 'json', current: 1, candidate: 11 / 12, cases: 12 }];
    assert.deepEqual(droppedRequirements(rates).map((r) => r.id), ['R1']);
    assert.equal(verdictOf(all, rates), 'worse');
    assert.equal(verdictOf(all, [{ ...rates[0]!, candidate: 1 }]), 'better');
  });
});
