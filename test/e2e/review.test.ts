import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { parseDify, replacePrompts } from '../../src/core/dsl';
import { VersionStore } from '../../src/core/storage';
import { startUiSession, type UiSession } from './support/session';
import { activeTab, errorNotifications, quickOpenFile, runCommand, screenshot, treeViewRows } from './support/workbench';

// A hand-written export beside the corpus (test/fixtures/messy/): its prompts are weak on purpose.
const FILE = 'support_bot.yml';
const ACCEPTED = { id: '1711000000002/msg:5c1e2c1a-0000-4000-8000-000000000001', title: 'Answer Writer' };
const REJECTED = { id: '1711000000005/msg:5c1e2c1a-0000-4000-8000-000000000003', title: 'Summary Writer' };

/** Moves the cursor into a prompt's value with Go to Line. */
async function gotoPrompt(page: Page, text: string, id: string): Promise<void> {
  const rec = parseDify(text).prompts.find((p) => p.id === id)!;
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`:${rec.range!.start.line}:${rec.range!.start.column + 3}`);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
}

/** The diff editor tab of a proposal, by its title start. */
function diffTab(page: Page, title: string) {
  return page.locator('.tabs-container .tab.active', { hasText: `${title} · llm-message` });
}

/** Clicks an editor title action (the Accept / Reject buttons of a proposal diff). */
async function clickTitleAction(page: Page, label: string): Promise<void> {
  const button = page.locator(`.editor-group-container.active .editor-actions .action-label[aria-label^="${label}"]`).first();
  await button.waitFor({ state: 'visible', timeout: 15_000 });
  await button.click();
}

async function latestVersion(workspace: string, workflow: string, id: string) {
  const store = await VersionStore.open(workspace, { readOnly: true });
  try {
    return { latest: await store.latest(workflow, id), all: await store.list(workflow, id) };
  } finally {
    await store.close();
  }
}

describe('review UI: Optimize Prompt → diff → Accept / Reject → versions tree', function () {
  this.timeout(180_000);
  let s: UiSession;
  let file: string;
  let original: string;

  before(async () => {
    // The harness turns the web workbench's default auto-save off: only the user's Ctrl+S saves.
    s = await startUiSession({ trust: 'trusted' });
    file = path.join(s.workspace, FILE);
    original = fs.readFileSync(file, 'utf8');
  });
  after(async () => {
    await s?.close();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && s) await screenshot(s.page, `FAILED-review-${this.currentTest.title}`);
  });

  it('palette "Optimize Prompt" on a corpus export opens a diff; Accept + save writes only that prompt to disk', async () => {
    const { page } = s;
    await quickOpenFile(page, FILE);
    await gotoPrompt(page, original, ACCEPTED.id);
    // The CodeLens above the prompt: score, Optimize.
    await page.locator('.codelens-decoration', { hasText: 'Optimize' }).filter({ visible: true }).first().waitFor({ timeout: 30_000 });
    const lens = await page.locator('.codelens-decoration', { hasText: 'Optimize' }).filter({ visible: true }).first().innerText();
    assert.match(lens, /Score [\d.]+ · \d+ issues?\s*\|\s*Optimize/);
    await screenshot(page, 'review-01-codelens');
    await runCommand(page, 'Prompt Optimizer: Optimize Prompt');
    await diffTab(page, ACCEPTED.title).waitFor({ timeout: 60_000 });
    const title = (await diffTab(page, ACCEPTED.title).innerText()).trim();
    assert.match(title, /Answer Writer · llm-message \(system\) · \w+ · 49\.9 → [\d.]+/);
    await page.locator('.editor-group-container.active .monaco-diff-editor').first().waitFor();
    await screenshot(page, 'review-02-diff');

    await clickTitleAction(page, 'Accept Proposal');
    await activeTab(page, FILE).waitFor({ timeout: 15_000 });
    await page.locator('.tabs-container .tab.active.dirty', { hasText: FILE }).waitFor({ timeout: 15_000 });
    assert.equal(fs.readFileSync(file, 'utf8'), original, 'accept saved the file behind the user\'s back');
    await screenshot(page, 'review-03-accepted-dirty');

    await page.keyboard.press('Control+S');
    await page.locator('.tabs-container .tab.active.dirty', { hasText: FILE }).waitFor({ state: 'detached', timeout: 15_000 });
    const { latest } = await latestVersion(s.workspace, FILE, ACCEPTED.id);
    assert.equal(latest?.status, 'accepted');
    const onDisk = fs.readFileSync(file, 'utf8');
    assert.equal(onDisk, replacePrompts(original, [{ id: ACCEPTED.id, text: latest!.text }]), 'the saved file differs from the format-preserving write-back');
    assert.equal(parseDify(onDisk).prompts.find((p) => p.id === ACCEPTED.id)!.text, latest!.text);
    assert.deepEqual(await errorNotifications(page), []);
  });

  it('Reject leaves the file unchanged and records the rejection', async () => {
    const { page } = s;
    const before = fs.readFileSync(file, 'utf8');
    await activeTab(page, FILE).click();
    await gotoPrompt(page, before, REJECTED.id);
    await runCommand(page, 'Prompt Optimizer: Optimize Prompt');
    await diffTab(page, REJECTED.title).waitFor({ timeout: 60_000 });
    await screenshot(page, 'review-04-second-diff');
    await clickTitleAction(page, 'Reject Proposal');
    await activeTab(page, FILE).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('.tabs-container .tab.dirty', { hasText: FILE }).count(), 0, 'reject made the document dirty');
    assert.equal(fs.readFileSync(file, 'utf8'), before);
    const { all } = await latestVersion(s.workspace, FILE, REJECTED.id);
    assert.deepEqual(all.map((v) => v.status), ['rejected', 'baseline']);
  });

  it('the Prompt Versions view shows the workflow, the prompt and its new version', async () => {
    const { page } = s;
    await page.locator('.activitybar .action-item a[aria-label^="Prompt Optimizer"]').first().click();
    const rowsAt = async () => treeViewRows(page, 'Prompt Versions');
    let rows = await rowsAt();
    for (let i = 0; i < 40 && !rows.some((r) => r.includes(ACCEPTED.title)); i++) {
      await page.waitForTimeout(250);
      rows = await rowsAt();
    }
    assert.ok(rows.some((r) => r.includes(FILE)), rows.join(' | '));
    const prompt = page.locator('.pane .monaco-list-row', { hasText: ACCEPTED.title }).filter({ hasNotText: REJECTED.title }).first();
    await prompt.click();
    await page.keyboard.press('ArrowRight');
    await page.locator('.pane .monaco-list-row', { hasText: 'accepted · current' }).first().waitFor({ timeout: 15_000 });
    rows = await rowsAt();
    assert.ok(rows.some((r) => /^v1\.1\.0/.test(r) && r.includes('accepted · current')), rows.join(' | '));
    assert.ok(rows.some((r) => /^v1\.0\.0/.test(r) && r.includes('baseline')), rows.join(' | '));
    await screenshot(page, 'review-05-versions-tree');
  });
});
