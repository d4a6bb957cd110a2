/**
 * GEPA (reflective, Pareto) against the intent task model (test/support/intentModel.ts: a TEST
 * DOUBLE on 127.0.0.1, built so that feedback on failures helps; the numbers are scripted
 * mechanics, never real-model quality).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { CancelledError } from '../../../src/core/errors';
import { createMetric, defaultFeedback, feedbackOf, scoreOutput } from '../../../src/core/evaluation';
import { GEPA_AUTO, RunStore, createOptimizer, dominates, paretoFront, pickFromFront, tfidfEmbedder, type OptimizerReport, type ScoredCandidate } from '../../../src/core/optimizers';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { FORMAT_PHRASE, INTENT_BASE, INTENT_USER, intentHandler, isIntentBest } from '../../support/intentModel';
import { client, intent, intentCtx, record, tempDir } from './helpers';

/** Calls the run had made when a candidate first scored `target` on validation (undefined: never). */
function callsTo(report: OptimizerReport, target = 1): number | undefined {
  const hits = report.candidates.filter((c) => c.validationScore !== undefined && c.validationScore >= target && c.validatedAtCalls !== undefined);
  return hits.length ? Math.min(...hits.map((c) => c.validatedAtCalls!)) : undefined;
}

describe('GEPA building blocks', () => {
  it('the Pareto front keeps every candidate best on some example, drops dominated ones and duplicates', () => {
    const front = paretoFront([
      { id: 'a', scores: [1, 0, 0] },
      { id: 'b', scores: [0, 1, 0] },
      { id: 'c', scores: [0, 1, 0] },
      { id: 'd', scores: [0, 0.5, 0] },
      { id: 'e', scores: [1, 1, 0] },
    ]);
    // e dominates a and b; c duplicates b; d is best nowhere
    assert.deepEqual(front, [{ id: 'e', wins: 3 }]);
    const two = paretoFront([
      { id: 'a', scores: [1, 0, 1] },
      { id: 'b', scores: [0, 1, 0] },
    ]);
    assert.deepEqual(two, [
      { id: 'a', wins: 2 },
      { id: 'b', wins: 1 },
    ]);
    assert.equal(dominates([1, 1], [1, 0]), true);
    assert.equal(dominates([1, 0], [1, 0]), false);
  });

  it('parents are drawn from the front in proportion to the examples they are best on', () => {
    const front = [
      { id: 'a', wins: 3 },
      { id: 'b', wins: 1 },
    ];
    let i = 0;
    const draws = [0, 0.5, 0.74, 0.76, 0.99];
    const picks = draws.map(() => pickFromFront(front, () => draws[i++]!));
    assert.deepEqual(picks, ['a', 'a', 'a', 'b', 'b']);
  });

  it('metrics give textual feedback: what was expected and what came back; a judge-like reason is kept', async () => {
    const ex = { id: 'x', vars: {}, expected: 'billing', source: { file: 'f', line: 1 } };
    const r = await scoreOutput([createMetric({ type: 'exact' })], 'The intent is billing.', ex, {});
    assert.equal(r.score, 0);
    assert.equal(r.feedback, 'Wrong: expected "billing"; the answer was "The intent is billing.".');
    assert.equal((await scoreOutput([createMetric({ type: 'exact' })], 'billing', ex, {})).feedback, 'Correct: the answer matches "billing".');
    const custom = { name: 'pairwise', weight: 1, score: async () => ({ score: 0, feedback: 'B is clearer: it names the label only.' }) };
    assert.equal((await scoreOutput([custom], 'x', ex, {})).feedback, 'B is clearer: it names the label only.');
    assert.match(defaultFeedback(0.5, 'x', ex, 'cosine 0.5'), /^Partly right \(score 0\.50\): expected "billing"; the answer was "x" \(cosine 0\.5\)\.$/);
    // a result logged before feedback existed still gets one
    assert.match(feedbackOf({ exampleId: 'x', score: 0, output: 'no', metrics: [], latencyMs: 1 }, ex), /expected "billing"; the answer was "no"/);
  });

  it('the auto presets and an explicit metric-call budget set the plan and the estimate', () => {
    const fake = { ...intentCtx({ url: 'http://127.0.0.1:9' } as FakeOpenAIServer) };
    const v = intent.validation.length;
    for (const auto of ['light', 'medium', 'heavy'] as const) {
      const opt = createOptimizer('gepa', { gepa: { auto } });
      const est = opt.estimate(fake);
      assert.equal(est.proposalCalls, GEPA_AUTO[auto]);
      assert.equal(est.taskCalls, v + GEPA_AUTO[auto] * (2 * 3 + v));
    }
    const est = createOptimizer('gepa', { gepa: { maxMetricCalls: 50 } }).estimate(fake);
    assert.equal(est.taskCalls, 50);
    assert.equal(est.proposalCalls, Math.floor((50 - v) / 6));
    assert.throws(() => createOptimizer('gepa', { gepa: { auto: 'huge' as 'light' } }), /light, medium or heavy/);
  });
});

