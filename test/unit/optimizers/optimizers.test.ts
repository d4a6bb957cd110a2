/**
 * Dataset optimizers against a scripted task model on 127.0.0.1 (see taskModel.ts: a TEST
 * DOUBLE, not a model; its scores are never real-model results).
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import type { EngineEvent } from '../../../src/core/engine/events';
import { createLlmClient } from '../../../src/core/llm';
import {
  CandidateManager,
  EmbeddingIndex,
  chooseTaskModel,
  MetricsTracker,
  coverDemos,
  createOptimizer,
  endpointEmbedder,
  makeCandidate,
  recordAccepted,
  tfidfEmbedder,
  type OptimizerProgress,
} from '../../../src/core/optimizers';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { scriptedHandler } from '../../support/taskModel';
import { client, ctxFor, isBest, record, sentiment, tempDir, tickets } from './helpers';


describe('optimizers: building blocks', () => {
  it('CandidateManager dedupes by normalized text, keeps history and ranks top n', () => {
    const m = new CandidateManager();
    const a = m.add(makeCandidate({ text: 'Answer briefly.', source: 'copro', round: 1 }));
    const b = m.add(makeCandidate({ text: '  answer   BRIEFLY ', source: 'copro', round: 2 }));
    assert.equal(a.added, true);
    assert.equal(b.added, false);
    assert.equal(b.candidate, a.candidate);
    const c = m.add(makeCandidate({ text: 'Answer briefly.', demos: [{ exampleId: 'x', input: 'i', output: 'o' }], source: 'knn', round: 1 }));
    assert.equal(c.added, true);
    a.candidate.trainScore = 0.5;
    c.candidate.trainScore = 0.5;
    c.candidate.validationScore = 0.9;
    assert.deepEqual(m.top(1, 'train').map((x) => x.id), [c.candidate.id]);
    assert.equal(m.history().length, 2);
  });

  it('MetricsTracker summarizes execution times, success rates and improvements', () => {
    let t = 0;
    const tr = new MetricsTracker(() => t);
    tr.record('executionTimes', 10);
    tr.record('executionTimes', 30);
    tr.record('successRates', 1);
    tr.record('improvementScores', 0.2);
    t = 50;
    const s = tr.summary();
    assert.deepEqual([s.executionTimes.count, s.executionTimes.mean, s.executionTimes.max], [2, 20, 30]);
    assert.equal(s.improvementScores.max, 0.2);
    assert.equal(s.durationMs, 50);
  });

  it('chooseTaskModel: --task-model, else the node\'s own model, else the configured one', () => {
    const node = { model: { provider: 'openai', name: 'gpt-3.5-turbo', mode: 'chat' } };
    assert.deepEqual(chooseTaskModel(node, { explicit: 'chosen', configured: 'cfg' }), { name: 'chosen', source: 'flag' });
    assert.deepEqual(chooseTaskModel(node, { explicit: '  ', configured: 'cfg' }), { name: 'gpt-3.5-turbo', source: 'node' });
    assert.deepEqual(chooseTaskModel({ model: { provider: 'openai' } }, { configured: 'cfg' }), { name: 'cfg', source: 'configured' });
    assert.deepEqual(chooseTaskModel({}, {}), { source: 'configured' });
  });

  it('coverDemos picks demos covering every validation input before repeating one', () => {
    const sim = [
      [0.9, 0.8, 0.0, 0.0],
      [0.0, 0.0, 0.7, 0.1],
      [0.1, 0.0, 0.0, 0.6],
    ];
    assert.deepEqual(coverDemos(sim, 3), [0, 2, 3]);
  });
});

describe('optimizers against the scripted task model', function () {
  this.timeout(20000);
  let srv: FakeOpenAIServer;
  before(async () => {
    srv = await startFakeOpenAI({ handler: scriptedHandler });
  });
  after(() => srv.close());
  beforeEach(() => srv.reset());

  it('COPRO finds the known-best instruction within its budget, chosen on validation, with events for every candidate', async () => {
    const events: EngineEvent[] = [];
    const progress: OptimizerProgress[] = [];
    const opt = createOptimizer('copro', { copro: { breadth: 3, depth: 2 } });
    const est = opt.estimate(ctxFor(srv));
    // proposals: (breadth − 1) + (depth − 1) × breadth = 5; task: (1 + 5) × |train| + (1 + 3) × |validation|
    assert.equal(est.proposalCalls, 5);
    assert.equal(est.taskCalls, 6 * sentiment.train.length + 4 * sentiment.validation.length);
    const budget = { maxCalls: est.calls };
    const ctx = ctxFor(srv, { budget, events: (e) => events.push(e), onProgress: (p) => progress.push(p) });
    const report = await opt.optimize(ctx);
    assert.ok(srv.requests.length <= est.calls, `${srv.requests.length} requests > budget ${est.calls}`);
    assert.ok(isBest(report.best.text), report.best.text);
    assert.equal(report.accepted, true);
    assert.equal(report.baseline.validationScore, 0);
    assert.equal(report.best.validationScore, 1);
    assert.ok(report.improvement > 0);
    assert.ok(report.best.trainScore !== undefined);
    // later rounds saw the scored attempts: the winner combines phrases proposed separately in round 1
    assert.ok(report.best.round >= 2);
    const proposals = srv.chatRequests().filter((r) => JSON.stringify(r.body).includes('instruction optimizer'));
    assert.equal(proposals.length, 5);
    assert.ok(proposals.every((r) => (r.body as { temperature: number }).temperature === 1.4));
    // events
    assert.equal(events[0]!.type, 'optimization_start');
    assert.equal(events[events.length - 1]!.type, 'optimization_complete');
    const generated = events.filter((e) => e.type === 'candidate_generated').length;
    assert.equal(generated, report.candidates.length);
    const evaluated = events.filter((e): e is Extract<EngineEvent, { type: 'candidate_evaluated' }> => e.type === 'candidate_evaluated');
    for (const c of report.candidates) assert.ok(evaluated.some((e) => e.trainScore === c.trainScore || e.kept === false), `no evaluation event for ${c.text}`);
    assert.ok(evaluated.some((e) => e.validationScore === 1 && e.trainScore !== undefined));
    assert.ok(progress.length > 0 && progress[progress.length - 1]!.done > 0);
    assert.ok(report.metrics.executionTimes.count > 0);
    assert.equal(report.metrics.successRates.min, 1);
  });

  it('COPRO stops early under a small calls budget and never goes past it', async () => {
    const report = await createOptimizer('copro', { copro: { breadth: 4, depth: 3 } }).optimize(ctxFor(srv, { budget: { maxCalls: 25 } }));
    assert.ok(srv.requests.length <= 25, `${srv.requests.length} requests`);
    assert.equal(report.stoppedReason, 'budget');
    assert.ok(report.baseline.validationScore !== undefined);
  });

  it('KNN few-shot picks demos that cover the validation inputs and raise the validation score (local TF-IDF vectors)', async () => {
    const rec = record('Route the support ticket to a department. Reply with the department name.');
    const report = await createOptimizer('knn', { knn: { k: 3 } }).optimize({
      ...ctxFor(srv),
      record: rec,
      train: tickets.train,
      validation: tickets.validation,
      embedder: tfidfEmbedder(),
    });
    assert.equal(report.baseline.validationScore, 0);
    assert.equal(report.best.validationScore, 1);
    assert.equal(report.accepted, true);
    const outs = new Set(report.best.demos!.map((d) => d.output));
    assert.deepEqual([...outs].sort(), ['billing', 'shipping', 'technical']);
    assert.equal(srv.requests.filter((r) => r.path.includes('embeddings')).length, 0);
    // both placements were measured
    assert.deepEqual(new Set(report.candidates.filter((c) => c.demos).map((c) => c.demoMode)), new Set(['block', 'pairs']));
  });

  it('KNN uses the endpoint embeddings when available', async () => {
    const rec = record('Route the support ticket to a department.');
    const report = await createOptimizer('knn', { knn: { k: 3, modes: ['pairs'], scoreTrain: false } }).optimize({
      ...ctxFor(srv),
      record: rec,
      train: tickets.train,
      validation: tickets.validation,
    });
    assert.equal(srv.requests.filter((r) => r.path.includes('embeddings')).length, 1);
    assert.ok(report.best.validationScore! > report.baseline.validationScore!);
  });

  it('Ensemble runs COPRO, KNN and GEPA concurrently and keeps the best on validation; budget respected', async () => {
    const opt = createOptimizer('ensemble', { copro: { breadth: 3, depth: 2 }, knn: { k: 2 } });
    const est = opt.estimate(ctxFor(srv));
    const events: EngineEvent[] = [];
    const report = await opt.optimize(ctxFor(srv, { budget: { maxCalls: est.calls }, embedder: tfidfEmbedder(), events: (e) => events.push(e) }));
    assert.ok(srv.requests.length <= est.calls);
    assert.ok(isBest(report.best.text), report.best.text);
    assert.equal(report.best.validationScore, 1);
    assert.equal(report.accepted, true);
    assert.deepEqual(report.members!.map((m) => m.optimizer), ['copro', 'knn', 'gepa']);
    for (const m of report.members!) assert.ok(report.best.validationScore! >= m.best.validationScore!);
    assert.ok(report.candidates.some((c) => c.source === 'knn') && report.candidates.some((c) => c.source === 'copro'));
    // members ran at the same time: their start events come before either completes
    const starts = events.filter((e) => e.type === 'optimization_start').map((e) => events.indexOf(e));
    const firstComplete = events.findIndex((e) => e.type === 'optimization_complete');
    assert.ok(starts.length === 4 && starts.every((i) => i < firstComplete));
  });


  it('accepted versions go into the embeddings index, and COPRO seeds its first round with the nearest one', async () => {
    const dir = await tempDir();
    const index = await EmbeddingIndex.open(path.join(dir, '.optimizer'));
    const first = await createOptimizer('copro', { copro: { breadth: 3, depth: 2 } }).optimize(ctxFor(srv));
    const entry = await recordAccepted(first, index, { kind: 'llm-message' });
    assert.ok(entry && isBest(entry.text));
    const reopened = await EmbeddingIndex.open(path.join(dir, '.optimizer'));
    assert.equal(reopened.all().length, 1);
    srv.reset();
    const second = await createOptimizer('copro', { copro: { breadth: 2, depth: 1, validateTop: 1 } }).optimize(ctxFor(srv, { embeddingIndex: reopened }));
    const seed = second.candidates.find((c) => c.source === 'index');
    assert.ok(seed && isBest(seed.text));
    assert.equal(second.best.validationScore, 1);
    assert.equal(second.best.source, 'index');
  });

  it('a cost budget is a hard cap too: the run stops early and spends no more than allowed', async () => {
    const costly = createLlmClient(
      { baseUrl: srv.url, apiKey: 'sk-test', model: 'fake-model', concurrency: 4, maxRetries: 0 },
      { budget: { maxCostUsd: 0.5 }, costTable: { 'fake-model': { inputPerM: 1000, outputPerM: 1000 } }, defaultCompletionReserve: 16 },
    );
    const report = await createOptimizer('copro', { copro: { breadth: 4, depth: 3 } }).optimize(ctxFor(srv, { client: costly, budget: { maxCostUsd: 0.5 } }));
    assert.equal(report.stoppedReason, 'budget');
    assert.ok(costly.usage().costUsd <= 0.5, `spent ${costly.usage().costUsd}`);
    assert.ok(costly.usage().calls > 5);
  });

  it('KNN falls back to local TF-IDF when the endpoint has no embeddings, and says so in an event', async () => {
    const noEmb = await startFakeOpenAI({
      handler: scriptedHandler,
      embed: () => {
        throw new Error('embeddings not served here');
      },
    });
    const events: EngineEvent[] = [];
    try {
      const report = await createOptimizer('knn', { knn: { k: 3, modes: ['block'], scoreTrain: false } }).optimize({
        ...ctxFor(noEmb),
        record: record('Route the support ticket to a department.'),
        train: tickets.train,
        validation: tickets.validation,
        events: (e) => events.push(e),
      });
      assert.equal(report.best.validationScore, 1);
      assert.ok(events.some((e) => e.type === 'optimization_error' && /TF-IDF/.test(e.message)));
    } finally {
      await noEmb.close();
    }
  });

  it('Ensemble weighted vote: member weight × validation score picks the winner', async () => {
    const report = await createOptimizer('ensemble', { copro: { breadth: 2, depth: 1 }, knn: { k: 3 }, ensemble: { aggregation: 'weighted', weights: { knn: 10 }, combine: false } }).optimize(
      ctxFor(srv, { embedder: tfidfEmbedder() }),
    );
    const knnBest = report.members!.find((m) => m.optimizer === 'knn')!.best;
    assert.ok(knnBest.validationScore! > 0);
    assert.equal(report.best.source, 'knn');
    assert.ok(report.accepted);
  });

  it('accepted versions keep their endpoint embedding in the index', async () => {
    const dir = await tempDir();
    const index = await EmbeddingIndex.open(path.join(dir, '.optimizer'));
    const c = client(srv.url);
    const emb = endpointEmbedder(c);
    const e = await index.add({ promptId: 'p', text: 'Answer with one word.', score: 1, runId: 'r' }, emb);
    assert.equal(e.vector?.length, 64);
    assert.equal(e.vectorKind, 'endpoint:default');
    const near = await index.nearest('Reply with one word only', 1, { embedder: emb });
    assert.equal(near[0]!.text, 'Answer with one word.');
  });

  it('a proposal that drops a variable is rejected, not scored', async () => {
    const rec = record('Classify the sentiment of {{#sys.query#}}.');
    const lossy = await startFakeOpenAI({
      handler: (req, hc) =>
        JSON.stringify(req.messages).includes('instruction optimizer')
          ? { content: JSON.stringify({ instruction: 'Classify the sentiment. Answer with one word.' }) }
          : scriptedHandler(req, hc),
    });
    const report = await createOptimizer('copro', { copro: { breadth: 2, depth: 1 } }).optimize(ctxFor(lossy, { record: rec }));
    await lossy.close();
    const bad = report.candidates.find((c) => c.rejectedReason);
    assert.ok(bad);
    assert.match(bad.rejectedReason!, /missing: \{\{#sys\.query#\}\}/);
    assert.equal(bad.trainScore, undefined);
  });
});
