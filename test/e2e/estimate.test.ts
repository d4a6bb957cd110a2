import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { evidenceHandler, HEURISTIC_NEUTRAL_WINNER, SUPPORT_CHATFLOW } from '../support/evidenceModel';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { startUiSession, type UiSession } from './support/session';
import { errorNotifications, goToLine, quickOpenFile, screenshot } from './support/workbench';

/**
 * Optimize Prompt with a model, as a user does it: the estimate in a modal dialog (above
 * promptOptimizer.confirmAboveCalls, here 0), Cancel sends nothing, Run runs and the proposal
 * opens. The model is the scripted evidence model (a TEST DOUBLE on 127.0.0.1).
 */
describe('estimate UI: Optimize Prompt asks before spending', function () {
  this.timeout(180_000);
  let s: UiSession;
  let srv: FakeOpenAIServer;
  let fixture: string;

  before(async () => {
    srv = await startFakeOpenAI({ handler: evidenceHandler({ rewrite: HEURISTIC_NEUTRAL_WINNER }).handler });
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-ui-estimate-'));
    fs.writeFileSync(path.join(fixture, 'support_chatflow.yml'), SUPPORT_CHATFLOW);
    s = await startUiSession({
      fixture,
      settings: { 'promptOptimizer.llm.baseUrl': srv.url, 'promptOptimizer.strategies': ['llm_guided'], 'promptOptimizer.maxIterations': 1, 'promptOptimizer.confirmAboveCalls': 0 },
      env: { PROMPTOPT_API_KEY: 'sk-ui-estimate-0000' },
    });
  });
  after(async () => {
    await s?.close();
    await srv?.close();
    if (fixture) fs.rmSync(fixture, { recursive: true, force: true });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && s) await screenshot(s.page, `FAILED-estimate-${this.currentTest.title}`);
  });

  it('the modal shows the estimate; Cancel sends nothing, Run runs within it and opens the proposal', async () => {
    const { page } = s;
    await quickOpenFile(page, 'support_chatflow.yml');
    const line = SUPPORT_CHATFLOW.split('\n').findIndex((l) => l.trimStart().startsWith('text:')) + 1;
    await goToLine(page, line, 11);
    const dialog = () => page.locator('.monaco-dialog-box', { hasText: /at most \d+ call\(s\) to the model \(an estimate\)/ }).first();

    await optimizeFromPalette(page);
    await dialog().waitFor({ state: 'visible', timeout: 30_000 });
    const text = await dialog().innerText();
    const calls = Number(/at most (\d+) call/.exec(text)?.[1]);
    assert.ok(calls > 0, text);
    assert.match(text, /This is an estimate, an upper bound/);
    assert.match(text, /promptOptimizer\.confirmAboveCalls \(0\)/);
    await screenshot(page, 'estimate-01-modal');
    await dialog().locator('.monaco-button', { hasText: 'Cancel' }).first().click();
    await dialog().waitFor({ state: 'detached', timeout: 15_000 });
    await page.waitForTimeout(500);
    assert.equal(srv.chatRequests().length, 0, 'Cancel sent a request');

    await goToLine(page, line, 11);
    await optimizeFromPalette(page);
    await dialog().waitFor({ state: 'visible', timeout: 30_000 });
    await dialog().locator('.monaco-button', { hasText: 'Run' }).first().click();
    await page.locator('.tabs-container .tab.active', { hasText: /better, win rate 1\.00 on 12 cases/ }).first().waitFor({ timeout: 90_000 });
    await screenshot(page, 'estimate-02-proposal');
    const sent = srv.chatRequests().filter((r) => r.outcome === 'answered').length;
    assert.ok(sent > 0 && sent <= calls, `sent ${sent}, estimated at most ${calls}`);
    assert.deepEqual(await errorNotifications(page), []);
  });
});

/**
 * Runs Optimize Prompt from the palette as a user types it (key by key, as the review UI test
 * does): filling the whole title at once lets the palette rank other commands first now that
 * there are more of ours ("similar commands").
 */
async function optimizeFromPalette(page: import('playwright-core').Page): Promise<void> {
  await page.keyboard.press('F1');
  const widget = page.locator('.quick-input-widget');
  await widget.waitFor({ state: 'visible', timeout: 10_000 });
  await widget.locator('input').pressSequentially('optimize prompt', { delay: 20 });
  const row = widget.locator('.monaco-list-row', { hasText: /Prompt Optimizer: Optimize Prompt(?! with)/ }).first();
  await row.waitFor({ timeout: 15_000 });
  await page.waitForTimeout(300);
  await row.click();
  await widget.waitFor({ state: 'hidden', timeout: 10_000 });
}

