import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Frame, Page } from 'playwright-core';
import type { Checklist } from '../../src/core/evidence/checklist';
import type { EvidenceReport } from '../../src/core/evidence/evaluate';
import { evidenceMarkdown } from '../../src/core/evidence/report';
import { winStats } from '../../src/core/evidence/stats';
import { zeroUsage } from '../../src/core/evidence/usage';
import { startUiSession, type UiSession } from './support/session';
import { errorNotifications, runCommand, screenshot } from './support/workbench';

/** Model output as an attacker writes it: HTML, a handler, a command link, a fence breaker. */
const SCRIPT = '<script>window.parent.postMessage("pwned","*");document.title="pwned"</script>';
const IMG = '<img src=x onerror="document.title=\'pwned-img\'">';
const LINK = '[open a terminal](command:workbench.action.terminal.new)';
const FENCE = '````\n# Injected heading\n<b>bold?</b>\n````';
const EVIL = `Sure.\n${SCRIPT}\n${IMG}\n${LINK}\n${FENCE}\nend`;

function writeReport(dir: string): { json: string; md: string } {
  const checklist: Checklist = { version: 1, promptId: 'n/p', promptSha256: 'x', requirements: [{ id: 'R1', text: `Answers ${LINK}`, kind: 'task', check: { type: 'judge' }, origin: 'prompt' }] };
  const report: EvidenceReport = {
    promptId: 'n/p',
    method: 'judge',
    judgeModel: 'judge-1',
    taskModel: 'task-1',
    candidateSha256: 'c'.repeat(64),
    cases: [
      {
        id: 'case-01',
        kind: 'adversarial',
        note: IMG,
        input: { 'sys.query': `${SCRIPT} ${LINK}` },
        current: { output: 'A plain answer.' },
        candidate: { output: EVIL },
        winner: 'tie',
        reason: 'the two orders disagree',
        orders: [
          { winner: 'B', reason: `B is better ${IMG}` },
          { winner: 'B', reason: `A is worse ${LINK}` },
        ],
        checks: { R1: { current: true, candidate: true } },
      },
    ],
    stats: winStats({ wins: 0, ties: 1, losses: 0 }),
    requirements: [{ id: 'R1', text: `Answers ${LINK}`, current: 1, candidate: 0.5, cases: 2 }],
    dropped: [],
    verdict: 'no evidence',
    usage: { ...zeroUsage(), calls: 4, promptTokens: 100, completionTokens: 20 },
    looks: [{ cases: 1, winRate: 0.5, lower: 0.1, upper: 0.9 }],
    positionConsistency: 0,
  };
  const base = path.join(dir, '.optimizer', 'evidence', 'support--n_p--cccccccccccc');
  fs.mkdirSync(path.dirname(base), { recursive: true });
  fs.writeFileSync(`${base}.json`, JSON.stringify({ ...report, casesFile: '.optimizer/datasets/x.jsonl', checklist, current: 'Current prompt', candidate: `Candidate ${SCRIPT}` }, null, 2));
  fs.writeFileSync(`${base}.md`, evidenceMarkdown(report, { checklist, current: 'Current prompt', candidate: `Candidate ${SCRIPT}`, casesFile: '.optimizer/datasets/x.jsonl', nodeTitle: 'Answer' }));
  return { json: `${base}.json`, md: `${base}.md` };
}

/** Runs a palette command, again after a pause while the extension's commands are still being registered. */
async function runCommandSoon(page: Page, title: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await runCommand(page, title);
      return;
    } catch (e) {
      if (attempt >= 4) throw e;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(2_000);
    }
  }
}

/** The frame of a webview whose document holds `marker` (webviews are nested iframes). */
async function webviewFrame(page: Page, marker: string, timeoutMs = 30_000): Promise<Frame> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    for (const f of page.frames()) {
      if (f === page.mainFrame()) continue;
      const has = await f.locator(`text=${marker}`).count().catch(() => 0);
      if (has > 0) return f;
    }
    await page.waitForTimeout(300);
  }
  throw new Error(`no webview frame shows "${marker}"`);
}

/**
 * The evidence report as a page and as markdown, with answers an attacker wrote: nothing in them
 * runs or becomes an element; it is all visible as text.
 */
