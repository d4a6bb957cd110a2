import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { startFakeOpenAI, type FakeOpenAIServer, type RecordedRequest } from '../support/fakeOpenAI';
import { SENTIMENT_JSONL, scriptedHandler } from '../support/taskModel';
import { startUiSession, type UiSession } from './support/session';
import { extensionLogFiles } from '../harness/logs';
import { errorNotifications, goToLine, pickRow, quickOpenFile, RESULTS_DIR, runCommand, screenshot, waitForNotification } from './support/workbench';

const FILE = 'basic_llm_chat_workflow.yml';

/** The bodies of the POST requests (chat and embeddings) among `requests`, as JSON text. */
const bodiesOf = (requests: readonly RecordedRequest[]) => requests.filter((r) => r.method === 'POST').map((r) => JSON.stringify(r.body));

/** Polls `predicate` every 100 ms until it holds or `timeoutMs` passes. */
async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The modal dialog showing `text`, once visible. */
async function dialog(page: Page, text: string | RegExp) {
  const box = page.locator('.monaco-dialog-box', { hasText: text }).first();
  await box.waitFor({ state: 'visible', timeout: 30_000 });
  return box;
}

/**
 * Not in `npm test` for now (`npm run test:ui:resume` runs it): in about one full UI run in six
 * on CI, the first attempt ended at once with no call made ("Used 0 call(s)", baseline 0%)
 * instead of waiting at the held requests; alone it has passed every time. The resume itself is
 * covered in VS Code by test/integration/dataset.trusted.test.ts.
 *
 * "Optimize Prompt with Dataset…" driven through the workbench: Cancel on the progress
 * notification, then the Resume button of the notification that follows. The model is the
 * scripted task model (a TEST DOUBLE on 127.0.0.1; its scores are not real-model results).
 */
