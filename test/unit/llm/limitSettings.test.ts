/**
 * The timeout, the retries and the response size limit are settings (issue 19 item 3):
 * `.optimizer/config.yaml` (model.timeout_seconds / max_retries / max_response_mb), the VS Code
 * settings (promptOptimizer.llm.timeoutSeconds / maxRetries / maxResponseMb, read by
 * limitSettings into the engine overrides) and the CLI flags (--llm-timeout / --llm-retries /
 * --llm-max-response-mb). Each flows to the requests really sent to a loopback server.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { parseDify } from '../../../src/core/dsl';
import { resolveConfig, DEFAULT_CONFIG } from '../../../src/core/engine/config';
import { loadEngineConfig } from '../../../src/core/service/workspace';
import { createLlmClient } from '../../../src/core/llm/client';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_MS, llmLimitsOf } from '../../../src/core/llm/limits';
import { limitSettings } from '../../../src/extension/llm/limitSettings';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support/fakeOpenAI';
import { KEY, msgs, rejectionOf } from './helpers';

const FIXTURE = path.resolve(__dirname, '../../../../test/fixtures/messy/support_bot.yml');

const pkg = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../../../package.json'), 'utf8'));

/** Most attempts of one request (the command may send several requests at once): requests with the same body. */
function mostAttempts(srv: FakeOpenAIServer): number {
  const n = new Map<string, number>();
  for (const r of srv.chatRequests()) n.set(JSON.stringify(r.body), (n.get(JSON.stringify(r.body)) ?? 0) + 1);
  return Math.max(0, ...n.values());
}

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), env, cwd, signal: new AbortController().signal });
  return { code, out, err };
}