describe('evidence UI: the report page and its markdown export are inert', function () {
  this.timeout(180_000);
  let s: UiSession;
  let fixture: string;
  const messages: string[] = [];
  const dialogs: string[] = [];

  before(async () => {
    fixture = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-ui-report-'));
    fs.writeFileSync(path.join(fixture, 'README.txt'), 'evidence report fixture\n');
    writeReport(fixture);
    s = await startUiSession({ fixture });
    s.page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await s.page.exposeFunction('__promptoptSeen', (m: string) => messages.push(m)).catch(() => undefined);
    // Any "pwned" message a script in a webview posts up to the workbench is recorded.
    await s.page.evaluate(`window.addEventListener('message', (e) => { if (typeof e.data === 'string' && e.data.includes('pwned')) window.__promptoptSeen(e.data); })`);
  });
  after(async () => {
    await s?.close();
    if (fixture) fs.rmSync(fixture, { recursive: true, force: true });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && s) await screenshot(s.page, `FAILED-evidenceReport-${this.currentTest.title}`);
  });

  it('Show Evidence Report opens the page: answers side by side as text, no script ran, no element from the answers', async () => {
    const { page } = s;
    await runCommandSoon(page, 'Prompt Optimizer: Show Evidence Report');
    await page.locator('.tab', { hasText: /^Evidence: / }).first().waitFor({ state: 'visible', timeout: 30_000 });
    const frame = await webviewFrame(page, 'Candidate answer');
    // Text visible as text.
    const candidate = await frame.locator('pre.answer.candidate').innerText();
    assert.ok(candidate.includes(SCRIPT), `the <script> is not shown as text: ${candidate}`);
    assert.ok(candidate.includes(IMG));
    assert.ok(candidate.includes(LINK));
    assert.ok(candidate.includes('````\n# Injected heading'));
    assert.match(await frame.locator('.orders').innerText(), /B is better <img src=x onerror=/);
    // No element was made of the answers: none of theirs exists, no link at all, one h1 (the page's).
    for (const sel of ['script', 'img', 'a', 'iframe', 'b >> text=bold?', 'form', 'object', 'embed']) {
      assert.equal(await frame.locator(sel).count(), 0, `an element ${sel} exists in the report page`);
    }
    assert.equal(await frame.locator('h1').count(), 1);
    // The page's own parts: the look chart and the pass-rate bars, drawn as SVG.
    assert.equal(await frame.locator('svg.chart circle.rate').count(), 1);
    assert.equal(await frame.locator('svg.bars rect.cand').count(), 1);
    // Nothing ran.
    assert.deepEqual(dialogs, []);
    assert.deepEqual(messages, []);
    assert.ok(!(await page.title()).includes('pwned'));
    assert.deepEqual(await errorNotifications(page), []);
    await screenshot(page, 'evidence-report-page');
  });

  it('Export Evidence Report shows the markdown preview with the same text, and nothing of it is a link, image, heading or HTML', async () => {
    const { page } = s;
    await runCommandSoon(page, 'Prompt Optimizer: Export Evidence Report (Markdown)');
    const frame = await webviewFrame(page, 'Candidate answer:');
    const body = frame.locator('body');
    const text = await body.innerText();
    assert.ok(text.includes(SCRIPT), 'the <script> is not shown as text in the preview');
    assert.ok(text.includes('[open a terminal](command:workbench.action.terminal.new)'), 'the command link is not shown as text');
    assert.ok(text.includes('# Injected heading'), 'the fenced heading is not shown as text');
    assert.equal(await frame.locator('a[href*="command:"], a[data-href*="command:"]').count(), 0, 'a command link was rendered');
    assert.equal(await frame.locator('.markdown-body img, body > img, p img, td img').count(), 0, 'an image was rendered');
    assert.equal(await frame.locator('h1').count(), 1, 'a heading was injected');
    assert.equal(await frame.locator('h1:has-text("Injected heading"), h2:has-text("Injected heading"), h3:has-text("Injected heading")').count(), 0);
    assert.equal(await frame.locator('b:has-text("bold?")').count(), 0, 'HTML from the answer was rendered');
    assert.equal(await frame.locator('p a, td a, li a').count(), 0, 'a link was rendered');
    assert.deepEqual(dialogs, []);
    assert.deepEqual(messages, []);
    await screenshot(page, 'evidence-report-markdown');
  });
});
