import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { SECRET_API_KEY } from '../../src/extension/constants';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { TEST_KEY_PREFIX } from './support/protocol';
import { api, open, revertAndCloseAll, until, WEAK, WEAK_2, workCopy } from './support/ext';
import { expectLogError, waitFor, workspaceDir } from './support/helpers';

const KEY = `${TEST_KEY_PREFIX}secret-4f9c1d2e7a`;
const OTHER_PROMPT = WEAK_2.promptId;

interface RunResult {
  proposals: ProposalSummary[];
  notes: string[];
  cancelled: boolean;
  usedLlm: boolean;
  failures: Array<{ promptId: string; message: string }>;
}

/** Forgets the LLM answers cached under .optimizer/cache/llm/, so the next run asks the server. */
function clearLlmCache(): void {
  fs.rmSync(path.join(workspaceDir(), '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
}

/** Text of the log files VS Code wrote for our extension (the "Prompt Optimizer" LogOutputChannel), from disk. */
function logFilesText(dir: string): string {
  let out = '';
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.log')) out += fs.readFileSync(p, 'utf8');
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

describe('LLM path, secrets, cancel and the log (trusted)', () => {
  let srv: FakeOpenAIServer;
  /** While set, the server holds every default answer until it settles. */
  let gate: Promise<void> | undefined;
  const config = () => vscode.workspace.getConfiguration('promptOptimizer');

  before(async () => {
    srv = await startFakeOpenAI({
      handler: async (_req, ctx) => {
        if (gate) await gate;
        return ctx.defaultReply();
      },
    });
    await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    await config().update('strategies', ['llm_guided'], vscode.ConfigurationTarget.Global);
    await config().update('maxIterations', 1, vscode.ConfigurationTarget.Global);
  });
  after(async () => {
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    for (const k of ['llm.baseUrl', 'strategies', 'maxIterations', 'llm.model']) await config().update(k, undefined, vscode.ConfigurationTarget.Global);
    await srv?.close();
    await revertAndCloseAll();
  });
  afterEach(revertAndCloseAll);

  it('Set API Key stores the key in SecretStorage only (not in any setting)', async () => {
    const a = await api();
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY), true);
    const ext = vscode.extensions.getExtension('promptopt.prompt-optimizer-dify')!;
    void ext;
    // The settings do not hold it.
    assert.ok(!JSON.stringify(vscode.workspace.getConfiguration('promptOptimizer')).includes(KEY));
    assert.ok(a.logLines().some((l) => l.includes('API key stored in SecretStorage')));
  });

  it('Select Model writes the model setting', async () => {
    await api();
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.selectModel', 'fake-model-1'), 'fake-model-1');
    assert.equal(config().get('llm.model'), 'fake-model-1');
  });

  it('optimizes with the LLM over HTTP using the stored key, and the log never contains the key', async () => {
    const a = await api();
    srv.reset();
    const file = workCopy(WEAK.file, 'llm');
    const editor = await open(file);
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, WEAK.promptId);
    assert.equal(run.usedLlm, true, run.notes.join(' '));
    const chats = srv.chatRequests();
    assert.ok(chats.length > 0, 'no chat request reached the fake server');
    assert.equal(chats[0].headers.authorization, `Bearer ${KEY}`);
    assert.equal((chats[0].body as { model: string }).model, 'fake-model-1');
    assert.equal(run.proposals.length, 1, `no proposal: ${run.notes.join(' ')}`);
    assert.equal(run.proposals[0].strategy, 'llm_guided');
    const lines = a.logLines();
    assert.ok(lines.some((l) => l.includes('llm: ')), 'the LLM client wrote nothing to the log');
    assert.ok(lines.some((l) => l.includes('LLM endpoint 127.0.0.1')));
    assert.deepEqual(lines.filter((l) => l.includes(KEY)), [], 'the log contains the API key');
    assert.ok(!lines.join('\n').includes(KEY.slice(3)), 'the log contains part of the API key');
    await vscode.commands.executeCommand('promptOptimizer.rejectProposal', run.proposals[0].id);
  });

  it('with a key and no strategies chosen, the LLM strategies run beside the rules', async () => {
    await api();
    srv.reset();
    clearLlmCache();
    await config().update('strategies', undefined, vscode.ConfigurationTarget.Global);
    try {
      const file = workCopy(WEAK.file, 'llm-default');
      const editor = await open(file);
      const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, WEAK.promptId);
      assert.equal(run.usedLlm, true, run.notes.join(' '));
      assert.ok(srv.chatRequests().length >= 2, `llm_guided and hybrid should both ask the model (${srv.chatRequests().length} request(s))`);
      for (const p of run.proposals) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', p.id);
    } finally {
      await config().update('strategies', ['llm_guided'], vscode.ConfigurationTarget.Global);
    }
  });

  it('the settings reach the engine: a calls budget caps requests, min confidence refuses weak answers', async () => {
    await api();
    await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY);
    srv.reset();
    clearLlmCache();
    try {
      await config().update('strategies', ['llm_guided', 'llm_clarity'], vscode.ConfigurationTarget.Global);
      await config().update('budget.maxCalls', 1, vscode.ConfigurationTarget.Global);
      const file = workCopy(WEAK.file, 'settings-budget');
      const editor = await open(file);
      const capped = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, WEAK.promptId);
      assert.equal(srv.chatRequests().length, 1, 'the calls budget of 1 should let exactly one request through');
      // The strategy that got the call keeps its proposal; the other one was stopped by the budget.
      assert.equal(capped.proposals.length, 1, JSON.stringify(capped));
      assert.deepEqual(capped.failures, []);
      for (const p of capped.proposals) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', p.id);
      await config().update('budget.maxCalls', undefined, vscode.ConfigurationTarget.Global);
      await config().update('strategies', ['llm_guided'], vscode.ConfigurationTarget.Global);

      // The fake model reports confidence 0.8: a minimum of 0.95 keeps nothing.
      srv.reset();
      clearLlmCache();
      await config().update('minConfidence', 0.95, vscode.ConfigurationTarget.Global);
      const weak = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, WEAK.promptId);
      assert.ok(srv.chatRequests().length >= 1);
      assert.deepEqual(weak.proposals, [], 'a proposal below the minimum confidence was offered');
    } finally {
      for (const k of ['budget.maxCalls', 'minConfidence']) await config().update(k, undefined, vscode.ConfigurationTarget.Global);
      await config().update('strategies', ['llm_guided'], vscode.ConfigurationTarget.Global);
    }
  });

  it('Cancel aborts the request in flight and leaves the file unchanged', async () => {
    const a = await api();
    srv.reset();
    srv.enqueue({ hang: true });
    const file = workCopy(WEAK.file, 'cancel');
    const editor = await open(file);
    const before = editor.document.getText();
    // Another prompt than the previous test's: its answer is not in the LLM response cache.
    const pending = vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, OTHER_PROMPT);
    await waitFor('the request to hang at the server', () => srv.inFlight > 0, 15_000);
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.cancelOptimization'), true);
    const run = await pending;
    assert.equal(run.cancelled, true);
    assert.equal(await srv.chatRequests()[0].done, 'aborted', 'the HTTP request was not aborted');
    assert.deepEqual(run.proposals, []);
    assert.equal(editor.document.getText(), before);
    assert.ok(a.logLines().some((l) => l.includes('optimization cancelled')));
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.cancelOptimization'), false, 'a run is still marked active');
  });

  it('shows the status bar item while a run is active and hides it after', async () => {
    const a = await api();
    srv.reset();
    clearLlmCache();
    let release = () => {};
    gate = new Promise<void>((r) => (release = r));
    try {
      const file = workCopy(WEAK.file, 'status');
      const editor = await open(file);
      assert.equal(a.runStatus().visible, false, 'the status bar item is shown with no run');
      const pending = vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, OTHER_PROMPT);
      await waitFor('the request to wait at the server', () => srv.inFlight > 0, 15_000);
      const during = a.runStatus();
      assert.equal(during.visible, true, 'no status bar item while the run is active');
      assert.match(during.text, /Optimizing prompts 0\/1/);
      release();
      const run = await pending;
      assert.equal(run.cancelled, false);
      assert.equal(run.usedLlm, true);
      assert.deepEqual(run.failures, []);
      assert.equal(a.runStatus().visible, false, 'the status bar item stayed after the run');
      for (const p of run.proposals) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', p.id);
    } finally {
      release();
      gate = undefined;
    }
  });

  it('the log file on disk never holds the key, also when the endpoint refuses it and echoes it back (401)', async () => {
    const a = await api();
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.setApiKey', KEY), true);
    srv.reset();
    clearLlmCache();
    // Like a real endpoint, the refusal quotes the key it was given.
    srv.enqueue({
      status: 401,
      body: { error: { message: `Incorrect API key provided: ${KEY}. You can find your API key in your account settings.`, type: 'invalid_request_error', code: 'invalid_api_key' } },
    });
    expectLogError(/refused the API key \(HTTP 401\)/, 'the 401 test provokes the refusal on purpose');
    const file = workCopy(WEAK.file, 'auth');
    const editor = await open(file);
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, WEAK.promptId);
    assert.ok(srv.chatRequests().length >= 1, 'no request reached the server');
    assert.equal(srv.chatRequests()[0].headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(run.proposals, []);
    assert.equal(run.failures.length, 1, JSON.stringify(run));
    // The LogOutputChannel's own file, as VS Code wrote it under the extension's log folder.
    const text = await until(`the refusal in the log file under ${a.logDir}`, () => {
      const t = logFilesText(a.logDir);
      return /LLM_AUTH.*refused the API key \(HTTP 401\)/.test(t) ? t : undefined;
    }, 15_000);
    assert.ok(text.includes('API key stored in SecretStorage'), 'the log file does not hold the earlier lines');
    assert.ok(!text.includes(KEY), 'the log file contains the API key');
    assert.ok(!text.includes(KEY.slice(TEST_KEY_PREFIX.length)), 'the log file contains part of the API key');
    assert.deepEqual(a.logLines().filter((l) => l.includes(KEY)), []);
  });

  it('Clear API Key removes it; the LLM strategies then fall back to rules and say so', async () => {
    await api();
    await vscode.commands.executeCommand('promptOptimizer.clearApiKey');
    srv.reset();
    const file = workCopy(WEAK.file, 'nokey');
    const editor = await open(file);
    // A remote endpoint: a local server (the fake one is on 127.0.0.1) needs no key (lm.trusted.test.ts).
    await config().update('llm.baseUrl', 'https://llm.example.invalid/v1', vscode.ConfigurationTarget.Global);
    let run: RunResult | undefined;
    try {
      run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, WEAK.promptId);
    } finally {
      await config().update('llm.baseUrl', srv.url, vscode.ConfigurationTarget.Global);
    }
    if (process.env.OPENAI_API_KEY || process.env.PROMPTOPT_API_KEY) return; // an environment key stands in
    assert.equal(run.usedLlm, false);
    assert.equal(srv.chatRequests().length, 0);
    assert.ok(run.notes.some((n) => /No API key is set/.test(n)), run.notes.join(' '));
    void SECRET_API_KEY;
  });
});