describe('LLM limits as settings: config.yaml, the VS Code settings, CLI flags', function () {
  this.timeout(60_000);
  let srv: FakeOpenAIServer;
  let ws: string;
  beforeEach(async () => {
    // Every chat request fails with HTTP 503 (retryable): the number of requests is 1 + retries.
    srv = await startFakeOpenAI({ handler: () => ({ status: 503, body: { error: { message: 'busy' } } }) });
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-limits-'));
    fs.mkdirSync(path.join(ws, '.optimizer'));
    fs.copyFileSync(FIXTURE, path.join(ws, 'support_bot.yml'));
  });
  afterEach(async () => {
    await srv.close();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  it('the defaults are 60 s, 3 retries and 8 MB', () => {
    assert.equal(DEFAULT_TIMEOUT_MS, 60_000);
    assert.equal(DEFAULT_MAX_RETRIES, 3);
    assert.equal(DEFAULT_MAX_RESPONSE_BYTES, 8 * 1024 * 1024);
    assert.deepEqual(llmLimitsOf({}), {});
  });

  it('config.yaml: model.timeout_seconds, max_retries and max_response_mb reach the client', async () => {
    fs.writeFileSync(path.join(ws, '.optimizer', 'config.yaml'), 'model:\n  timeout_seconds: 2.5\n  max_retries: 1\n  max_response_mb: 3\n');
    const config = await loadEngineConfig(ws);
    assert.deepEqual(llmLimitsOf(config.model), { timeoutMs: 2500, maxRetries: 1, maxResponseBytes: 3 * 1024 * 1024 });
    const c = createLlmClient({ baseUrl: srv.url, apiKey: KEY, model: 'm', ...llmLimitsOf(config.model) }, { retry: { baseDelayMs: 5, maxDelayMs: 5 } });
    const e = await rejectionOf(c.chat({ messages: msgs('hi') }));
    assert.equal(e.code, 'LLM_HTTP');
    assert.equal(srv.chatRequests().length, 2, 'max_retries: 1 means two attempts');
    assert.match(e.message, /Gave up after 2 attempts, \d+(\.\d)? (ms|s)\./);
  });

  it('config.yaml refuses a limit out of range, naming the file', async () => {
    fs.writeFileSync(path.join(ws, '.optimizer', 'config.yaml'), 'model:\n  max_retries: 50\n');
    await assert.rejects(loadEngineConfig(ws), /config\.yaml.*max_retries/s);
  });

  it('the VS Code settings: read into the engine overrides, they override config.yaml; null leaves it in charge', async () => {
    const values: Record<string, unknown> = { 'llm.timeoutSeconds': 5, 'llm.maxRetries': 0, 'llm.maxResponseMb': null };
    const fromSettings = limitSettings((k) => values[k]);
    assert.deepEqual(fromSettings, { timeoutSeconds: 5, maxRetries: 0 });
    fs.writeFileSync(path.join(ws, '.optimizer', 'config.yaml'), 'model:\n  timeout_seconds: 30\n  max_retries: 2\n  max_response_mb: 4\n');
    const config = await loadEngineConfig(ws, [{ model: fromSettings }]);
    assert.deepEqual(llmLimitsOf(config.model), { timeoutMs: 5000, maxRetries: 0, maxResponseBytes: 4 * 1024 * 1024 });
    // The settings are declared in package.json, machine-scoped (a workspace cannot change them).
    for (const k of ['timeoutSeconds', 'maxRetries', 'maxResponseMb']) {
      const decl = pkg.contributes.configuration.properties?.[`promptOptimizer.llm.${k}`] ?? pkg.contributes.configuration.find?.((c: { properties: Record<string, unknown> }) => c.properties[`promptOptimizer.llm.${k}`])?.properties[`promptOptimizer.llm.${k}`];
      assert.ok(decl, `promptOptimizer.llm.${k} is not declared`);
      assert.equal(decl.scope, 'machine');
    }
    // And with no setting at all, the file's values stay.
    assert.deepEqual(llmLimitsOf(resolveConfig(DEFAULT_CONFIG, { model: { maxRetries: 2 } }, { model: limitSettings(() => null) }).model), { maxRetries: 2 });
  });

  it('CLI: --llm-retries and --llm-timeout override config.yaml; the error names the attempts and the time', async () => {
    fs.writeFileSync(path.join(ws, '.optimizer', 'config.yaml'), 'model:\n  max_retries: 2\n');
    const prompt = parseDify(fs.readFileSync(FIXTURE, 'utf8')).prompts[0]!.id;
    const env = { OPENAI_API_KEY: KEY };
    const base = ['cases', 'support_bot.yml', '--prompt', prompt, '--base-url', srv.url, '--yes', '--no-cache'];
    const fromFile = await cli(base, ws, env);
    assert.notEqual(fromFile.code, 0);
    // The command may send a few identical requests at once: each is tried at most 1 + max_retries times.
    assert.equal(mostAttempts(srv), 3, `config.yaml max_retries 2: ${fromFile.err}`);
    assert.match(fromFile.err, /Gave up after 3 attempts/);
    const withRetries = srv.chatRequests().length;
    srv.reset();
    const fromFlag = await cli([...base, '--llm-retries', '0', '--llm-timeout', '7'], ws, env);
    assert.notEqual(fromFlag.code, 0);
    assert.ok(srv.chatRequests().length < withRetries, `--llm-retries 0 sent ${srv.chatRequests().length} requests, with max_retries 2 ${withRetries}`);
    assert.ok(srv.chatRequests().length <= withRetries / 2, `--llm-retries 0: ${fromFlag.err}`);
    assert.match(fromFlag.err, /Gave up after 1 attempt, \d+(\.\d)? (ms|s)\./);
    const bad = await cli([...base, '--llm-retries', 'many'], ws, env);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--llm-retries takes an integer from 0 to 10/);
  });

  it('CLI: --llm-timeout bounds each attempt, and the message says the whole time spent', async () => {
    await srv.close();
    srv = await startFakeOpenAI({ handler: () => ({ hang: true }) });
    const prompt = parseDify(fs.readFileSync(FIXTURE, 'utf8')).prompts[0]!.id;
    const t0 = Date.now();
    const r = await cli(['cases', 'support_bot.yml', '--prompt', prompt, '--base-url', srv.url, '--yes', '--no-cache', '--llm-timeout', '1', '--llm-retries', '1'], ws, { OPENAI_API_KEY: KEY });
    const ms = Date.now() - t0;
    assert.notEqual(r.code, 0);
    assert.equal(mostAttempts(srv), 2, r.err);
    assert.ok(ms >= 2_000 && ms < 10_000, `took ${ms} ms`);
    assert.match(r.err, /within 1 s/);
    assert.match(r.err, /Gave up after 2 attempts, \d(\.\d)? s\./);
  });
});
