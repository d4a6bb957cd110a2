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
    assert.equal(await cmd.run([...base(), '--optimizer', 'copro', '--yes'], t.cli), 2);
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
    await assert.rejects(cmd.run([...base(), '--optimizer', 'mipro'], t.cli), /--optimizer must be copro, knn or ensemble/);
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
