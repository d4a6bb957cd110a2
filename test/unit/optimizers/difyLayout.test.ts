/**
 * Dataset optimizers on Dify's usual layout (a system prompt plus a user message holding the
 * start node's query), against the intent task model (test/support/intentModel.ts: a TEST
 * DOUBLE on 127.0.0.1, not a model; its scores are mechanics, never real-model results).
 */
import * as assert from 'node:assert/strict';
import { createOptimizer, tfidfEmbedder } from '../../../src/core/optimizers';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { INTENT_VAR, intentHandler } from '../../support/intentModel';
import { intent, intentCtx } from './helpers';

/** The chat request bodies the server received, as {messages}. */
function chats(srv: FakeOpenAIServer): Array<{ messages: Array<{ role: string; content: string }> }> {
  return srv.chatRequests().map((r) => r.body as { messages: Array<{ role: string; content: string }> });
}

describe("dataset optimizers on Dify's standard layout (intent task model)", function () {
  this.timeout(30000);
  let srv: FakeOpenAIServer;
  before(async () => {
    srv = await startFakeOpenAI({ handler: intentHandler });
  });
  after(() => srv.close());
  beforeEach(() => srv.reset());

  it('KNN: every demo shows the input the node receives (the user turn), the embeddings see it too, and validation rises', async () => {
    const report = await createOptimizer('knn', { knn: { k: 3 } }).optimize(intentCtx(srv));
    const queries = new Set(intent.train.map((e) => e.vars[INTENT_VAR]));
    const demoCands = report.candidates.filter((c) => c.demos?.length);
    assert.ok(demoCands.length > 0);
    for (const c of demoCands) for (const d of c.demos!) assert.ok(queries.has(d.input), `demo input ${JSON.stringify(d.input)} is not a train query`);
    const embeds = srv.requests.filter((r) => r.path.includes('embeddings')).map((r) => (r.body as { input: string[] }).input);
    assert.equal(embeds.length, 1);
    assert.ok(embeds[0]!.every((t) => t.trim().length > 0), 'an embeddings input is empty');
    for (const body of chats(srv)) {
      const sys = body.messages.filter((m) => m.role === 'system').map((m) => m.content).join('\n');
      assert.ok(!/Input: \n/.test(sys), 'a demo block has an empty input');
      for (let i = 0; i + 1 < body.messages.length - 1; i++) {
        if (body.messages[i]!.role === 'user' && body.messages[i + 1]!.role === 'assistant') assert.ok(body.messages[i]!.content.trim(), 'a demo pair has an empty user turn');
      }
    }
    assert.ok(report.best.validationScore! > report.baseline.validationScore!, `${report.best.validationScore} vs ${report.baseline.validationScore}`);
  });

  it('KNN on a system-only prompt: the example input is sent as the user turn and shown in the demos', async () => {
    const report = await createOptimizer('knn', { knn: { k: 3, modes: ['block'] } }).optimize(intentCtx(srv, { messages: undefined, embedder: tfidfEmbedder() }));
    const queries = new Set(intent.train.map((e) => e.vars[INTENT_VAR]));
    for (const c of report.candidates.filter((x) => x.demos?.length)) for (const d of c.demos!) assert.ok(queries.has(d.input));
    const last = chats(srv).map((b) => b.messages[b.messages.length - 1]!);
    assert.ok(last.every((m) => m.role === 'user' && m.content.trim()));
    assert.ok(report.best.validationScore! > report.baseline.validationScore!);
  });

  it('Ensemble under a calls budget: members get shares planned up front, the best train candidate of every member is validated, the plan is reported', async () => {
    const opt = createOptimizer('ensemble', { ensemble: { members: ['copro', 'knn'] }, copro: { breadth: 4, depth: 3 }, knn: { k: 3 } });
    const budget = { maxCalls: 150 };
    const report = await opt.optimize(intentCtx(srv, { budget, embedder: tfidfEmbedder() }));
    assert.ok(srv.requests.length <= budget.maxCalls, `${srv.requests.length} requests`);
    assert.equal(report.members!.length, 2);
    for (const m of report.members!) {
      const trainBest = m.candidates.filter((c) => c.trainScore !== undefined && c.id !== m.baseline.id && !c.rejectedReason).sort((a, b) => b.trainScore! - a.trainScore!)[0];
      if (trainBest) assert.notEqual(trainBest.validationScore, undefined, `${m.optimizer}: its best on train (${trainBest.trainScore}) was never validated`);
      assert.ok(report.best.validationScore! >= m.best.validationScore!);
    }
    const plan = report.budgetPlan!;
    assert.deepEqual(plan.map((p) => p.optimizer), ['copro', 'knn']);
    assert.ok(plan.reduce((n, p) => n + p.allottedCalls, 0) <= budget.maxCalls - intent.validation.length, 'shares leave the Ensemble its own validation');
    const copro = plan[0]!;
    assert.ok(copro.cutShort && /share of the calls budget/.test(copro.cutShort), JSON.stringify(copro));
    assert.ok(report.best.validationScore! > report.baseline.validationScore!);
  });

  it('Ensemble: a member whose validation cannot fit in the budget is not run, and the report says so', async () => {
    const opt = createOptimizer('ensemble', { ensemble: { members: ['copro', 'knn'] }, copro: { breadth: 4, depth: 3 }, knn: { k: 3 } });
    const budget = { maxCalls: 65 };
    const report = await opt.optimize(intentCtx(srv, { budget, embedder: tfidfEmbedder() }));
    assert.ok(srv.requests.length <= budget.maxCalls);
    const [copro, knn] = report.budgetPlan!;
    assert.match(knn!.cutShort!, /not run: it needs at least 16 calls to validate one candidate/);
    assert.equal(copro!.allottedCalls >= copro!.minimumCalls, true);
    assert.deepEqual(report.members!.map((m) => m.optimizer), ['copro']);
    const coproBest = report.members![0]!.candidates.filter((c) => c.trainScore !== undefined && c.id !== report.baseline.id).sort((a, b) => b.trainScore! - a.trainScore!)[0]!;
    assert.notEqual(coproBest.validationScore, undefined);
    assert.equal(report.stoppedReason, 'budget');
  });
});
