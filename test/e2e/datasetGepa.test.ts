import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { startFakeOpenAI, type FakeOpenAIServer } from '../support/fakeOpenAI';
import { INTENT_JSONL, INTENT_VAR, intentHandler, ruleFor } from '../support/intentModel';
import { startUiSession, type UiSession } from './support/session';
import { errorNotifications, goToLine, pickRow, quickOpenFile, runCommand, screenshot } from './support/workbench';

const FILE = 'basic_llm_chat_workflow.yml';

async function until(what: string, predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function dialog(page: Page, text: string | RegExp) {
  const box = page.locator('.monaco-dialog-box', { hasText: text }).first();
  await box.waitFor({ state: 'visible', timeout: 30_000 });
  return box;
}

/**
 * "Optimize Prompt with Dataset…" with GEPA, driven through the workbench: the optimizer pick,
 * the GEPA budget pick, the estimate to confirm, then the report. The model is the intent task
 * model (a TEST DOUBLE on 127.0.0.1, built so that feedback helps; its scores are not
 * real-model results).
 */
describe('dataset UI: GEPA', function () {
  this.timeout(300_000);
  let s: UiSession;
  let srv: FakeOpenAIServer;

  before(async () => {
    srv = await startFakeOpenAI({ handler: intentHandler });
    s = await startUiSession({ settings: { 'promptOptimizer.llm.baseUrl': srv.url }, env: { PROMPTOPT_API_KEY: 'sk-ui-dataset-gepa-0000' } });
    const dir = path.join(s.workspace, '.optimizer', 'datasets');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'intent.jsonl'), INTENT_JSONL.split(INTENT_VAR).join('start_node.query'));
  });
  after(async () => {
    await s?.close();
    await srv?.close();
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !s) return;
    await screenshot(s.page, `FAILED-dataset-gepa-${this.currentTest.title}`);
    // The extension's own log (code-server writes the output channel under user-data-dir/logs).
    const logs: string[] = [];
    const walk = (d: string) => {
      for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
        if (e.isDirectory()) walk(path.join(d, e.name));
        else if (/prompt.?optimizer/i.test(e.name) && e.name.endsWith('.log')) logs.push(path.join(d, e.name));
      }
    };
    walk(path.join(s.codeServer.userDataDir, 'logs'));
    for (const f of logs) console.error(`[dataset-gepa] ${path.basename(f)} (last 40 lines):\n${fs.readFileSync(f, 'utf8').split('\n').slice(-40).join('\n')}`);
    // What the run said went wrong (failed calls, skipped proposals), for the CI log.
    const runsDir = path.join(s.workspace, '.optimizer', 'runs');
    for (const f of fs.existsSync(runsDir) ? fs.readdirSync(runsDir).filter((n) => n.endsWith('.jsonl')) : []) {
      const lines = fs.readFileSync(path.join(runsDir, f), 'utf8').split('\n');
      const errors = lines.filter((l) => l.includes('"optimization_error"'));
      console.error(`[dataset-gepa] ${f}: ${errors.length} optimization_error event(s)\n${errors.slice(0, 5).join('\n')}`);
      // The report's own account: calls, failed example runs and skipped proposals.
      const report = lines.find((l) => l.startsWith('{"type":"report"'));
      if (report) {
        const r = (JSON.parse(report) as { report: { usage?: unknown; baseline?: { validationScore?: number }; candidates?: unknown[]; failedRuns?: unknown; failedProposals?: unknown } }).report;
        console.error(`[dataset-gepa] report: ${JSON.stringify({ usage: r.usage, baseline: r.baseline?.validationScore, candidates: r.candidates?.length, failedRuns: r.failedRuns, failedProposals: r.failedProposals }).slice(0, 2000)}`);
      }
    }
  });

  it('picking GEPA asks for its budget, confirms the estimate and opens the report with the lineage', async () => {
    const { page } = s;
    const runsDir = path.join(s.workspace, '.optimizer', 'runs');
    const logs = () => (fs.existsSync(runsDir) ? fs.readdirSync(runsDir).filter((f) => f.endsWith('.jsonl')) : []);
    await quickOpenFile(page, FILE);
    await goToLine(page, 91, 21);
    await page.locator('.codelens-decoration', { hasText: 'Optimize' }).filter({ visible: true }).first().waitFor({ timeout: 30_000 });
    await runCommand(page, 'Prompt Optimizer: Optimize Prompt with Dataset…');
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'intent.jsonl' }).first().click();
    await page.locator('.quick-input-widget', { hasText: 'Optimizer' }).waitFor({ state: 'visible', timeout: 15_000 });
    // The GEPA budget pick follows in the same quick input.
    await page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Evolve the instruction' }).first().click();
    await page.locator('.quick-input-widget', { hasText: 'GEPA budget' }).waitFor({ state: 'visible', timeout: 15_000 });
    await screenshot(page, 'dataset-gepa-01-budget-pick');
    await pickRow(page, 'Light');
    const confirm = await dialog(page, /Run gepa on "LLM" with 16 examples/);
    assert.match(await confirm.innerText(), /About 98 LLM calls/);
    await confirm.locator('.monaco-button', { hasText: /^Run$/ }).click();

    await until('a run log with its report', () => logs().length === 1 && fs.readFileSync(path.join(runsDir, logs()[0]!), 'utf8').includes('{"type":"report"'), 120_000);
    await page.locator('.tabs-container .tab', { hasText: /Untitled|gepa/ }).first().waitFor({ timeout: 30_000 });
    await page.locator('.view-lines', { hasText: 'Lineage (each reflective candidate' }).first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'dataset-gepa-02-report');
    const line = fs.readFileSync(path.join(runsDir, logs()[0]!), 'utf8').split('\n').find((l) => l.startsWith('{"type":"report"'))!;
    const report = JSON.parse(line) as { report: { optimizer: string; best: { text: string; validationScore: number; source: string } } };
    assert.equal(report.report.optimizer, 'gepa');
    assert.equal(report.report.best.source, 'gepa');
    assert.equal(report.report.best.validationScore, 1);
    assert.ok(report.report.best.text.includes(ruleFor('refund')));
    assert.deepEqual(await errorNotifications(page), []);
  });
});
