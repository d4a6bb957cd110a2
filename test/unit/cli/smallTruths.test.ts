import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { resolveDatasetArg } from '../../../src/cli/commands/datasetArg';
import { DEFAULT_CONFIG, parseConfigFile, resolveConfig } from '../../../src/core/engine/config';
import { BudgetTracker } from '../../../src/core/llm/budget';
import { startFakeOpenAI } from '../../support/fakeOpenAI';
import { SENTIMENT_JSONL, scriptedHandler } from '../../support/taskModel';

const FIXTURE = path.resolve(__dirname, '../../../../test/fixtures/messy/support_bot.yml');
const SYSTEM_ID = '1711000000002/msg:5c1e2c1a-0000-4000-8000-000000000001';

describe('smaller truths (issue 11, item 12)', function () {
  this.timeout(60_000);
  let ws: string;
  beforeEach(() => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-truths-'));
    fs.mkdirSync(path.join(ws, '.git'));
    fs.copyFileSync(FIXTURE, path.join(ws, 'support_bot.yml'));
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('a bare --dataset name resolves inside .optimizer/datasets/ with or without its extension', () => {
    const dir = path.join(ws, '.optimizer', 'datasets');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'intent.jsonl'), '{}\n');
    const sub = path.join(ws, 'sub');
    fs.mkdirSync(sub);
    assert.equal(resolveDatasetArg('intent', sub, ws), path.join(dir, 'intent.jsonl'));
    fs.writeFileSync(path.join(ws, 'local.jsonl'), '{}\n');
    assert.equal(resolveDatasetArg('local.jsonl', ws, ws), 'local.jsonl'); // exists from the cwd: as given
    assert.equal(resolveDatasetArg('data/intent', ws, ws), 'data/intent'); // a path is never reinterpreted
    assert.equal(resolveDatasetArg('nothing', ws, ws), 'nothing');
  });

  it('a budget error names the real keys: budget: { max_calls } in config.yaml, the VS Code setting, the train flag', () => {
    const b = new BudgetTracker({ maxCalls: 1 });
    b.reserve(1, 0, 'the first call');
    assert.throws(
      () => b.reserve(1, 0, 'the second call'),
      (e: Error) =>
        /budget: \{ max_calls \} in \.optimizer\/config\.yaml/.test(e.message) &&
        /promptOptimizer\.budget\.maxCalls/.test(e.message) &&
        /--budget-calls/.test(e.message) &&
        !/budgets\./.test(e.message),
    );
  });

  it('a budget error names the one place its limit was set: config.yaml, the VS Code setting or the flag, whichever set it last', () => {
    const secondCall = (budget: ConstructorParameters<typeof BudgetTracker>[0]) => {
      const b = new BudgetTracker(budget);
      b.reserve(1, 0, 'the first call');
      try {
        b.reserve(1, 0, 'the second call');
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error('the second call fitted');
    };
    const file = parseConfigFile('budget:\n  max_calls: 1\n  max_tokens: 5000\n');
    const fromFile = resolveConfig(DEFAULT_CONFIG, file);
    assert.deepEqual(fromFile.budget.origin, { calls: 'file', tokens: 'file' });
    assert.match(secondCall(fromFile.budget), /The limit is set by budget: \{ max_calls \} in \.optimizer\/config\.yaml; raise it there/);
    assert.doesNotMatch(secondCall(fromFile.budget), /promptOptimizer|--budget-calls/);

    // A VS Code setting over the file: the calls limit is the setting's, the tokens limit still the file's.
    const fromSetting = resolveConfig(DEFAULT_CONFIG, file, { budget: { maxCalls: 1, maxTokens: undefined }, budgetSource: 'setting' });
    assert.deepEqual(fromSetting.budget.origin, { calls: 'setting', tokens: 'file' });
    assert.match(secondCall(fromSetting.budget), /The limit is set by the setting promptOptimizer\.budget\.maxCalls in VS Code/);

    const fromFlag = resolveConfig(DEFAULT_CONFIG, file, { budget: { maxCalls: 1 }, budgetSource: 'flag' });
    assert.match(secondCall(fromFlag.budget), /The limit is set by --budget-calls; run again with a higher value/);

    // An override that does not say where it comes from: every place is named, as before.
    const unknown = resolveConfig(DEFAULT_CONFIG, file, { budget: { maxCalls: 1 } });
    assert.deepEqual(unknown.budget.origin, { tokens: 'file' });
    assert.match(secondCall(unknown.budget), /raise budget: \{ max_calls \} in \.optimizer\/config\.yaml, the setting promptOptimizer\.budget\.maxCalls in VS Code, or --budget-calls of promptopt train/);
  });

  it('a run that reports "N failed" exits 1 (every LLM call refused with 401 while another prompt was skipped)', async () => {
    const srv = await startFakeOpenAI({ handler: () => ({ status: 401, body: { error: { message: 'bad key' } } }) });
    try {
      let err = '';
      const code = await runCli(['optimize', '--yes', '--strategy', 'llm_guided', '--base-url', srv.url, '--model', 'fake', 'support_bot.yml'], {
        stdout: () => undefined,
        stderr: (s) => (err += s),
        env: { OPENAI_API_KEY: 'sk-test-401' },
        cwd: ws,
        signal: new AbortController().signal,
      });
      assert.match(err, /already scores/); // one prompt skipped …
      assert.match(err, /\d+ failed/); // … the others failed
      assert.equal(code, 1, err);
    } finally {
      await srv.close();
    }
  });

  it('a cancelled train prints its message once', async () => {
    const dir = path.join(ws, '.optimizer', 'datasets');
    fs.mkdirSync(dir, { recursive: true });
    const rows = SENTIMENT_JSONL.trim().split('\n').map((l) => ({ ...(JSON.parse(l) as object), context: 'Store policy: refunds within 30 days.' }));
    fs.writeFileSync(path.join(dir, 'sentiment.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
    const srv = await startFakeOpenAI({ handler: async (req, ctx) => ({ ...(scriptedHandler(req, ctx) as object), latencyMs: 100 }) as never });
    try {
      const ac = new AbortController();
      let err = '';
      const run = runCli(
        ['train', 'support_bot.yml', '--prompt', SYSTEM_ID, '--dataset', 'sentiment', '--optimizer', 'copro', '--yes', '--base-url', srv.url, '--model', 'fake-model'],
        { stdout: () => undefined, stderr: (s) => (err += s), env: { OPENAI_API_KEY: 'placeholder' }, cwd: ws, signal: ac.signal },
      );
      for (let i = 0; i < 200 && srv.chatRequests().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
      assert.ok(srv.chatRequests().length > 0, `train made no call (bare dataset name not found?): ${err}`);
      ac.abort();
      assert.equal(await run, 130, err);
      assert.equal(err.split(/cancelled/).length - 1, 1, err);
    } finally {
      await srv.close();
    }
  });
});
