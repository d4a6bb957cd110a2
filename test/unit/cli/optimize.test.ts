import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { parseDify, replacePrompts, variableMultiset } from '../../../src/core/dsl';
import { readRunLog } from '../../../src/core/engine/runLog';
import { VersionStore } from '../../../src/core/storage';
import { startFakeOpenAI } from '../../support/fakeOpenAI';

const FIXTURE = path.resolve(__dirname, '../../../../test/fixtures/messy/support_bot.yml');
const CORPUS = path.resolve(__dirname, '../../../../test/fixtures/dify');
const SYSTEM_ID = '1711000000002/msg:5c1e2c1a-0000-4000-8000-000000000001';

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, signal = new AbortController().signal) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), env, cwd, signal });
  return { code, out, err };
}

describe('cli: analyze / optimize / apply', function () {
  this.timeout(30000);
  let ws: string;
  let file: string;
  beforeEach(() => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-cli-'));
    fs.mkdirSync(path.join(ws, '.git'));
    file = path.join(ws, 'support_bot.yml');
    fs.copyFileSync(FIXTURE, file);
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('analyze --json gives scores and issues per prompt', async () => {
    const r = await cli(['analyze', '--json', 'support_bot.yml'], ws);
    assert.equal(r.code, 0, r.err);
    const rows = JSON.parse(r.out) as { id: string; scores: { overall: number }; issues: { kind: string }[] }[];
    // 4 prompts and the classifier's 2 class names (labels: analysed, only rewritten on request).
    assert.equal(rows.length, 6);
    assert.equal(rows.filter((x) => /\/class:/.test(x.id)).length, 2);
    const sys = rows.find((x) => x.id === SYSTEM_ID)!;
    assert.ok(sys.scores.overall < 90);
    assert.ok(sys.issues.some((i) => i.kind === 'vague-term'));
    const human = await cli(['analyze', 'support_bot.yml'], ws);
    assert.match(human.out, /Answer Writer · llm-message \(system\) · support_bot\.yml:\d+:\d+/);
  });

  it('optimize without --write prints diffs, says rules ran without a key, and changes nothing', async () => {
    const before = fs.readFileSync(file, 'utf8');
    const r = await cli(['optimize', 'support_bot.yml'], ws);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^--- a\/1711000000002\/msg:/m);
    assert.match(r.err, /no API key/i);
    assert.equal(fs.readFileSync(file, 'utf8'), before);
    assert.equal(fs.existsSync(path.join(ws, '.optimizer')), false, 'a dry run writes nothing');
  });

  it('optimize --json gives results that keep every variable', async () => {
    const r = await cli(['optimize', '--json', 'support_bot.yml'], ws);
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out) as { id: string; original: string; optimized: string; strategy: string | null; improvement: number; confidence: number; accepted: boolean }[];
    assert.equal(res.length, 4);
    const sys = res.find((x) => x.id === SYSTEM_ID)!;
    assert.equal(sys.accepted, true);
    assert.ok(sys.improvement > 0);
    assert.ok(sys.strategy);
    for (const x of res) assert.deepEqual(variableMultiset(x.optimized), variableMultiset(x.original));
  });

  it('optimize --write changes only the improved prompts, records versions and the run log; a second run builds on it', async () => {
    const before = fs.readFileSync(file, 'utf8');
    const r = await cli(['optimize', '--write', '--json', 'support_bot.yml'], ws);
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out) as { id: string; optimized: string; accepted: boolean; version?: string }[];
    const kept = res.filter((x) => x.accepted);
    assert.ok(kept.length >= 1);
    const after = fs.readFileSync(file, 'utf8');
    assert.equal(after, replacePrompts(before, kept.map((k) => ({ id: k.id, text: k.optimized }))));
    const doc = parseDify(after);
    for (const k of kept) assert.equal(doc.prompts.find((p) => p.id === k.id)!.text, k.optimized);

    const store = await VersionStore.open(ws);
    try {
      const versions = await store.list('support_bot.yml', SYSTEM_ID);
      assert.deepEqual(versions.map((v) => v.status), ['accepted', 'baseline']);
      assert.equal(versions[0].parentVersion, versions[1].version);
      assert.equal(versions[0].version, kept.find((k) => k.id === SYSTEM_ID)!.version);
    } finally {
      await store.close();
    }
    const runs = fs.readdirSync(path.join(ws, '.optimizer', 'runs'));
    assert.equal(runs.length, 1);
    const events = await readRunLog<{ type: string }>(path.join(ws, '.optimizer', 'runs', runs[0]));
    const types = new Set(events.map((e) => e.type));
    for (const t of ['optimization_start', 'candidate_generated', 'candidate_evaluated', 'optimization_complete']) assert.ok(types.has(t), t);

    // Again on the optimized file: the accepted version is the parent; no second baseline.
    const again = await cli(['optimize', '--write', '--prompt', SYSTEM_ID, 'support_bot.yml'], ws);
    assert.equal(again.code, 0, again.err);
    const store2 = await VersionStore.open(ws);
    try {
      const vs = await store2.list('support_bot.yml', SYSTEM_ID);
      assert.equal(vs.filter((v) => v.status === 'baseline').length, 1);
    } finally {
      await store2.close();
    }
  });

  it('runs the LLM strategies against an OpenAI-compatible endpoint when a key is set, and never prints the key', async () => {
    const srv = await startFakeOpenAI();
    try {
      const key = 'sk-secret-test-key-123456';
      const r = await cli(
        ['optimize', '--json', '--strategy', 'llm_guided', '--evidence', 'off', '--prompt', SYSTEM_ID, '--base-url', srv.url, '--model', 'fake', 'support_bot.yml'],
        ws,
        { OPENAI_API_KEY: key },
      );
      assert.equal(r.code, 0, r.err);
      assert.ok(srv.chatRequests().length >= 1);
      assert.equal(srv.requests[0].headers.authorization, `Bearer ${key}`);
      const res = JSON.parse(r.out) as { strategy: string | null; accepted: boolean }[];
      assert.equal(res[0].strategy, 'llm_guided');
      assert.ok(!r.out.includes(key) && !r.err.includes(key));
      // The LLM answers are cached under .optimizer/cache: the same run again makes no call.
      const n = srv.chatRequests().length;
      const again = await cli(
        ['optimize', '--json', '--strategy', 'llm_guided', '--evidence', 'off', '--prompt', SYSTEM_ID, '--base-url', srv.url, '--model', 'fake', 'support_bot.yml'],
        ws,
        { OPENAI_API_KEY: key },
      );
      assert.equal(again.code, 0, again.err);
      assert.equal(srv.chatRequests().length, n);
    } finally {
      await srv.close();
    }
  });

  it('with a key and no strategy chosen, the LLM strategies join the rules; a chosen strategy or preset decides alone', async () => {
    const srv = await startFakeOpenAI();
    try {
      const env = { OPENAI_API_KEY: 'sk-default-strategies-1234' };
      const base = ['--prompt', SYSTEM_ID, '--base-url', srv.url, '--model', 'fake', '--no-cache', 'support_bot.yml'];
      const r = await cli(['optimize', '--json', ...base], ws, env);
      assert.equal(r.code, 0, r.err);
      // A request the run gave up on (strategies aborted once one failed) may reach the server
      // just after the command returns: count once the server has seen no new request for 300 ms.
      const settled = async (): Promise<number> => {
        for (let n = -1; ; ) {
          const now = srv.chatRequests().length;
          if (now === n) return now;
          n = now;
          await new Promise((res) => setTimeout(res, 300));
        }
      };
      const calls = await settled();
      assert.ok(calls >= 2, `expected llm_guided and hybrid to call the model, saw ${calls} call(s)`);
      const rules = await cli(['optimize', '--json', '--strategy', 'auto', ...base], ws, env);
      assert.equal(rules.code, 0, rules.err);
      assert.equal(await settled(), calls, 'a chosen rule strategy called the model');
      fs.mkdirSync(path.join(ws, '.optimizer'), { recursive: true });
      fs.writeFileSync(path.join(ws, '.optimizer', 'config.yaml'), 'strategies: [clarity_focus]\n');
      const fromFile = await cli(['optimize', '--json', ...base], ws, env);
      assert.equal(fromFile.code, 0, fromFile.err);
      assert.equal(await settled(), calls, 'strategies from .optimizer/config.yaml were overridden');
    } finally {
      await srv.close();
    }
  });

  it('prices from pricing: in config.yaml are used for cost; a cost budget on a model without a price is flagged', async () => {
    const srv = await startFakeOpenAI();
    try {
      fs.mkdirSync(path.join(ws, '.optimizer'), { recursive: true });
      const config = path.join(ws, '.optimizer', 'config.yaml');
      const args = (model: string) => ['optimize', '--json', '--no-cache', '--strategy', 'llm_guided', '--prompt', SYSTEM_ID, '--base-url', srv.url, '--model', model, 'support_bot.yml'];
      fs.writeFileSync(config, 'budget:\n  max_cost_usd: 5\npricing:\n  house-model:\n    input_per_million: 1000\n    output_per_million: 1000\n');
      const priced = await cli(args('house-model'), ws, { OPENAI_API_KEY: 'sk-x' });
      assert.equal(priced.code, 0, priced.err);
      const res = JSON.parse(priced.out) as { cost?: { costUsd: number; promptTokens: number; completionTokens: number } }[];
      const cost = res[0]!.cost!;
      assert.ok(cost.promptTokens > 0);
      assert.ok(Math.abs(cost.costUsd - (cost.promptTokens + cost.completionTokens) / 1000) < 1e-9, JSON.stringify(cost));
      assert.doesNotMatch(priced.err, /No price is known/);
      const unpriced = await cli(args('other-model'), ws, { OPENAI_API_KEY: 'sk-x' });
      assert.equal(unpriced.code, 0, unpriced.err);
      assert.match(unpriced.err, /warning: No price is known for model other-model: its calls count as \$0, so the cost budget of \$5 does not limit them/);
    } finally {
      await srv.close();
    }
  });

  it('--patches writes the kept results as PromptPatch JSON that apply turns into the same file as --write', async () => {
    const before = fs.readFileSync(file, 'utf8');
    const r = await cli(['optimize', '--json', '--patches', 'out/patches.json', 'support_bot.yml'], ws);
    assert.equal(r.code, 0, r.err);
    assert.equal(fs.readFileSync(file, 'utf8'), before, '--patches alone changed the workflow');
    const kept = (JSON.parse(r.out) as { id: string; optimized: string; accepted: boolean; strategy: string }[]).filter((x) => x.accepted);
    assert.ok(kept.length >= 1);
    const pf = JSON.parse(fs.readFileSync(path.join(ws, 'out', 'patches.json'), 'utf8')) as {
      schemaVersion: number;
      workflow: string;
      patches: { selector: { by: string; value: string }; mode: string; content: string; metadata: { strategy: string } }[];
    };
    assert.equal(pf.schemaVersion, 1);
    assert.equal(pf.workflow, 'support_bot.yml');
    assert.deepEqual(
      pf.patches.map((p) => [p.selector.by, p.selector.value, p.mode, p.content, p.metadata.strategy]),
      kept.map((k) => ['id', k.id, 'replace', k.optimized, k.strategy]),
    );
    const a = await cli(['apply', 'support_bot.yml', 'out/patches.json'], ws);
    assert.equal(a.code, 0, a.err);
    assert.equal(fs.readFileSync(file, 'utf8'), replacePrompts(before, kept.map((k) => ({ id: k.id, text: k.optimized }))));
  });

  it('apply: type and path selectors, prepend and append modes', async () => {
    const before = fs.readFileSync(file, 'utf8');
    const doc0 = parseDify(before);
    const sys = doc0.prompts.find((p) => p.id === SYSTEM_ID)!;
    const classifier = doc0.prompts.filter((p) => p.kind === 'classifier-instruction');
    assert.equal(classifier.length, 1, 'fixture has one classifier instruction');
    const sysPath = sys.yamlPath.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('');
    fs.writeFileSync(
      path.join(ws, 'p.json'),
      JSON.stringify([
        { selector: { by: 'type', value: 'question-classifier' }, mode: 'prepend', content: 'Answer with one label.' },
        { selector: { by: 'path', value: sysPath }, mode: 'append', content: 'Answer in English.' },
      ]),
    );
    const r = await cli(['apply', 'support_bot.yml', 'p.json'], ws);
    assert.equal(r.code, 0, r.err);
    const after = fs.readFileSync(file, 'utf8');
    const doc = parseDify(after);
    assert.equal(doc.prompts.find((p) => p.id === classifier[0].id)!.text, `Answer with one label.\n${classifier[0].text}`);
    assert.equal(doc.prompts.find((p) => p.id === SYSTEM_ID)!.text, `${sys.text}\nAnswer in English.`);
    for (const p of doc0.prompts) {
      if (p.id !== SYSTEM_ID && p.id !== classifier[0].id) assert.equal(doc.prompts.find((q) => q.id === p.id)!.text, p.text);
    }
    assert.equal(
      after,
      replacePrompts(before, [
        { id: classifier[0].id, text: `Answer with one label.\n${classifier[0].text}` },
        { id: SYSTEM_ID, text: `${sys.text}\nAnswer in English.` },
      ]),
    );
  });

  it('bad input exits 2 with one line naming the problem', async () => {
    fs.writeFileSync(path.join(ws, 'ci.yml'), 'name: ci\non: push\n');
    const cases: [string[], RegExp][] = [
      [['optimize', 'nope.yml'], /nope\.yml/],
      [['optimize', 'ci.yml'], /DSL_NOT_DIFY_APP/],
      [['optimize', '--strategy', 'magic', 'support_bot.yml'], /unknown strategy 'magic'/],
      [['optimize', '--prompt', 'no/such', 'support_bot.yml'], /no\/such/],
      [['optimize', '--iterations', '99', 'support_bot.yml'], /maxIterations/],
      [['analyze', 'ci.yml'], /DSL_NOT_DIFY_APP/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args, ws);
      assert.equal(r.code, 2, `${args.join(' ')} → ${r.code}: ${r.err}`);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, re);
    }
  });

  it('a config file cannot redirect requests', async () => {
    fs.mkdirSync(path.join(ws, '.optimizer'));
    fs.writeFileSync(path.join(ws, '.optimizer', 'config.yaml'), 'base_url: http://127.0.0.1:9/v1\n');
    const r = await cli(['optimize', 'support_bot.yml'], ws, { OPENAI_API_KEY: 'sk-x' });
    assert.equal(r.code, 2);
    assert.match(r.err, /CONFIG_FORBIDDEN_KEY/);
  });

  it('cancel: an aborted run exits 130 and writes nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const before = fs.readFileSync(file, 'utf8');
    const r = await cli(['optimize', '--write', 'support_bot.yml'], ws, {}, ac.signal);
    assert.equal(r.code, 130);
    assert.equal(fs.readFileSync(file, 'utf8'), before);
  });

  it('apply: patches by label and template go through the write-back; a selector matching nothing writes nothing', async () => {
    const patches = path.join(ws, 'p.json');
    fs.writeFileSync(
      patches,
      JSON.stringify({
        schemaVersion: 1,
        patches: [
          { selector: { by: 'label', value: 'Router' }, mode: 'replace', content: 'Classify the question as billing or technical.' },
          { selector: { by: 'id', value: SYSTEM_ID }, mode: 'template', content: '## Role\nYou are a support agent.\n\n{{$original}}' },
        ],
      }),
    );
    const r = await cli(['apply', 'support_bot.yml', 'p.json'], ws);
    assert.equal(r.code, 0, r.err);
    const doc = parseDify(fs.readFileSync(file, 'utf8'));
    assert.equal(doc.prompts.find((p) => p.nodeTitle === 'Router')!.text, 'Classify the question as billing or technical.');
    assert.match(doc.prompts.find((p) => p.id === SYSTEM_ID)!.text, /^## Role\nYou are a support agent\.\n\nPlease note that/);

    const before = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(patches, JSON.stringify([{ selector: { by: 'label', value: 'Nobody' }, mode: 'append', content: 'x' }]));
    const bad = await cli(['apply', 'support_bot.yml', 'p.json'], ws);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /patch 1: no prompt matches label 'Nobody'/);
    assert.equal(fs.readFileSync(file, 'utf8'), before);
  });

  it('optimize works on every corpus export without failing a prompt', async function () {
    this.timeout(120000);
    for (const name of fs.readdirSync(CORPUS).filter((f) => f.endsWith('.yml'))) {
      const r = await cli(['optimize', '--json', name], CORPUS);
      assert.equal(r.code, 0, `${name}: ${r.err}`);
      assert.doesNotMatch(r.err, /error:/, name);
    }
  });
});