describe('dataset UI: Cancel → Resume', function () {
  this.timeout(300_000);
  let s: UiSession;
  let srv: FakeOpenAIServer;
  /** From this chat request on (0-based since the last reset), the server holds requests unanswered. */
  let holdFrom: number | undefined;

  before(async () => {
    srv = await startFakeOpenAI({ handler: (req, ctx) => (holdFrom !== undefined && ctx.index >= holdFrom ? { hang: true } : scriptedHandler(req, ctx)) });
    s = await startUiSession({ settings: { 'promptOptimizer.llm.baseUrl': srv.url }, env: { PROMPTOPT_API_KEY: 'sk-ui-dataset-resume-0000' } });
    const dir = path.join(s.workspace, '.optimizer', 'datasets');
    fs.mkdirSync(dir, { recursive: true });
    const rows = SENTIMENT_JSONL.split('\n').map((l) => {
      const o = JSON.parse(l) as Record<string, string>;
      return JSON.stringify({ 'start_node.query': o['sys.query'], expected: o.expected });
    });
    fs.writeFileSync(path.join(dir, 'sentiment.jsonl'), rows.join('\n'));
  });
  after(async () => {
    await s?.close();
    await srv?.close();
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !s) return;
    await screenshot(s.page, `FAILED-dataset-${this.currentTest.title}`);
    // For the rare first attempt that ends at once with no call (see above): keep what the
    // extension logged (where its requests went, why each evaluation failed) and what the
    // server saw, so the next failure names its cause.
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    for (const [i, f] of extensionLogFiles(s.codeServer.userDataDir).entries()) fs.copyFileSync(f, path.join(RESULTS_DIR, `FAILED-dataset-extension-${i}.log`));
    const seen = srv?.requests.map((r) => `${r.method} ${r.path} ${r.outcome ?? 'in flight'}`) ?? [];
    fs.writeFileSync(path.join(RESULTS_DIR, 'FAILED-dataset-server-requests.txt'), `${seen.length} request(s)\n${seen.join('\n')}\n`);
  });

  it('Cancel offers Resume; Resume confirms the estimate without what was recorded and finishes the run asking nothing already answered', async () => {
    const { page } = s;
    const runsDir = path.join(s.workspace, '.optimizer', 'runs');
    const logs = () => (fs.existsSync(runsDir) ? fs.readdirSync(runsDir).filter((f) => f.endsWith('.jsonl')) : []);
    const logLines = (f: string) => fs.readFileSync(path.join(runsDir, f), 'utf8').split('\n');
    await quickOpenFile(page, FILE);
    // The cursor on the system prompt (line 91: `text: You are a helpful assistant.`).
    await goToLine(page, 91, 21);
    // The extension is active and knows the file is an export (its palette entries show) once
    // the prompt's CodeLens is drawn.
    await page.locator('.codelens-decoration', { hasText: 'Optimize' }).filter({ visible: true }).first().waitFor({ timeout: 30_000 });
    holdFrom = 20;
    await runCommand(page, 'Prompt Optimizer: Optimize Prompt with Dataset…');
    // The dataset pick, then the optimizer pick in the same quick input.
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'sentiment.jsonl' }).first().click();
    await page.locator('.quick-input-widget', { hasText: 'Optimizer' }).waitFor({ state: 'visible', timeout: 15_000 });
    await pickRow(page, 'COPRO');
    const confirm = await dialog(page, /Run copro on "LLM" with 10 examples/);
    await confirm.locator('.monaco-button', { hasText: /^Run$/ }).click();

    // Twenty answers arrive and are recorded; the next requests wait at the server.
    await until('a run log', () => logs().length === 1, 30_000);
    const log = logs()[0]!;
    const runId = log.replace(/\.jsonl$/, '');
    const answered = () => srv.requests.filter((r) => r.method === 'POST' && r.outcome === 'answered').length;
    const recorded = () => logLines(log).filter((l) => /^\{"type":"(result|memo)"/.test(l)).length;
    await until('20 answers recorded and requests held', () => srv.inFlight > 0 && srv.chatRequests().length > 20 && answered() >= 20 && recorded() >= answered(), 60_000);
    await screenshot(page, 'dataset-01-running');
    const progress = page.locator('.notifications-toasts .notification-toast', { hasText: 'Prompt Optimizer: copro' }).first();
    await progress.locator('.monaco-button', { hasText: 'Cancel' }).click();
    const cancelled = await waitForNotification(page, `Choose Resume to continue run ${runId}`, 30_000);
    await screenshot(page, 'dataset-02-cancelled-resume');
    await Promise.all(srv.requests.map((r) => r.done));
    const answered1 = bodiesOf(srv.requests.filter((r) => r.outcome === 'answered'));
    assert.ok(answered1.length >= 20);
    const heldCount = srv.requests.filter((r) => r.outcome === 'aborted').length;
    assert.ok(heldCount > 0, 'Cancel did not abort the requests held at the server');

    // Resume, with the response cache gone: only the run log can spare the answered requests.
    holdFrom = undefined;
    srv.reset();
    fs.rmSync(path.join(s.workspace, '.optimizer', 'cache', 'llm'), { recursive: true, force: true });
    await cancelled.locator('.monaco-button', { hasText: 'Resume' }).click();
    const again = await dialog(page, `Resume run ${runId}: copro on "LLM" with 10 examples`);
    const detail = await again.innerText();
    assert.match(detail, /Reuses \d+ result\(s\)(, \d+ proposal\(s\))? recorded by earlier attempts of this run: not counted above\./);
    await screenshot(page, 'dataset-03-resume-estimate');
    await again.locator('.monaco-button', { hasText: /^Resume$/ }).click();

    // The resumed attempt writes the run's report to the same log.
    await until('the report in the run log', () => logLines(log).some((l) => l.startsWith('{"type":"report"')), 120_000);
    await page.locator('.tabs-container .tab', { hasText: /Untitled|copro/ }).first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'dataset-04-resumed-report');
    assert.deepEqual(logs(), [log], 'Resume started another run');
    const bodies2 = bodiesOf(srv.requests);
    assert.ok(bodies2.length > 0);
    assert.deepEqual(bodies2.filter((b) => answered1.includes(b)), [], 'the resumed run asked again what the first attempt had been answered');
    const report = JSON.parse(logLines(log).find((l) => l.startsWith('{"type":"report"'))!) as { report: { runId: string; reusedResults: number } };
    assert.equal(report.report.runId, runId);
    assert.ok(report.report.reusedResults >= 20, `${report.report.reusedResults} results reused`);
    assert.deepEqual(await errorNotifications(page), []);
  });
});
