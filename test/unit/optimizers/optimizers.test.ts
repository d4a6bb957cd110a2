/**
 * Dataset optimizers against a scripted task model on 127.0.0.1 (see taskModel.ts: a TEST
 * DOUBLE, not a model; its scores are never real-model results).
 */
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { EngineEvent } from '../../../src/core/engine/events';
import { CancelledError, UsageError } from '../../../src/core/errors';
import { createMetric, parseDataset, splitDataset } from '../../../src/core/evaluation';
import {
  CandidateManager,
  EmbeddingIndex,
  chooseTaskModel,
  MetricsTracker,
  RunStore,
  coverDemos,
  createOptimizer,
  endpointEmbedder,
  makeCandidate,
  prepareTraining,
  recordAccepted,
  tfidfEmbedder,
  type OptimizerContext,
  type OptimizerProgress,
} from '../../../src/core/optimizers';
import { createLlmClient } from '../../../src/core/llm';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { client, record, tempDir } from './helpers';
import { BEST_MARKERS, SENTIMENT_JSONL, TICKETS_JSONL, scriptedHandler } from '../../support/taskModel';

const BASE = 'Classify the sentiment of the review.';
const sentiment = splitDataset(parseDataset(SENTIMENT_JSONL, { file: 'sentiment.jsonl' }), { seed: 3 });
const tickets = splitDataset(parseDataset(TICKETS_JSONL, { file: 'tickets.jsonl' }));
const exact = [createMetric({ type: 'exact' })];
const isBest = (t: string) => BEST_MARKERS.every((m) => t.toLowerCase().includes(m));