describe('cli: rollback writes the restored text into the file', function () {
  this.timeout(30000);
  it('optimize --write, then rollback to the baseline restores the original prompt text and records the restore', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-rb-'));
    try {
      fs.mkdirSync(path.join(ws, '.git'));
      const file = path.join(ws, 'support_bot.yml');
      fs.copyFileSync(FIXTURE, file);
      const original = fs.readFileSync(file, 'utf8');
      assert.equal((await cli(['optimize', '--write', '--prompt', SYSTEM_ID, 'support_bot.yml'], ws)).code, 0);
      assert.notEqual(fs.readFileSync(file, 'utf8'), original);
      const r = await cli(['rollback', 'support_bot.yml', '--prompt', SYSTEM_ID, '--to', '1.0.0'], ws);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /written to support_bot\.yml/);
      const restored = fs.readFileSync(file, 'utf8');
      assert.equal(parseDify(restored).prompts.find((p) => p.id === SYSTEM_ID)!.text, parseDify(original).prompts.find((p) => p.id === SYSTEM_ID)!.text);
      const store = await VersionStore.open(ws);
      try {
        const latest = await store.latest('support_bot.yml', SYSTEM_ID);
        assert.equal(latest?.restoredFrom, '1.0.0');
      } finally {
        await store.close();
      }
      // An unknown prompt id is refused before anything is recorded.
      const bad = await cli(['rollback', 'support_bot.yml', '--prompt', 'nope', '--to', '1.0.0'], ws);
      assert.equal(bad.code, 2);
      assert.match(bad.err, /DSL_UNKNOWN_PROMPT/);
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});
