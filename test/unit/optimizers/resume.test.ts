/**
 * Cancel and resume of dataset optimizers against a scripted task model on 127.0.0.1 (see taskModel.ts: a TEST
 * DOUBLE, not a model; its scores are never real-model results).
 */
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { CancelledError, UsageError } from '../../../src/core/errors';
import { createMetric, parseDataset } from '../../../src/core/evaluation';
import { createLlmClient } from '../../../src/core/llm';
import {
  RunStore,
  createOptimizer,
  prepareTraining,
} from '../../../src/core/optimizers';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { SENTIMENT_JSONL, scriptedHandler } from '../../support/taskModel';
import { BASE, client, ctxFor, record, tempDir } from './helpers';


describe('optimizers: cancel and resume (scripted task model)', function () {
  this.timeout(20000);
  let srv: FakeOpenAIServer;
  before(async () => {
    srv = await startFakeOpenAI({ handler: scriptedHandler });
  });
  after(() => srv.close());
  beforeEach(() => srv.reset());
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
});