describe('GEPA against the intent task model', function () {
  this.timeout(30000);
  let srv: FakeOpenAIServer;
  before(async () => {
    srv = await startFakeOpenAI({ handler: intentHandler });
  });
  after(() => srv.close());
  beforeEach(() => srv.reset());

  it('finds the instruction that fixes the failing examples, with lineage (parent, feedback answered), in fewer calls than COPRO', async () => {
    const gepa = await createOptimizer('gepa', { gepa: { seed: 1 } }).optimize(intentCtx(srv));
    const gepaRequests = srv.requests.length;
    assert.equal(gepa.baseline.validationScore, 0);
    assert.equal(gepa.best.validationScore, 1);
    assert.ok(isIntentBest(gepa.best.text), gepa.best.text);
    assert.ok(gepa.best.text.startsWith(INTENT_BASE));
    // lineage: back to the baseline, each step answering feedback on its parent's failures
    const byId = new Map(gepa.candidates.map((c) => [c.id, c]));
    let c: ScoredCandidate | undefined = gepa.best;
    let steps = 0;
    while (c && c.id !== gepa.baseline.id) {
      assert.ok(c.answered?.length, 'a GEPA candidate records the feedback it answered');
      assert.ok(c.answered!.every((f) => f.score < 1 && /^Wrong/.test(f.text)));
      assert.ok(c.minibatch && c.minibatch.child > c.minibatch.parent);
      c = byId.get(c.parentId!);
      steps++;
    }
    assert.ok(c && steps >= 1);
    // the reflection saw the answers and the feedback
    const reflections = srv.chatRequests().filter((r) => JSON.stringify(r.body).includes('reflective instruction editor'));
    assert.ok(reflections.length >= 1);
    assert.match(JSON.stringify(reflections[0]!.body), /<feedback>\\nWrong: expected/);

    srv.reset();
    const copro = await createOptimizer('copro').optimize(intentCtx(srv));
    assert.equal(copro.best.validationScore, 1, 'COPRO reaches the same validation score on this task');
    const g = callsTo(gepa)!;
    const k = callsTo(copro)!;
    assert.ok(g < k, `GEPA reached 100% in ${g} calls, COPRO in ${k}`);
    assert.ok(gepaRequests < srv.requests.length);
  });

  it('a calls budget is a hard cap: the run stops early, never goes past it, and never leaves a child unvalidated', async () => {
    const budget = { maxCalls: 14 };
    const report = await createOptimizer('gepa', { gepa: { seed: 1 } }).optimize(intentCtx(srv, { budget }));
    assert.ok(srv.requests.length <= budget.maxCalls, `${srv.requests.length} requests`);
    assert.equal(report.stoppedReason, 'budget');
    for (const c of report.candidates) if (c.source === 'gepa' && !c.rejectedReason) assert.notEqual(c.validationScore, undefined);
  });

  it('the metric-call budget bounds the example evaluations', async () => {
    const report = await createOptimizer('gepa', { gepa: { seed: 1, maxMetricCalls: 25 } }).optimize(intentCtx(srv));
    const task = srv.chatRequests().filter((r) => !JSON.stringify(r.body).includes('reflective instruction editor')).length;
    // 8 for the baseline, one step (3 + 3) and its child's validation (8) = 22; a second step would need 14 more
    assert.equal(task, 22);
    assert.equal(report.candidates.length, 2);
    assert.equal(report.best.validationScore, 0.75);
  });

  it('a proposal that drops a variable is rejected, not scored', async () => {
    const rec = record(`Classify the intent of ${INTENT_USER}.`);
    const lossy = await startFakeOpenAI({
      handler: (req) =>
        JSON.stringify(req.messages).includes('reflective instruction editor') ? { content: JSON.stringify({ instruction: `Classify the intent. ${FORMAT_PHRASE}` }) } : intentHandler(req),
    });
    const report = await createOptimizer('gepa', { gepa: { maxMetricCalls: 30 } }).optimize(intentCtx(lossy, { record: rec, messages: undefined }));
    await lossy.close();
    const bad = report.candidates.find((c) => c.rejectedReason);
    assert.ok(bad);
    assert.match(bad.rejectedReason!, /missing: \{\{#1711111111111\.query#\}\}/);
    assert.equal(bad.validationScore, undefined);
  });

  it('cancelled mid-way and resumed with the same run id, it repeats no call and ends as an uninterrupted run', async () => {
    const dir = await tempDir();
    const runs = path.join(dir, '.optimizer', 'runs');
    const opt = () => createOptimizer('gepa', { gepa: { seed: 1 } });
    const one = { client: client(srv.url, { concurrency: 1 }), concurrency: 1 };
    const full = await opt().optimize(intentCtx(srv, { runId: 'ref', ...one }));
    const fullBodies = srv.requests.length;
    srv.reset();

    const ac = new AbortController();
    const store1 = await RunStore.open(runs, 'gepa-resume');
    let seen = 0;
    const first = opt().optimize(
      intentCtx(srv, {
        runId: 'gepa-resume',
        ...one,
        client: client(srv.url, { concurrency: 1 }),
        store: store1,
        onProgress: () => {
          if (++seen === 16) ac.abort();
        },
      }),
      ac.signal,
    );
    await assert.rejects(first, (e: unknown) => e instanceof CancelledError);
    await store1.close();
    const answered1 = srv.requests.filter((r) => r.outcome === 'answered').map((r) => JSON.stringify(r.body));
    assert.ok(answered1.length >= 8 && answered1.length < fullBodies, `first attempt made ${answered1.length} of ${fullBodies}`);
    srv.reset();

    const store2 = await RunStore.open(runs, 'gepa-resume');
    const second = await opt().optimize(intentCtx(srv, { runId: 'gepa-resume', ...one, client: client(srv.url, { concurrency: 1 }), store: store2 }));
    await store2.close();
    const bodies2 = srv.requests.map((r) => JSON.stringify(r.body));
    assert.deepEqual(
      bodies2.filter((b) => answered1.includes(b)),
      [],
      'a resumed run sent a request already answered',
    );
    assert.equal(answered1.length + bodies2.length, fullBodies);
    assert.equal(second.best.text, full.best.text);
    assert.equal(second.best.validationScore, full.best.validationScore);
  });

  it('joins the Ensemble: a GEPA member gets its share of the budget and its winner can win', async () => {
    const opt = createOptimizer('ensemble', { ensemble: { members: ['knn', 'gepa'] }, gepa: { seed: 1 }, knn: { k: 3 } });
    const budget = { maxCalls: 120 };
    const report = await opt.optimize(intentCtx(srv, { budget, embedder: tfidfEmbedder() }));
    assert.ok(srv.requests.length <= budget.maxCalls);
    assert.deepEqual(report.members!.map((m) => m.optimizer), ['knn', 'gepa']);
    assert.deepEqual(report.budgetPlan!.map((p) => p.optimizer), ['knn', 'gepa']);
    assert.equal(report.best.validationScore, 1);
    assert.equal(report.best.source, 'gepa');
  });
});
