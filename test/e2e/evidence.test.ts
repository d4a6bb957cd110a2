import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evidenceHandler, SUPPORT_CHATFLOW } from '../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { startUiSession, type UiSession } from './support/session';
import { activeTab, errorNotifications, goToLine, quickOpenFile, screenshot, waitForNotification } from './support/workbench';

/**
 * "Generate Test Cases…" as a user does it: the prompt's "Test cases" CodeLens, the estimate in a
 * modal dialog, Generate, and the cases file opening. The model is the scripted evidence model
 * (a TEST DOUBLE on 127.0.0.1).
 */
describe('evidence UI: Generate Test Cases from the CodeLens', function () {
  this.timeout(180_000);
  let s: UiSession;
  let srv: FakeOpenAIServer;
  let fixture: string;

  before(async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler().handler });
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-ui-evidence-'));
    fs.writeFileSync(path.join(fixture, 'support_chatflow.yml'), SUPPORT_CHATFLOW);
    s = await startUiSession({ fixture, settings: { 'promptOptimizer.llm.baseUrl': srv.url }, env: { PROMPTOPT_API_KEY: 'sk-ui-evidence-0000' } });
  });
  after(async () => {
    await s?.close();
    await srv?.close();
    if (fixture) fs.rmSync(fixture, { recursive: true, force: true });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && s) await screenshot(s.page, `FAILED-evidence-${this.currentTest.title}`);
  });

  it('clicking "Test cases" shows the estimate, and Generate writes and opens the cases file', async () => {
    const { page } = s;
    await quickOpenFile(page, 'support_chatflow.yml');
    // The prompt's `text:` line, so its CodeLens is on screen.
    const line = SUPPORT_CHATFLOW.split('\n').findIndex((l) => l.trimStart().startsWith('text:')) + 1;
    await goToLine(page, line, 11);
    const lens = page.locator('.codelens-decoration a', { hasText: 'Test cases' }).filter({ visible: true }).first();
    await lens.waitFor({ timeout: 30_000 });
    await lens.click();
    const box = page.locator('.monaco-dialog-box', { hasText: /Generate 12 test cases for "Answer"/ }).first();
    await box.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await box.innerText(), /At most 2 call\(s\)/);
    await box.locator('.monaco-button', { hasText: 'Generate' }).first().click();
    await waitForNotification(page, /12 test cases written to \.optimizer/, 60_000);
    await activeTab(page, 'support_chatflow--1700000000003').waitFor({ state: 'visible', timeout: 15_000 });
    const file = fs.readdirSync(path.join(s.workspace, '.optimizer', 'datasets')).find((f) => f.endsWith('.jsonl'))!;
    assert.equal(fs.readFileSync(path.join(s.workspace, '.optimizer', 'datasets', file), 'utf8').trim().split('\n').length, 12);
    assert.equal(srv.chatRequests().length, 2);
    assert.deepEqual(await errorNotifications(page), []);
    await screenshot(page, 'evidence-generate-test-cases');
  });
});
