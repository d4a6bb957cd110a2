import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { startUiSession, type UiSession } from './support/session';
import { errorNotifications, pickRow, quickOpenFile, runCommand, screenshot } from './support/workbench';

const QUICK_INPUT = '.quick-input-widget';

describe('Select Model UI: editor models, endpoint models, local servers', function () {
  this.timeout(120_000);
  let s: UiSession;
  let srv: FakeOpenAIServer;

  before(async () => {
    srv = await startFakeOpenAI({ models: ['local-llama-3', 'local-qwen'] });
    s = await startUiSession({ settings: { 'promptOptimizer.llm.localServerPorts': [srv.port] } });
  });
  after(async () => {
    await s?.close();
    await srv?.close();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && s) await screenshot(s.page, `FAILED-${this.currentTest.title}`);
  });

  it('lists the three kinds of models; clicking a local server model stores it in user settings', async () => {
    await quickOpenFile(s.page, 'basic_chatflow.yml');
    srv.reset();
    await runCommand(s.page, 'Prompt Optimizer: Select Model');
    const widget = s.page.locator(QUICK_INPUT);
    await widget.locator('.monaco-list-row', { hasText: 'gpt-4o-mini' }).first().waitFor({ state: 'visible', timeout: 15_000 });
    const text = await widget.innerText();
    assert.match(text, /Editor models/);
    assert.match(text, /Endpoint models/);
    // VS Code 1.100 with no language model extension: the section says so.
    assert.match(text, /No language model in the editor/);
    // No key and no editor model: a run would use the rule strategies, so no model is marked
    // current, and the endpoint's model says why (the mark shows what a run would use).
    const endpointRow = widget.locator('.monaco-list-row', { hasText: 'gpt-4o-mini' }).first();
    await endpointRow.filter({ hasText: 'no API key' }).waitFor({ state: 'visible', timeout: 5_000 });
    assert.doesNotMatch(await widget.innerText(), /\bcurrent\b/);
    // The local server appears once the brief probe of the loopback ports answers.
    await widget.locator('.monaco-list-row', { hasText: 'local-qwen' }).first().waitFor({ state: 'visible', timeout: 15_000 });
    assert.match(await widget.innerText(), /Local servers on this machine/);
    await screenshot(s.page, 'select-model-local-server');
    await pickRow(s.page, 'local-qwen');
    assert.ok(srv.requests.some((r) => r.method === 'GET' && r.path === '/v1/models'), 'the local server was not probed');
    // User settings: window-scoped ones in User/, machine-scoped ones (base URL, backend) in
    // Machine/ on a remote host such as code-server. Never in the workspace.
    const read = (dir: string): Record<string, unknown> => {
      const f = path.join(s.codeServer.userDataDir, dir, 'settings.json');
      return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, 'utf8')) as Record<string, unknown>) : {};
    };
    let stored: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      stored = { ...read('User'), ...read('Machine') };
      if (stored['promptOptimizer.llm.model'] === 'local-qwen' && stored['promptOptimizer.llm.backend'] === 'endpoint') break;
      await s.page.waitForTimeout(200);
    }
    assert.equal(stored['promptOptimizer.llm.model'], 'local-qwen');
    assert.equal(stored['promptOptimizer.llm.baseUrl'], srv.url);
    assert.equal(stored['promptOptimizer.llm.backend'], 'endpoint');
    assert.equal(fs.existsSync(path.join(s.workspace, '.vscode', 'settings.json')), false, 'the choice reached the workspace settings');
    assert.deepEqual(await errorNotifications(s.page), []);
  });
});