function ctxFor(srv: FakeOpenAIServer, over: Partial<OptimizerContext> = {}): OptimizerContext {
  return {
    runId: 'test-run',
    record: record(BASE),
    train: sentiment.train,
    validation: sentiment.validation,
    metrics: exact,
    client: client(srv.url, { budget: over.budget }),
    concurrency: 4,
    ...over,
  };
}

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

  it('Ensemble runs COPRO and KNN concurrently and keeps the best on validation; budget respected', async () => {
    const opt = createOptimizer('ensemble', { copro: { breadth: 3, depth: 2 }, knn: { k: 2 } });
    const est = opt.estimate(ctxFor(srv));
    const events: EngineEvent[] = [];
    const report = await opt.optimize(ctxFor(srv, { budget: { maxCalls: est.calls }, embedder: tfidfEmbedder(), events: (e) => events.push(e) }));
    assert.ok(srv.requests.length <= est.calls);
    assert.ok(isBest(report.best.text), report.best.text);
    assert.equal(report.best.validationScore, 1);
    assert.equal(report.accepted, true);
    assert.deepEqual(report.members!.map((m) => m.optimizer), ['copro', 'knn']);
    for (const m of report.members!) assert.ok(report.best.validationScore! >= m.best.validationScore!);
    assert.ok(report.candidates.some((c) => c.source === 'knn') && report.candidates.some((c) => c.source === 'copro'));
    // members ran at the same time: their start events come before either completes
    const starts = events.filter((e) => e.type === 'optimization_start').map((e) => events.indexOf(e));
    const firstComplete = events.findIndex((e) => e.type === 'optimization_complete');
    assert.ok(starts.length === 3 && starts.every((i) => i < firstComplete));
  });

  it('a run cancelled mid-way and resumed with the same run id repeats no call', async () => {
    const dir = await tempDir();
    const runs = path.join(dir, '.optimizer', 'runs');
    const opt = () => createOptimizer('copro', { copro: { breadth: 3, depth: 2 } });
    // reference: an uninterrupted run
    const full = await opt().optimize(ctxFor(srv, { runId: 'ref', client: client(srv.url, { concurrency: 1 }), concurrency: 1 }));
    const fullBodies = srv.requests.length;
    srv.reset();

    const ac = new AbortController();
    const store1 = await RunStore.open(runs, 'resume-1');
    let seen = 0;
    const c1 = client(srv.url, { concurrency: 1 });
    const first = opt().optimize(
      ctxFor(srv, {
        runId: 'resume-1',
        client: c1,
        concurrency: 1,
        store: store1,
        onProgress: () => {
          if (++seen === 20) ac.abort();
        },
      }),
      ac.signal,
    );
    await assert.rejects(first, (e: unknown) => e instanceof CancelledError);
    await store1.close();
    const answered1 = srv.requests.filter((r) => r.outcome === 'answered').map((r) => JSON.stringify(r.body));
    assert.ok(answered1.length >= 15 && answered1.length < fullBodies, `first attempt made ${answered1.length} of ${fullBodies}`);
    srv.reset();

    const store2 = await RunStore.open(runs, 'resume-1');
    assert.ok(store2.size >= answered1.length - 5);
    const second = await opt().optimize(ctxFor(srv, { runId: 'resume-1', client: client(srv.url, { concurrency: 1 }), concurrency: 1, store: store2 }));
    await store2.close();
    const bodies2 = srv.requests.map((r) => JSON.stringify(r.body));
    const repeated = bodies2.filter((b) => answered1.includes(b));
    assert.deepEqual(repeated, [], 'a resumed run sent a request already answered');
    assert.equal(answered1.length + bodies2.length, fullBodies);
    assert.ok(second.reusedResults >= answered1.length - 5);
    assert.equal(second.best.text, full.best.text);
    assert.equal(second.best.validationScore, full.best.validationScore);
  });

  for (const where of ['client', 'server'] as const) {
    it(`a run cancelled as answers arrive (${where === 'client' ? 'the moment one reaches the client' : 'from the server while it sends one'}), others in flight: every answer that arrived is recorded and the resumed run repeats none`, async () => {
      const dir = await tempDir();
      const runs = path.join(dir, '.optimizer', 'runs');
      const opt = () => createOptimizer('copro', { copro: { breadth: 3, depth: 2 } });
      const norm = (b: unknown) => JSON.stringify(typeof b === 'string' ? JSON.parse(b) : b);
      const isTask = (body: string) => !body.includes('instruction optimizer');
      await opt().optimize(ctxFor(srv, { runId: 'ref' }));
      const reference = new Set(srv.requests.map((r) => norm(r.body)));
      srv.reset();

      const ac = new AbortController();
      const arrived: string[] = [];
      let tasks = 0;
      const cancelAt = 9;
      // Records the requests whose whole answer reached the client; in 'client' mode cancels right after the 9th task answer did.
      const noting: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        const text = await res.text();
        const body = norm(init!.body as string);
        arrived.push(body);
        if (where === 'client' && isTask(body) && ++tasks === cancelAt) ac.abort();
        return new Response(text, { status: res.status, headers: res.headers });
      };
      const server = await startFakeOpenAI({
        handler: (req, hc) => {
          if (where === 'server' && isTask(JSON.stringify(req.body)) && ++tasks === cancelAt) ac.abort();
          return { ...scriptedHandler(req, hc), latencyMs: 5 + (hc.index % 4) * 5 };
        },
      });
      try {
        const c1 = createLlmClient({ baseUrl: server.url, apiKey: 'sk-test', model: 'fake-model', concurrency: 4, maxRetries: 0 }, { fetch: noting });
        const store1 = await RunStore.open(runs, `arrive-${where}`);
        await assert.rejects(opt().optimize(ctxFor(server, { runId: `arrive-${where}`, client: c1, store: store1 }), ac.signal), (e: unknown) => e instanceof CancelledError);
        await store1.close();
        assert.ok(server.maxInFlight > 1, 'answers were in flight together');
        // client mode: the 9th task answer arrived; server mode: at most 4 task requests (the 9th and 3 others) were still open
        const arrivedTasks = arrived.filter(isTask).length;
        assert.ok(arrivedTasks >= (where === 'client' ? cancelAt : cancelAt - 4) && arrived.length < reference.size, `${arrivedTasks} task answers arrived`);
        const recorded = (await fs.readFile(path.join(runs, `arrive-${where}.jsonl`), 'utf8')).split('\n').filter((l) => l.includes('"type":"result"')).length;
        assert.ok(recorded >= arrivedTasks, `${recorded} results recorded for ${arrivedTasks} task answers that arrived`);
        server.reset();

        const store2 = await RunStore.open(runs, `arrive-${where}`);
        await opt().optimize(ctxFor(server, { runId: `arrive-${where}`, store: store2 }));
        await store2.close();
        const second = server.requests.map((r) => norm(r.body));
        assert.deepEqual(second.filter((b) => arrived.includes(b)), [], 'the resumed run repeated a request whose answer had arrived');
        assert.deepEqual(new Set([...arrived, ...second]), reference);
      } finally {
        await server.close();
      }
    });
  }

  it('cancelled while a judge scores an answer: the task answer is kept and the resumed run only asks the judge again', async () => {
    const dir = await tempDir();
    const runs = path.join(dir, '.optimizer', 'runs');
    const judge = [createMetric({ type: 'llm_judge', rubric: 'The label is right.' })];
    const ac = new AbortController();
    let judged = 0;
    const server = await startFakeOpenAI({
      handler: (req, hc) => {
        if (!JSON.stringify(req.messages).includes('You grade an answer')) return scriptedHandler(req, hc);
        if (++judged === 3) {
          ac.abort();
          return { hang: true };
        }
        return { content: JSON.stringify({ score: 1, reason: 'fine' }) };
      },
    });
    const bodies = () => server.chatRequests().map((r) => JSON.stringify(r.body));
    const isTask = (b: string) => !b.includes('You grade an answer') && !b.includes('instruction optimizer');
    try {
      const opt = () => createOptimizer('copro', { copro: { breadth: 2, depth: 1 } });
      const store1 = await RunStore.open(runs, 'judged');
      await assert.rejects(
        opt().optimize(ctxFor(server, { runId: 'judged', metrics: judge, client: client(server.url, { concurrency: 1 }), concurrency: 1, store: store1 }), ac.signal),
        (e: unknown) => e instanceof CancelledError,
      );
      await store1.close();
      const first = bodies();
      assert.equal(first.filter(isTask).length, 3);
      server.reset();
      const store2 = await RunStore.open(runs, 'judged');
      await opt().optimize(ctxFor(server, { runId: 'judged', metrics: judge, client: client(server.url, { concurrency: 1 }), concurrency: 1, store: store2 }));
      await store2.close();
      const second = bodies();
      assert.deepEqual(second.filter((b) => isTask(b) && first.includes(b)), [], 'a task call was repeated');
      // the judge call that never answered is asked again
      assert.equal(second.filter((b) => !isTask(b) && first.includes(b)).length, 1);
    } finally {
      await server.close();
    }
  });

  /** Attempt 1 of a COPRO run cancelled after `cancelAfter` progress steps, then attempt 2 resumed; both with `budget`. */
  async function twoAttempts(runId: string, budget: { maxCalls?: number; maxTokens?: number }, cancelAfter = 20) {
    const dir = await tempDir();
    const runs = path.join(dir, '.optimizer', 'runs');
    const opt = () => createOptimizer('copro', { copro: { breadth: 3, depth: 2 } });
    const ac = new AbortController();
    let seen = 0;
    // answers here are short: a small allowance per answer leaves room for concurrent proposals under a token budget
    const c1 = client(srv.url, { concurrency: 1, budget, completionReserve: 200 });
    const store1 = await RunStore.open(runs, runId);
    const onProgress = () => {
      if (++seen === cancelAfter) ac.abort();
    };
    await assert.rejects(opt().optimize(ctxFor(srv, { runId, client: c1, concurrency: 1, store: store1, budget, onProgress }), ac.signal), (e: unknown) => e instanceof CancelledError);
    await store1.close();
    const first = srv.chatRequests().length;
    srv.reset();
    const c2 = client(srv.url, { concurrency: 1, budget, completionReserve: 200 });
    const store2 = await RunStore.open(runs, runId);
    const earlier = store2.earlier;
    const report = await opt().optimize(ctxFor(srv, { runId, client: c2, concurrency: 1, store: store2, budget }));
    await store2.close();
    const tokens = (c: ReturnType<typeof client>) => c.usage().promptTokens + c.usage().completionTokens;
    return { first, second: srv.chatRequests().length, earlier, report, tokens1: tokens(c1), tokens2: tokens(c2), c1 };
  }

  it('a resumed run counts the calls earlier attempts made against its calls budget', async () => {
    const full = createOptimizer('copro', { copro: { breadth: 3, depth: 2 } }).estimate(ctxFor(srv));
    assert.ok(full.calls > 50);
    const r = await twoAttempts('calls-budget', { maxCalls: 40 });
    assert.ok(r.first >= 15 && r.first < 40, `first attempt made ${r.first} calls`);
    assert.equal(r.earlier.calls, r.first, 'the run log records what the first attempt spent');
    assert.ok(r.first + r.second <= 40, `${r.first} + ${r.second} calls went past the budget of 40`);
    assert.deepEqual(r.report.earlierUsage, r.c1.spent!());
    assert.equal(r.report.stoppedReason, 'budget');
  });

  it('a resumed run counts the tokens earlier attempts used against its token budget', async () => {
    const ref = client(srv.url, { concurrency: 1 });
    await createOptimizer('copro', { copro: { breadth: 3, depth: 2 } }).optimize(ctxFor(srv, { client: ref, concurrency: 1 }));
    const fullTokens = ref.usage().promptTokens + ref.usage().completionTokens;
    srv.reset();
    const maxTokens = Math.round(fullTokens * 0.6);
    const r = await twoAttempts('tokens-budget', { maxTokens });
    assert.ok(r.tokens1 > 0 && r.tokens1 < maxTokens, `first attempt used ${r.tokens1} of ${maxTokens}`);
    assert.equal(r.earlier.tokens, r.tokens1);
    assert.ok(r.tokens1 + r.tokens2 <= maxTokens, `${r.tokens1} + ${r.tokens2} tokens went past the budget of ${maxTokens}`);
    assert.equal(r.report.stoppedReason, 'budget');
  });

  it('the estimate shown on resume leaves out what the run log holds and compares the rest with what is left of the budget', async () => {
    const root = await tempDir();
    const dataset = parseDataset(SENTIMENT_JSONL, { file: 'sentiment.jsonl' });
    const prepare = (c: ReturnType<typeof client>, budget?: { maxCalls: number }, onProgress?: () => void) =>
      prepareTraining({
        root,
        record: record(BASE),
        dataset,
        split: { seed: 3 },
        optimizer: 'copro',
        deps: { copro: { breadth: 3, depth: 2 } },
        client: c,
        budget,
        runId: 'est-resume',
        configuredModel: 'fake-model',
        concurrency: 1,
        useIndex: false,
        onProgress,
      });
    const ac = new AbortController();
    let seen = 0;
    const first = await prepare(client(srv.url, { concurrency: 1 }), undefined, () => {
      if (++seen === 25) ac.abort();
    });
    const full = first.estimate;
    assert.equal(first.resumedResults, 0);
    assert.ok(!full.notes.some((n) => /Reuses|Earlier attempts/.test(n)));
    await assert.rejects(first.run(ac.signal), (e: unknown) => e instanceof CancelledError);
    await first.close();
    const lines = (await fs.readFile(first.runFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string; kind?: string });
    const results = lines.filter((l) => l.type === 'result').length;
    const proposals = lines.filter((l) => l.type === 'memo' && l.kind === 'proposal').length;
    const spentCalls = srv.chatRequests().length;
    assert.ok(results >= 20 && proposals >= 1, `${results} results, ${proposals} proposals recorded`);

    const second = await prepare(client(srv.url, { concurrency: 1, budget: { maxCalls: 40 } }), { maxCalls: 40 });
    const est = second.estimate;
    await second.close();
    assert.deepEqual(second.reuse, { results, proposals, embeddings: 0 });
    assert.equal(est.taskCalls, full.taskCalls - results);
    assert.equal(est.proposalCalls, full.proposalCalls - proposals);
    assert.equal(est.calls, full.calls - results - proposals);
    assert.ok(est.promptTokens < full.promptTokens && est.completionTokens < full.completionTokens);
    assert.ok(est.notes.some((n) => n.includes(`Reuses ${results} result(s), ${proposals} proposal(s) recorded by earlier attempts of this run`)), est.notes.join('\n'));
    assert.ok(est.notes.some((n) => n.startsWith(`Earlier attempts of this run used ${spentCalls} call(s)`)), est.notes.join('\n'));
    if (est.calls > 40 - spentCalls) assert.ok(est.notes.some((n) => n.includes(`the budget allows ${40 - spentCalls} more (of 40)`)), est.notes.join('\n'));
  });

  it('resuming is refused when the prompt, its node\'s messages or the dataset changed since the run started, or when the run has no log; as they were, it resumes', async () => {
    const root = await tempDir();
    const dataset = parseDataset(SENTIMENT_JSONL, { file: 'sentiment.jsonl' });
    const messages = [{ role: 'system' as const, text: BASE }, { role: 'user' as const, text: '{{#sys.query#}}' }];
    const prepare = (over: { text?: string; messages?: typeof messages; dataset?: typeof dataset; runId?: string; resume?: boolean } = {}, onProgress?: () => void) =>
      prepareTraining({
        root,
        record: record(over.text ?? BASE),
        messages: over.messages ?? messages,
        dataset: over.dataset ?? dataset,
        split: { seed: 3 },
        optimizer: 'copro',
        deps: { copro: { breadth: 3, depth: 2 } },
        client: client(srv.url, { concurrency: 1 }),
        runId: over.runId ?? 'inputs',
        resume: over.resume ?? true,
        configuredModel: 'fake-model',
        concurrency: 1,
        useIndex: false,
        onProgress,
      });
    const ac = new AbortController();
    let seen = 0;
    const first = await prepare({ resume: false }, () => {
      if (++seen === 15) ac.abort();
    });
    await assert.rejects(first.run(ac.signal), (e: unknown) => e instanceof CancelledError);
    await first.close();
    const logText = await fs.readFile(first.runFile, 'utf8');
    const header = JSON.parse(logText.split('\n')[0]!) as { type: string; promptId: string; examples: number; datasetFile: string; optimizer: string };
    assert.deepEqual([header.type, header.promptId, header.examples, header.datasetFile, header.optimizer], ['header', record(BASE).id, 10, 'sentiment.jsonl', 'copro']);
    const calls = srv.requests.length;

    const refused = (pattern: RegExp) => (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.code, 'RESUME_CHANGED');
      assert.match(e.message, /run inputs cannot be resumed: /);
      assert.match(e.message, pattern);
      return true;
    };
    const edited = { ...dataset, examples: dataset.examples.map((e, i) => (i === 4 ? { ...e, expected: 'neutral' } : e)) };
    const more = parseDataset(`${SENTIMENT_JSONL}\n${JSON.stringify({ 'sys.query': 'Bad fan', expected: 'negative' })}`, { file: 'sentiment.jsonl' });
    const renamed = parseDataset(SENTIMENT_JSONL, { file: 'reviews.jsonl' });
    await assert.rejects(prepare({ text: `${BASE} Be brief.`, messages: [{ role: 'system', text: `${BASE} Be brief.` }, messages[1]!] }), refused(/the prompt text has changed since the run started\. Its recorded results would not hold; start a new run instead\.$/));
    await assert.rejects(prepare({ messages: [messages[0]!, { role: 'user', text: 'Review: {{#sys.query#}}' }] }), refused(/another message of the prompt's node has changed/));
    await assert.rejects(prepare({ dataset: edited }), refused(/the examples in sentiment\.jsonl have changed since the run started\. .*or resume with the dataset as it was\.$/));
    await assert.rejects(prepare({ dataset: more }), refused(/the examples in sentiment\.jsonl have changed since the run started \(10 example\(s\) then, 11 now\)/));
    await assert.rejects(prepare({ dataset: renamed }), refused(/other examples \(sentiment\.jsonl\) than those of reviews\.jsonl/));
    await assert.rejects(prepare({ text: 'Other.', messages: [{ role: 'system', text: 'Other.' }, messages[1]!], dataset: more }), refused(/prompt text has changed.*; the examples in sentiment\.jsonl have changed.*start a new run instead\.$/));
    await assert.rejects(prepare({ runId: 'nowhere' }), (e: unknown) => e instanceof UsageError && e.code === 'RESUME_NOT_FOUND' && /there is no run nowhere to resume/.test(e.message));
    await assert.rejects(fs.access(path.join(root, '.optimizer', 'runs', 'nowhere.jsonl')), 'a refused resume created a run log');
    assert.equal(srv.requests.length, calls, 'a refused resume sent a request');
    assert.equal(await fs.readFile(first.runFile, 'utf8'), logText, 'a refused resume wrote to the run log');

    // As they were: it resumes, reusing what the first attempt recorded, under the same single header.
    const again = await prepare();
    assert.ok(again.reuse.results > 0);
    const report = await again.run();
    await again.close();
    assert.ok(report.reusedResults > 0);
    const lines = (await fs.readFile(first.runFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.equal(lines.filter((l) => l.type === 'header').length, 1);
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
