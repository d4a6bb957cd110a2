import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createOptimizeCommand } from '../../../src/cli/commands/optimize';
import { evidenceHandler, HEURISTIC_BETTER_LOSER, HEURISTIC_NEUTRAL_WINNER } from '../../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { cli, workspace } from '../evidence/helpers';

const KEY = { OPENAI_API_KEY: 'sk-estimate-test-0001' };

/** Requests the fake server answered (what a run cost), once they settle. */
async function answeredCount(srv: FakeOpenAIServer): Promise<number> {
  await new Promise((r) => setTimeout(r, 50));
  return srv.chatRequests().filter((r) => r.outcome === 'answered').length;
}

describe('optimize: the estimate before spending, against the calls the fake server received', function () {
  this.timeout(60000);
  let w: ReturnType<typeof workspace>;
  let srv: FakeOpenAIServer | undefined;
  beforeEach(() => {
    w = workspace();
  });
  afterEach(async () => {
    await srv?.close();
    srv = undefined;
    w.cleanup();
  });

  const estimateIn = (err: string) => Number(/Estimate: at most (\d+) call/.exec(err)?.[1] ?? NaN);

  for (const [name, rewrite, strategies] of [
    ['a winner through the gate, two LLM strategies, 3 iterations', HEURISTIC_NEUTRAL_WINNER, ['llm_guided', 'hybrid']],
    ['a heuristic-better loser', HEURISTIC_BETTER_LOSER, ['llm_guided']],
    ['the default scripted rewrite, two other strategies', undefined, ['llm_guided', 'llm_clarity']],
  ] as const) {
    it(`first run (${name}): the server gets at most the estimate; the re-run estimates 0 and asks nothing`, async () => {
      const model = evidenceHandler({ rewrite });
      srv = await startFakeOpenAI({ handler: model.handler });
      const args = ['optimize', 'support.yml', ...strategies.flatMap((s) => ['--strategy', s]), '--prompt', w.promptId, '--base-url', srv.url, '--model', 'm'];
      const first = await cli([...args, '--yes'], w.ws, KEY);
      assert.equal(first.code, 0, first.err);
      const est = estimateIn(first.err);
      const sent = await answeredCount(srv);
      assert.ok(sent > 0);
      assert.ok(sent <= est, `sent ${sent} > estimate ${est}\n${first.err}`);
      console.log(`      ${name}: estimate ${est}, sent ${sent}`);
      let asked = 0;
      const again = createOptimizeCommand({ confirm: async () => (asked++, false) });
      let err = '';
      const code = await again.run([...args.slice(1)], { stdout: () => undefined, stderr: (s) => (err += s), env: KEY, cwd: w.ws, signal: new AbortController().signal });
      assert.equal(code, 0, err);
      assert.equal(asked, 0, 'a run the cache covers asks nothing');
      assert.doesNotMatch(err, /Estimate:/);
      assert.equal(await answeredCount(srv), sent, 'the re-run sent nothing');
    });
  }

  const run = async (argv: string[], confirm?: () => Promise<boolean>) => {
    let out = '';
    let err = '';
    const cmd = createOptimizeCommand(confirm ? { confirm } : {});
    const code = await cmd.run(argv, { stdout: (s) => (out += s), stderr: (s) => (err += s), env: KEY, cwd: w.ws, signal: new AbortController().signal });
    return { code, out, err };
  };
  /** One look of 12 cases (evidence.max_cases 12): the figures of a fixed-size gate, exact when the cases are known. */
  const oneLook = (extra = '') => {
    fs.mkdirSync(path.join(w.ws, '.optimizer'), { recursive: true });
    fs.writeFileSync(path.join(w.ws, '.optimizer', 'config.yaml'), `evidence: { max_cases: 12 }\n${extra}`);
  };
  const gated = () => ['support.yml', '--strategy', 'llm_guided', '--iterations', '1', '--prompt', w.promptId, '--base-url', srv!.url, '--model', 'm'];

  it('declined (or no terminal): exit 1, "Not run.", nothing sent and nothing written', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER }).handler });
    oneLook();
    let question = '';
    const r = await run([...gated(), '--write'], async () => ((question = 'asked'), false));
    assert.equal(r.code, 1);
    assert.equal(question, 'asked');
    assert.match(r.err, /Estimate: at most 52 call\(s\) to the model for 1 prompt\(s\) \(1 rewrite by a strategy, 2 to write test cases, 1 to draw the checklist, 24 test-case runs, 24 judge calls\)/);
    assert.match(r.err, /This is an estimate, an upper bound/);
    assert.match(r.err, /Not run\.\n$/);
    assert.equal(srv.chatRequests().length, 0);
    assert.deepEqual(fs.readdirSync(path.join(w.ws, '.optimizer')), ['config.yaml'], 'nothing written beside the config');
    // Without a terminal and without --yes, as `cases` and `train` do (mocha's stdin is not a TTY here).
    if (!process.stdin.isTTY) {
      const t = await run(gated());
      assert.equal(t.code, 1);
      assert.match(t.err, /promptopt optimize: not a terminal; pass --yes to run without confirmation\.\nNot run\.\n$/);
      assert.equal(srv.chatRequests().length, 0);
    }
  });

  it('with one strategy, one iteration, one look and the cases known, the estimate is exact: the server receives as many calls', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER }).handler });
    oneLook();
    assert.equal((await cli(['cases', 'support.yml', '--prompt', w.promptId, '--yes', '--base-url', srv.url, '--model', 'm'], w.ws, KEY)).code, 0);
    const n = await answeredCount(srv);
    const r = await run(gated(), async () => true);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /at most 50 call\(s\) to the model for 1 prompt\(s\) \(1 rewrite by a strategy, 1 to draw the checklist, 24 test-case runs, 24 judge calls\)/);
    assert.equal((await answeredCount(srv)) - n, 50);
  });

  it('what the cache holds is left out: after a run without the gate, only the gate is counted', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER }).handler });
    oneLook();
    assert.equal((await run([...gated(), '--evidence', 'off', '--yes'])).code, 0);
    const n = await answeredCount(srv);
    const r = await run([...gated(), '--yes']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /at most 51 call\(s\) .*\(2 to write test cases, 1 to draw the checklist, 24 test-case runs, 24 judge calls\).* 1 answer\(s\) are already in the cache and cost nothing/);
    assert.equal((await answeredCount(srv)) - n, 51);
  });

  it('--json: no question, and each result carries its estimate beside what it cost', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER }).handler });
    oneLook();
    const r = await run([...gated(), '--json'], async () => assert.fail('--json asked'));
    assert.equal(r.code, 0, r.err);
    const [res] = JSON.parse(r.out) as { estimate: { calls: number; promptTokens: number }; cost: { calls: number } }[];
    assert.equal(res!.estimate.calls, 52);
    assert.ok(res!.estimate.promptTokens > 0);
    assert.ok(res!.cost.calls <= res!.estimate.calls);
  });

  it('sequential evidence: the estimate counts the looks up to max_cases (48) — cases written per look, runs and judge calls — and the run stays within it', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER }).handler });
    const r = await run([...gated(), '--yes']);
    assert.equal(r.code, 0, r.err);
    // 1 rewrite; 2 batches for the first 12 cases and 1 per later look (9); 1 checklist; 48 × 2 runs; 48 × 2 judge orders.
    assert.match(r.err, /at most 205 call\(s\) .*\(1 rewrite by a strategy, 11 to write test cases, 1 to draw the checklist, 96 test-case runs, 96 judge calls\)/);
    // The winner is decided at the first look: 52 sent.
    assert.equal(await answeredCount(srv), 52);
    // --max-cases caps the sequence (and so the estimate): 20 cases are the 12 on file and two looks of 4 to write.
    const capped = await run([...gated(), '--max-cases', '20', '--yes', '--no-cache']);
    assert.equal(capped.code, 0, capped.err);
    assert.match(capped.err, /at most 83 call\(s\) .*\(1 rewrite by a strategy, 2 to write test cases, 40 test-case runs, 40 judge calls\)/);
  });

  it('two strategies that converge on one text: it is evaluated once and the estimate counts it once (exact when the rewrites are known)', async () => {
    const model = evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER });
    srv = await startFakeOpenAI({ handler: model.handler });
    oneLook();
    const two = ['support.yml', '--strategy', 'llm_guided', '--strategy', 'hybrid', '--iterations', '1', '--prompt', w.promptId, '--base-url', srv.url, '--model', 'm'];
    // The rewrites first (no gate): both strategies give the same text.
    assert.equal((await run([...two, '--evidence', 'off', '--yes'])).code, 0);
    const n = await answeredCount(srv);
    const r = await run([...two, '--yes']);
    assert.equal(r.code, 0, r.err);
    // One candidate: 2 to write the cases, 1 checklist, 12 + 12 runs, 24 judge calls — not two candidates' 87.
    assert.match(r.err, /at most 51 call\(s\) .*\(2 to write test cases, 1 to draw the checklist, 24 test-case runs, 24 judge calls\)/);
    assert.equal((await answeredCount(srv)) - n, 51);
    assert.equal(model.counts.judge, 24, 'the shared text was judged once');
  });

  it('no model, or only rule strategies with a key: no estimate and no question (the Quick start is unchanged)', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler().handler });
    const rules = await run(['support.yml', '--strategy', 'auto', '--base-url', srv.url], async () => assert.fail('a rule run asked'));
    assert.equal(rules.code, 0, rules.err);
    assert.doesNotMatch(rules.err, /Estimate/);
    let err = '';
    const code = await createOptimizeCommand({ confirm: async () => assert.fail('asked without a key') }).run(['support.yml'], { stdout: () => undefined, stderr: (s) => (err += s), env: {}, cwd: w.ws, signal: new AbortController().signal });
    assert.equal(code, 0, err);
    assert.doesNotMatch(err, /Estimate/);
    assert.equal(srv.chatRequests().length, 0);
  });

  it('the cost where the model has a price, "unknown" otherwise; a calls budget below the estimate is named as the hard limit', async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER }).handler });
    oneLook();
    const unpriced = await run(gated(), async () => false);
    // The task runs go to the node's own model (task-model), the rewrites and the judge to m.
    assert.match(unpriced.err, /cost unknown \(no price known for m, task-model\)/);
    fs.mkdirSync(path.join(w.ws, '.optimizer'), { recursive: true });
    oneLook('budget: { max_calls: 20 }\npricing:\n  m: { input_per_million: 1, output_per_million: 2 }\n  task-model: { input_per_million: 1, output_per_million: 2 }\n');
    const priced = await run(gated(), async () => false);
    assert.match(priced.err, /cost about \$0\.\d{4}\./);
    assert.match(priced.err, /The budget of 20 calls stops the run before that \(it is the hard limit\)\./);
    assert.equal(srv.chatRequests().length, 0);
  });

  it('a cancelled run: the estimate of the next one counts only what is left, and that run stays within it', async () => {
    const model = evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER });
    const ac = new AbortController();
    let seen = 0;
    // Cancel once 20 answers went out (the cases, the checklist and part of the task runs).
    srv = await startFakeOpenAI({ handler: (req, ctx) => (++seen === 20 && ac.abort(), model.handler(req, ctx)) });
    let err = '';
    const first = await createOptimizeCommand().run([...gated(), '--yes'], { stdout: () => undefined, stderr: (s) => (err += s), env: KEY, cwd: w.ws, signal: ac.signal });
    assert.equal(first, 130, err);
    const full = estimateIn(err);
    const n = await answeredCount(srv);
    const r = await run([...gated(), '--yes']);
    assert.equal(r.code, 0, r.err);
    const left = estimateIn(r.err);
    assert.ok(left < full, `left ${left}, full ${full}`);
    const sent = (await answeredCount(srv)) - n;
    assert.ok(sent <= left, `sent ${sent} > estimate ${left}`);
    console.log(`      cancelled after ${n} answers (first estimate ${full}): estimate ${left}, sent ${sent}`);
    assert.ok(left + n >= full - 2, `estimated ${left} after ${n} answered, first estimate ${full}`);
  });
});
