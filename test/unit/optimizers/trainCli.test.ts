/** `promptopt train` in-process against the scripted task model (a TEST DOUBLE on 127.0.0.1). */
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createTrainCommand } from '../../../src/cli/commands/train';
import type { CliIo } from '../../../src/cli/io';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { record, tempDir } from './helpers';
import { BEST_MARKERS, SENTIMENT_JSONL, scriptedHandler } from '../../support/taskModel';

const REC = record('Classify the sentiment of the review.');

function io(cwd: string, env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env, cwd, signal: new AbortController().signal };
  return { cli, out: () => out.join(''), err: () => err.join('') };
}

describe('promptopt train', function () {
  this.timeout(20000);
  let srv: FakeOpenAIServer;
  let dir: string;
  const asked: string[] = [];
  const cmd = createTrainCommand({
    loadPrompts: () => [REC],
    confirm: async (q) => {
      asked.push(q);
      return false;
    },
  });
  before(async () => {
    srv = await startFakeOpenAI({ handler: scriptedHandler });
    dir = await tempDir();
    await fs.mkdir(path.join(dir, '.optimizer', 'datasets'), { recursive: true });
    await fs.writeFile(path.join(dir, '.optimizer', 'datasets', 'sentiment.jsonl'), SENTIMENT_JSONL);
    await fs.writeFile(path.join(dir, 'app.yml'), 'app: {name: t, mode: workflow}\n');
  });
  after(() => srv.close());
  beforeEach(() => srv.reset());

  const base = () => ['app.yml', '--prompt', REC.id, '--dataset', 'sentiment.jsonl', '--base-url', srv.url, '--model', 'fake-model'];

  it('with no key says an endpoint is needed and exits 2 without a call', async () => {
    const t = io(dir);
    // A remote endpoint: a local server (the fake one is on 127.0.0.1) needs no key.
    const remote = base().map((a) => (a === srv.url ? 'https://llm.example.invalid/v1' : a));
    assert.equal(await cmd.run([...remote, '--optimizer', 'copro', '--yes'], t.cli), 2);
    assert.match(t.err(), /OPENAI_API_KEY/);
    assert.equal(srv.requests.length, 0);
  });

  it('prints the estimate and asks to confirm; declining makes no call', async () => {
    const t = io(dir, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await cmd.run([...base(), '--optimizer', 'copro', '--breadth', '3', '--depth', '2', '--budget-calls', '80'], t.cli), 1);
    assert.match(t.out(), /Estimate: about \d+ calls \(\d+ task, 5 proposal/);
    assert.match(t.out(), /Budget: {3}at most 80 calls/);
    assert.match(t.out(), /Not run\./);
    assert.equal(asked.length, 1);
    assert.equal(srv.requests.length, 0);
  });

  it('--json runs COPRO, reports train/validation per candidate and the best vs the baseline, within --budget-calls', async () => {
    const t = io(dir, { OPENAI_API_KEY: 'placeholder' });
    const code = await cmd.run([...base(), '--optimizer', 'copro', '--breadth', '3', '--depth', '2', '--budget-calls', '70', '--json', '--run-id', 'cli-1', '--remember'], t.cli);
    assert.equal(code, 0, t.err());
    const j = JSON.parse(t.out()) as { report: { best: { text: string; validationScore: number }; baseline: { validationScore: number }; candidates: Array<{ trainScore?: number }>; accepted: boolean }; runFile: string; remembered: boolean };
    assert.ok(BEST_MARKERS.every((m) => j.report.best.text.includes(m)));
    assert.ok(j.report.best.validationScore > j.report.baseline.validationScore);
    assert.ok(j.report.candidates.every((c) => c.trainScore !== undefined));
    assert.ok(srv.requests.length <= 70);
    assert.equal(j.runFile, path.join(dir, '.optimizer', 'runs', 'cli-1.jsonl'));
    const lines = (await fs.readFile(j.runFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.ok(lines.filter((l) => l.type === 'result').length >= 20);
    assert.equal(j.remembered, true);
    const index = await fs.readFile(path.join(dir, '.optimizer', 'embeddings', 'index.jsonl'), 'utf8');
    assert.ok(index.includes('one word'));
  });

  it('the text report lists candidates with both scores (knn, --yes)', async () => {
    const t = io(dir, { OPENAI_API_KEY: 'placeholder' });
    const code = await cmd.run([...base(), '--optimizer', 'knn', '--k', '2', '--yes'], t.cli);
    assert.equal(code, 0, t.err());
    assert.match(t.out(), /knn: \d+ candidate\(s\)/);
    assert.match(t.out(), /Baseline validation: .*best: .*improvement/);
    assert.match(t.out(), /\+2 demos as (block|pairs)/);
  });

  it('bad input: unknown prompt and dataset errors name what is wrong', async () => {
    const t = io(dir, { OPENAI_API_KEY: 'placeholder' });
    await assert.rejects(cmd.run(['app.yml', '--prompt', 'nope', '--dataset', 'sentiment.jsonl', '--optimizer', 'knn'], t.cli), /no prompt "nope".*ids: 1718246807593\/prompt_template\/0/);
    await fs.writeFile(path.join(dir, 'bad.jsonl'), '{"sys.query":"a","expected":"b"}\n{"sys.query":"c"}\n');
    await assert.rejects(cmd.run(['app.yml', '--prompt', REC.id, '--dataset', 'bad.jsonl', '--optimizer', 'knn'], t.cli), /bad\.jsonl:2: .*neither "expected" nor "labels"/);
    await assert.rejects(cmd.run([...base(), '--optimizer', 'mipro'], t.cli), /--optimizer must be copro, knn, gepa or ensemble/);
  });

  it('--run-id of a run whose prompt has changed since it started is refused before any call', async () => {
    const t = io(dir, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await cmd.run([...base(), '--optimizer', 'knn', '--k', '2', '--yes', '--run-id', 'cli-edited'], t.cli), 0, t.err());
    srv.reset();
    const edited = createTrainCommand({ loadPrompts: () => [{ ...REC, text: `${REC.text} Answer with one word.` }] });
    await assert.rejects(
      edited.run([...base(), '--optimizer', 'knn', '--k', '2', '--yes', '--run-id', 'cli-edited'], io(dir, { OPENAI_API_KEY: 'placeholder' }).cli),
      /run cli-edited cannot be resumed: the prompt text has changed since the run started/,
    );
    assert.equal(srv.requests.length, 0);
  });
});

type Body = { model: string; messages: Array<{ role: string; content: string }> };
const bodyOf = (r: { body: unknown }) => r.body as Body;
const isProposal = (b: Body) => JSON.stringify(b.messages).includes('instruction optimizer');

describe('promptopt train: task model, key, config.yaml budgets, model and prices', function () {
  this.timeout(20000);
  let srv: FakeOpenAIServer;
  before(async () => {
    srv = await startFakeOpenAI({ handler: scriptedHandler });
  });
  after(() => srv.close());
  beforeEach(() => srv.reset());

  /** A workspace with the dataset, an export, and optionally `.optimizer/config.yaml`. */
  async function workspace(config?: string): Promise<string> {
    const ws = await tempDir('promptopt-train-');
    await fs.mkdir(path.join(ws, '.optimizer', 'datasets'), { recursive: true });
    await fs.writeFile(path.join(ws, '.optimizer', 'datasets', 'sentiment.jsonl'), SENTIMENT_JSONL);
    await fs.writeFile(path.join(ws, 'app.yml'), 'app: {name: t, mode: workflow}\n');
    if (config !== undefined) await fs.writeFile(path.join(ws, '.optimizer', 'config.yaml'), config);
    return ws;
  }
  const args = (...more: string[]) => ['app.yml', '--prompt', REC.id, '--dataset', 'sentiment.jsonl', '--base-url', srv.url, '--optimizer', 'copro', '--breadth', '3', '--depth', '2', ...more];
  const withNodeModel = createTrainCommand({ loadPrompts: () => [{ ...REC, model: { provider: 'openai', name: 'node-model', mode: 'chat' } }] });
  const plain = createTrainCommand({ loadPrompts: () => [REC] });

  it("runs the task calls on the node's own model; proposals keep the configured model; the report says which", async () => {
    const ws = await workspace();
    const t = io(ws, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await withNodeModel.run(args('--model', 'configured-model', '--json'), t.cli), 0, t.err());
    const j = JSON.parse(t.out()) as { taskModel: { name: string; source: string }; report: { taskModel: { name: string; source: string } } };
    assert.deepEqual(j.taskModel, { name: 'node-model', source: 'node' });
    assert.deepEqual(j.report.taskModel, { name: 'node-model', source: 'node' });
    const bodies = srv.chatRequests().map(bodyOf);
    assert.ok(bodies.some(isProposal) && bodies.some((b) => !isProposal(b)));
    for (const b of bodies) assert.equal(b.model, isProposal(b) ? 'configured-model' : 'node-model');

    srv.reset();
    const text = io(ws, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await withNodeModel.run(args('--model', 'configured-model', '--yes'), text.cli), 0, text.err());
    assert.match(text.out(), /Task model: node-model \(the node's model\); proposals and judges: configured-model\./);
    assert.match(text.out(), /^Task model: node-model \(the node's model\)\.$/m);
  });

  it("when the endpoint does not serve the node's model, the error says to pick one with --task-model", async () => {
    const ws = await workspace();
    const picky = await startFakeOpenAI({
      handler: (req, hc) => (req.model === 'node-model' ? { status: 404, body: { error: { message: 'The model `node-model` does not exist' } } } : scriptedHandler(req, hc)),
    });
    try {
      const t = io(ws, { OPENAI_API_KEY: 'placeholder' });
      const run = withNodeModel.run(['app.yml', '--prompt', REC.id, '--dataset', 'sentiment.jsonl', '--base-url', picky.url, '--optimizer', 'knn', '--model', 'configured-model', '--yes'], t.cli);
      await assert.rejects(run, (e: unknown) => (e as { code?: string }).code === 'LLM_MODEL_NOT_FOUND' && /"node-model"/.test((e as Error).message));
      assert.match(t.err(), /the task ran on the node's own model node-model; pass --task-model <name>/);
    } finally {
      await picky.close();
    }
  });

  it('--task-model overrides the node\'s model; without either the configured model runs the task', async () => {
    const ws = await workspace();
    let t = io(ws, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await withNodeModel.run(args('--model', 'configured-model', '--task-model', 'chosen-model', '--json'), t.cli), 0, t.err());
    assert.deepEqual((JSON.parse(t.out()) as { taskModel: unknown }).taskModel, { name: 'chosen-model', source: 'flag' });
    assert.deepEqual([...new Set(srv.chatRequests().map(bodyOf).filter((b) => !isProposal(b)).map((b) => b.model))], ['chosen-model']);
    srv.reset();
    t = io(ws, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await plain.run(args('--model', 'configured-model', '--json'), t.cli), 0, t.err());
    assert.deepEqual((JSON.parse(t.out()) as { taskModel: unknown }).taskModel, { name: 'configured-model', source: 'configured' });
    assert.deepEqual([...new Set(srv.chatRequests().map(bodyOf).map((b) => b.model))], ['configured-model']);
  });

  it('takes the key from PROMPTOPT_API_KEY too (as optimize does)', async () => {
    const ws = await workspace();
    const t = io(ws, { PROMPTOPT_API_KEY: 'sk-promptopt-only' });
    assert.equal(await plain.run(args('--model', 'fake-model', '--yes'), t.cli), 0, t.err());
    assert.ok(srv.chatRequests().length > 0);
    assert.ok(srv.chatRequests().every((r) => r.headers.authorization === 'Bearer sk-promptopt-only'));
  });

  it('honours budget and model from .optimizer/config.yaml; flags override them', async () => {
    const ws = await workspace('budget:\n  max_calls: 30\nmodel:\n  name: cfg-model\n');
    let t = io(ws, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await plain.run(args('--yes'), t.cli), 0, t.err());
    assert.match(t.out(), /Budget: {3}at most 30 calls\./);
    assert.match(t.out(), /Task model: cfg-model \(the configured model\); proposals and judges: cfg-model\./);
    assert.match(t.out(), /The search stopped early to stay within the budget\./);
    assert.ok(srv.chatRequests().length <= 30 && srv.chatRequests().length > 10, `${srv.chatRequests().length} requests`);
    assert.deepEqual([...new Set(srv.chatRequests().map(bodyOf).map((b) => b.model))], ['cfg-model']);

    srv.reset();
    t = io(ws, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await plain.run(args('--yes', '--budget-calls', '12', '--model', 'flag-model'), t.cli), 0, t.err());
    assert.match(t.out(), /Budget: {3}at most 12 calls\./);
    assert.ok(srv.chatRequests().length <= 12, `${srv.chatRequests().length} requests`);
    assert.deepEqual([...new Set(srv.chatRequests().map(bodyOf).map((b) => b.model))], ['flag-model']);
  });

  it('prices from pricing: in config.yaml count against a cost budget; a model without a price gets a clear note', async () => {
    const ws = await workspace('model:\n  name: priced-model\npricing:\n  priced-model:\n    input_per_million: 2000\n    output_per_million: 4000\n');
    let t = io(ws, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await plain.run(args('--json', '--budget-cost', '0.2'), t.cli), 0, t.err());
    const j = JSON.parse(t.out()) as { estimate: { costUsd: number; notes: string[] }; report: { usage: { costUsd: number }; stoppedReason?: string } };
    assert.ok(j.estimate.costUsd > 0.2, `estimate $${j.estimate.costUsd}`);
    assert.ok(j.report.usage.costUsd > 0 && j.report.usage.costUsd <= 0.2, `spent $${j.report.usage.costUsd}`);
    assert.equal(j.report.stoppedReason, 'budget');
    assert.ok(!j.estimate.notes.some((n) => /No price is known/.test(n)), j.estimate.notes.join('\n'));

    srv.reset();
    t = io(ws, { OPENAI_API_KEY: 'placeholder' });
    assert.equal(await plain.run(args('--yes', '--budget-cost', '0.2', '--model', 'unpriced-model'), t.cli), 0, t.err());
    assert.match(t.out(), /Note: {5}No price is known for model unpriced-model: its calls count as \$0, so the cost budget of \$0\.2 does not limit them\. Add its price under pricing: in \.optimizer\/config\.yaml/);
  });
});

describe('promptopt train end to end on a real Dify export', function () {
  this.timeout(20000);
  it('optimizes the system prompt of basic_llm_chat_workflow.yml, rendering {{#start_node.query#}} into the user message', async () => {
    const { runCli } = await import('../../../src/cli/main');
    const srv = await startFakeOpenAI({ handler: scriptedHandler });
    try {
      const dir = await tempDir();
      await fs.copyFile(path.join(__dirname, '../../../../test/fixtures/dify/basic_llm_chat_workflow.yml'), path.join(dir, 'app.yml'));
      const rows = SENTIMENT_JSONL.split('\n').map((l) => {
        const o = JSON.parse(l) as Record<string, string>;
        return JSON.stringify({ 'start_node.query': o['sys.query'], expected: o.expected });
      });
      await fs.writeFile(path.join(dir, 'data.jsonl'), rows.join('\n'));
      const t = io(dir, { OPENAI_API_KEY: 'placeholder' });
      const code = await runCli(['train', 'app.yml', '--prompt', 'llm_node/prompt_template/0', '--dataset', 'data.jsonl', '--optimizer', 'copro', '--breadth', '3', '--depth', '2', '--base-url', srv.url, '--json'], t.cli);
      assert.equal(code, 0, t.err());
      const j = JSON.parse(t.out()) as { report: { best: { text: string; validationScore: number }; baseline: { text: string; validationScore: number } } };
      assert.equal(j.report.baseline.text, 'You are a helpful assistant.');
      assert.ok(BEST_MARKERS.every((m) => j.report.best.text.includes(m)), j.report.best.text);
      assert.ok(j.report.best.validationScore > j.report.baseline.validationScore);
      // the task calls carried the node's two messages: the candidate system prompt and the rendered user message
      const task = srv.chatRequests().map((r) => (r.body as { messages: Array<{ role: string; content: string }> }).messages).find((m) => !m[0]!.content.includes('instruction optimizer'))!;
      assert.deepEqual(task.map((m) => m.role), ['system', 'user']);
      assert.ok(SENTIMENT_JSONL.includes(task[1]!.content));
    } finally {
      await srv.close();
    }
  });
});
