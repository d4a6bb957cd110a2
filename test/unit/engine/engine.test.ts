import { strict as assert } from 'node:assert';
import { analyzePrompt } from '../../../src/core/analysis';
import { DEFAULT_CONFIG, resolveConfig } from '../../../src/core/engine/config';
import { OptimizationEngine } from '../../../src/core/engine/engine';
import type { EngineEvent } from '../../../src/core/engine/events';
import { planStrategies } from '../../../src/core/engine/strategies';
import { variableMultiset } from '../../../src/core/dsl/variables';
import { createLlmClient } from '../../../src/core/llm';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { MESSY, record } from './helpers';

function engineWith(plan = planStrategies(DEFAULT_CONFIG.strategies)) {
  const events: EngineEvent[] = [];
  const engine = new OptimizationEngine({ analyze: analyzePrompt, strategy: plan.resolve, events: (e) => events.push(e) });
  return { engine, events, plan };
}

describe('engine (rule strategies)', () => {
  it('improves a messy prompt, keeps its variables, and reports the run as events', async () => {
    const { engine, events, plan } = engineWith();
    const cfg = resolveConfig(DEFAULT_CONFIG, { strategies: plan.strategies, scoreThreshold: 100 });
    const r = await engine.optimizePrompt(record('n1/prompt_template/0', MESSY), cfg, { runId: 'r1' });
    assert.equal(r.accepted, true, r.skippedReason);
    assert.ok(r.improvement > 0);
    assert.ok(r.after.overall > r.before.overall);
    assert.deepEqual(variableMultiset(r.optimized), variableMultiset(MESSY));
    assert.ok(r.strategy && plan.strategies.includes(r.strategy));
    assert.ok(r.confidence >= cfg.minConfidence && r.confidence <= 1);
    assert.ok(r.lineChanges.added + r.lineChanges.removed > 0);
    assert.ok(r.rationale.length > 0);
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'optimization_start');
    assert.equal(types[types.length - 1], 'optimization_complete');
    assert.ok(types.includes('candidate_generated') && types.includes('candidate_evaluated'));
    // the kept chain is monotone: every kept candidate scores above the one before
    const kept = events.filter((e) => e.type === 'candidate_evaluated' && e.kept && e.strategy === r.strategy);
    for (let i = 1; i < kept.length; i++) {
      const a = kept[i - 1], b = kept[i];
      if (a.type === 'candidate_evaluated' && b.type === 'candidate_evaluated') assert.ok((b.score ?? 0) > (a.score ?? 0));
    }
  });

  it('skips empty prompts and prompts at or above the threshold unless forced', async () => {
    const { engine } = engineWith();
    const empty = await engine.optimizePrompt(record('e/x', ''), DEFAULT_CONFIG, { runId: 'r' });
    assert.equal(empty.accepted, false);
    assert.match(empty.skippedReason ?? '', /empty/);
    const cfg = resolveConfig(DEFAULT_CONFIG, { scoreThreshold: 0 });
    const skipped = await engine.optimizePrompt(record('m/x', MESSY), cfg, { runId: 'r' });
    assert.equal(skipped.accepted, false);
    assert.match(skipped.skippedReason ?? '', /threshold/);
    assert.equal(skipped.optimized, MESSY);
    const forced = await engine.optimizePrompt(record('m/x', MESSY), cfg, { runId: 'r', force: true });
    assert.equal(forced.accepted, true);
  });

  it('never keeps a step below min confidence', async () => {
    const { engine } = engineWith();
    const cfg = resolveConfig(DEFAULT_CONFIG, { minConfidence: 1, scoreThreshold: 100 });
    const r = await engine.optimizePrompt(record('m/x', MESSY), cfg, { runId: 'r' });
    assert.equal(r.accepted, false);
    assert.ok(r.candidates.some((c) => /confidence/.test(c.reason ?? '')));
  });

  it('honours max iterations per strategy', async () => {
    const { engine, events } = engineWith(planStrategies(['clarity_focus']));
    const cfg = resolveConfig(DEFAULT_CONFIG, { strategies: ['clarity_focus'], maxIterations: 1, scoreThreshold: 100 });
    await engine.optimizePrompt(record('m/x', MESSY), cfg, { runId: 'r' });
    assert.equal(events.filter((e) => e.type === 'candidate_generated').length <= 1, true);
  });
});

describe('engine (LLM strategies over loopback HTTP)', () => {
  let srv: FakeOpenAIServer;
  beforeEach(async () => {
    srv = await startFakeOpenAI();
  });
  afterEach(async () => {
    await srv.close();
  });

  const client = () => createLlmClient({ baseUrl: srv.url, apiKey: 'sk-test', model: 'fake-model', maxRetries: 0, timeoutMs: 5000 });

  it('runs llm_guided through the real client and keeps a variable-safe improvement', async () => {
    const plan = planStrategies(['llm_guided'], client());
    assert.deepEqual(plan.notes, []);
    const { engine } = engineWith(plan);
    const cfg = resolveConfig(DEFAULT_CONFIG, { strategies: ['llm_guided'], scoreThreshold: 100, maxIterations: 2 });
    const r = await engine.optimizePrompt(record('m/x', MESSY), cfg, { runId: 'r' });
    assert.ok(srv.chatRequests().length >= 1);
    assert.deepEqual(variableMultiset(r.optimized), variableMultiset(MESSY));
    assert.equal(r.accepted, true, r.skippedReason);
    assert.equal(r.strategy, "llm_guided");
    assert.ok(r.cost.calls >= 1);
  });

  it('rejects an answer that drops a variable, with the reason, and goes on', async () => {
    srv.enqueue({
      content: JSON.stringify({ prompt: 'Answer the question well.', rationale: 'shorter', confidence: 0.9, changes: [] }),
    });
    const plan = planStrategies(['llm_clarity', 'efficiency_focus'], client());
    const { engine, events } = engineWith(plan);
    const cfg = resolveConfig(DEFAULT_CONFIG, { strategies: ['llm_clarity', 'efficiency_focus'], scoreThreshold: 100, maxIterations: 1 });
    const r = await engine.optimizePrompt(record('m/x', MESSY), cfg, { runId: 'r' });
    const rejected = events.find((e) => e.type === 'candidate_evaluated' && e.strategy === 'llm_clarity' && !e.kept);
    assert.ok(rejected && rejected.type === 'candidate_evaluated');
    assert.match(rejected.reason ?? '', /dropped \{\{#sys\.query#\}\}/);
    assert.equal(r.strategy === 'llm_clarity', false);
  });

  it('one failing prompt does not stop the others', async () => {
    // Every request to the server fails with 500: the LLM strategy fails those prompts; the rule-only run still completes.
    const failing = createLlmClient({ baseUrl: srv.url, apiKey: 'sk-test', model: 'fake-model', maxRetries: 0, timeoutMs: 5000 });
    srv.enqueue({ status: 500 }, { status: 500 });
    const plan = planStrategies(['llm_guided'], failing);
    const { engine, events } = engineWith(plan);
    const cfg = resolveConfig(DEFAULT_CONFIG, { strategies: ['llm_guided'], scoreThreshold: 100, maxIterations: 1, concurrency: 1 });
    const prompts = [record('a/x', MESSY), record('b/x', MESSY + ' Thanks.'), record('c/x', '')];
    const out = await engine.optimizeAll(prompts, cfg, { runId: 'r' });
    assert.equal(out.failures.length, 2);
    assert.ok(out.failures.every((f) => f.error.code === 'ENGINE_PROMPT_FAILED'));
    assert.equal(out.results.length, 1);
    assert.equal(events.filter((e) => e.type === 'optimization_error').length, 2);
  });

  it('runs the strategies of a prompt at once; a real failure in one stops the others and fails the prompt', async () => {
    const slow = await startFakeOpenAI({ latencyMs: 300 });
    try {
      const c = createLlmClient({ baseUrl: slow.url, apiKey: 'sk-test', model: 'fake-model', maxRetries: 0, timeoutMs: 5000, concurrency: 4 });
      const names = ['llm_guided', 'llm_clarity', 'llm_efficiency'] as const;
      const plan = planStrategies([...names], c);
      const { engine } = engineWith(plan);
      const cfg = resolveConfig(DEFAULT_CONFIG, { strategies: [...names], scoreThreshold: 100, maxIterations: 1 });
      const t0 = Date.now();
      const r = await engine.optimizePrompt(record('m/x', MESSY), cfg, { runId: 'r' });
      const took = Date.now() - t0;
      assert.equal(slow.chatRequests().length, 3);
      assert.ok(slow.maxInFlight >= 2, `max in flight ${slow.maxInFlight}`);
      assert.ok(took < 3 * 300, `3 strategies at 300 ms each took ${took} ms: not concurrent`);
      // Candidates are reported in the configured order, whatever answered first.
      assert.deepEqual(r.candidates.map((x) => x.strategy), [...names]);

      // An auth failure (not a refused candidate) in one strategy aborts the one still waiting.
      slow.reset();
      slow.enqueue({ status: 401, body: { error: { message: 'bad key' } } }, { hang: true });
      const t1 = Date.now();
      await assert.rejects(
        engine.optimizePrompt(record('m/y', MESSY), resolveConfig(cfg, { strategies: ['llm_guided', 'llm_clarity'] }), { runId: 'r2' }),
        (e: unknown) => e instanceof Error && /401|key|auth/i.test(e.message),
      );
      assert.ok(Date.now() - t1 < 2000, 'the hanging sibling was not aborted');
    } finally {
      await slow.close();
    }
  });

  it('a budget that runs out stops the strategy it hits; the prompt keeps what the others found, or fails with the budget', async () => {
    const capped = createLlmClient({ baseUrl: srv.url, apiKey: 'sk-test', model: 'fake-model', maxRetries: 0, timeoutMs: 5000 }, { budget: { maxCalls: 1 } });
    const names = ['llm_guided', 'llm_clarity'] as const;
    const { engine } = engineWith(planStrategies([...names], capped));
    const cfg = resolveConfig(DEFAULT_CONFIG, { strategies: [...names], scoreThreshold: 100, maxIterations: 1 });
    srv.reset();
    const r = await engine.optimizePrompt(record('m/b1', MESSY), cfg, { runId: 'b' });
    assert.equal(srv.chatRequests().length, 1);
    assert.equal(r.accepted, true, r.skippedReason);
    assert.ok(r.candidates.some((c) => !c.kept && /budget/i.test(c.reason ?? '')), JSON.stringify(r.candidates));
    // The budget is spent: nothing can be found, and the prompt fails saying why.
    await assert.rejects(engine.optimizePrompt(record('m/b2', `${MESSY} Again.`), cfg, { runId: 'b' }), /budget/i);
    assert.equal(srv.chatRequests().length, 1);
  });

  // The client's own test holds the 100 ms line for one request; a whole run (several prompts,
  // queued and in flight, all settling) gets some slack for a loaded 2-core CI machine.
  it('cancel stops a run with requests in flight promptly (< 250 ms)', async () => {
    srv.enqueue({ hang: true }, { hang: true });
    const plan = planStrategies(['llm_guided'], client());
    const { engine } = engineWith(plan);
    const cfg = resolveConfig(DEFAULT_CONFIG, { strategies: ['llm_guided'], scoreThreshold: 100, concurrency: 2 });
    const ac = new AbortController();
    const run = engine.optimizeAll([record('a/x', MESSY), record('b/x', MESSY), record('c/x', MESSY)], cfg, { runId: 'r', signal: ac.signal });
    await new Promise((r) => setTimeout(r, 150));
    const t0 = Date.now();
    ac.abort();
    const out = await run;
    assert.ok(Date.now() - t0 < 250, `took ${Date.now() - t0} ms`);
    assert.equal(out.cancelled, true);
    assert.equal(out.failures.length, 0);
  });
});

describe('strategy plan', () => {
  it('falls back to rule strategies without a key and says so', () => {
    const plan = planStrategies(['llm_guided', 'hybrid', 'llm_clarity']);
    assert.deepEqual(plan.strategies, ['auto', 'clarity_focus']);
    assert.match(plan.notes[0], /No API key/);
  });
});

describe('engine: choosing across strategies', () => {
  /** Scores read from the text ("score=NN"), so the test sets ties exactly; the choice itself is the engine's. */
  const analyze = (input: { text: string }) => {
    const m = /score=(\d+)/.exec(input.text);
    const overall = m ? Number(m[1]) : 50;
    return { overall, clarity: overall, efficiency: overall, structure: overall, issues: [], language: 'en' as const, characters: input.text.length, tokens: 1, variableCount: 0 };
  };
  /** A strategy that answers one fixed text with one confidence, once. */
  const fixed = (name: 'clarity_focus' | 'efficiency_focus' | 'structure_focus', text: string, confidence: number) => ({
    name,
    type: 'rule' as const,
    async apply(input: { text: string }) {
      return input.text === text ? { text, rationale: '', confidence, changes: [] } : { text, rationale: `${name} step`, confidence, changes: ['x'] };
    },
  });
  async function pick(outputs: [text: string, confidence: number][]) {
    const names = ['clarity_focus', 'efficiency_focus', 'structure_focus'] as const;
    const strategies = outputs.map(([t, c], i) => fixed(names[i], t, c));
    const engine = new OptimizationEngine({ analyze, strategy: (n) => strategies.find((s) => s.name === n)! });
    const cfg = resolveConfig(DEFAULT_CONFIG, { strategies: strategies.map((s) => s.name), scoreThreshold: 100, maxIterations: 1, minConfidence: 0.1 });
    return engine.optimizePrompt(record('n/x', 'original score=50'), cfg, { runId: 'tie' });
  }

  it('takes the highest score first', async () => {
    const r = await pick([['a score=70', 0.9], ['b score=80', 0.5], ['c score=60', 0.99]]);
    assert.equal(r.strategy, 'efficiency_focus');
    assert.equal(r.optimized, 'b score=80');
  });

  it('on equal scores takes the higher confidence', async () => {
    const r = await pick([['a score=80', 0.6], ['b score=80', 0.9], ['c score=80 and longer', 0.7]]);
    assert.equal(r.strategy, 'efficiency_focus');
  });

  it('on equal scores and confidence takes the shorter text', async () => {
    const r = await pick([['a longer text score=80', 0.8], ['b score=80', 0.8], ['c medium score=80', 0.8]]);
    assert.equal(r.strategy, 'efficiency_focus');
    assert.equal(r.optimized, 'b score=80');
  });
});
