import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { analyzePrompt } from '../../src/core/analysis';
import { parseDify, replacePrompts } from '../../src/core/dsl';
import { VersionStore } from '../../src/core/storage';
import { startUiSession, type UiSession } from './support/session';
import { activeTab, errorNotifications, goToLine, quickOpenFile, runCommand, screenshot, treeViewRows } from './support/workbench';

// A real corpus export (test/fixtures/dify/, copied from the Dify corpus). Both prompts are
// improved by the default rule strategies when forced, as Optimize Prompt does (listed with
// `promptopt optimize <copy> --prompt <id>` over every corpus prompt); both values are escaped
// double-quoted YAML scalars (\uXXXX escapes and line folds), the hardest form for a write-back.
const FILE = '根据用户的意图进行回复.yml';
const ACCEPTED = { id: '1718246959048/msg:3a83623c-0e25-47c1-be3e-14946302c2c3', title: '文本使用帮助回复' };
/** A hand-written export (test/fixtures/messy/, copied beside the corpus) whose rule proposal changes several blocks. */
const WEAK = { file: 'support_bot.yml', id: '1711000000002/msg:5c1e2c1a-0000-4000-8000-000000000001', title: 'Answer Writer' };
/** The line the user types at the end of the proposal (ASCII: no input method involved). */
const TYPED = 'Always confirm the question before answering.';
const REJECTED = { id: '1718246916748/msg:8dfbe783-52f1-4210-9899-e952da5ed717', title: '文本健康咨询回复' };

/** A score as the extension shows it (one decimal, no trailing .0). */
const fmtScore = (n: number) => String(Math.round(n * 10) / 10);
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Moves the cursor into a prompt's value with Go to Line. */
async function gotoPrompt(page: Page, text: string, id: string): Promise<void> {
  const rec = parseDify(text).prompts.find((p) => p.id === id)!;
  await goToLine(page, rec.range!.start.line, rec.range!.start.column + 3);
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

async function versionText(workspace: string, workflow: string, id: string, version: string): Promise<string> {
  const store = await VersionStore.open(workspace, { readOnly: true });
  try {
    return (await store.get(workflow, id, version)).text;
  } finally {
    await store.close();
  }
}

async function latestVersion(workspace: string, workflow: string, id: string) {
  const store = await VersionStore.open(workspace, { readOnly: true });
  try {
    return { latest: await store.latest(workflow, id), all: await store.list(workflow, id) };
  } finally {
    await store.close();
  }
}

describe('review UI: palette → diff → edit → Accept / Reject → versions tree', function () {
  this.timeout(180_000);
  let s: UiSession;
  let file: string;
  let original: string;
  let originalBytes: Buffer;

  before(async () => {
    // The harness turns the web workbench's default auto-save off: only the user's Ctrl+S saves.
    s = await startUiSession({ trust: 'trusted' });
    file = path.join(s.workspace, FILE);
    originalBytes = fs.readFileSync(file);
    original = originalBytes.toString('utf8');
  });
  after(async () => {
    await s?.close();
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && s) await screenshot(s.page, `FAILED-review-${this.currentTest.title}`);
  });

  it('in a fresh profile, typing "optimize prompt" in the palette and pressing Enter runs Optimize Prompt and opens the proposal', async () => {
    const { page } = s;
    await quickOpenFile(page, FILE);
    await gotoPrompt(page, original, ACCEPTED.id);
    // The CodeLens above the prompt: score, Optimize.
    await page.locator('.codelens-decoration', { hasText: 'Optimize' }).filter({ visible: true }).first().waitFor({ timeout: 30_000 });
    const lens = await page.locator('.codelens-decoration', { hasText: 'Optimize' }).filter({ visible: true }).first().innerText();
    assert.match(lens, /Score [\d.]+(?: · \d+ issues?)?\s*\|\s*Optimize/);
    await screenshot(page, 'review-01-codelens');
    // No command has been run in this profile yet: the palette orders by label alone.
    await page.keyboard.press('F1');
    const widget = page.locator('.quick-input-widget');
    await widget.waitFor({ state: 'visible', timeout: 10_000 });
    await widget.locator('input').pressSequentially('optimize prompt', { delay: 20 });
    const focused = widget.locator('.monaco-list-row.focused');
    await widget.locator('.monaco-list-row', { hasText: 'Optimize Prompt' }).first().waitFor({ timeout: 15_000 });
    await page.waitForTimeout(300); // let the list settle on the last keystroke
    const rows = (await widget.locator('.monaco-list-row').allInnerTexts()).map((r) => r.replace(/\s+/g, ' ').trim());
    await screenshot(page, 'review-02-palette');
    assert.match((await focused.innerText()).replace(/\s+/g, ' '), /^Prompt Optimizer: Optimize Prompt\b(?! with)/, `palette rows: ${rows.join(' | ')}`);
    await page.keyboard.press('Enter');
    await diffTab(page, ACCEPTED.title).waitFor({ timeout: 60_000 });
    const title = (await diffTab(page, ACCEPTED.title).innerText()).trim();
    const rec = parseDify(original).prompts.find((p) => p.id === ACCEPTED.id)!;
    const scoreBefore = fmtScore(analyzePrompt(rec).overall);
    assert.match(title, new RegExp(`${escapeRe(ACCEPTED.title)} · llm-message \\(system\\) · \\w+ · ${escapeRe(scoreBefore)} → [\\d.]+`));
    await page.locator('.editor-group-container.active .monaco-diff-editor').first().waitFor();
    await screenshot(page, 'review-03-diff');
  });

  it('the user types a line into the proposal\'s right side, Accepts and saves: on disk exactly that prompt changed, with the typed line, nothing else', async () => {
    const { page } = s;
    const rec = parseDify(original).prompts.find((p) => p.id === ACCEPTED.id)!;
    // The proposal's right side is editable: type a line at its end, as a user would.
    const modified = page.locator('.editor-group-container.active .monaco-diff-editor .modified .view-lines').first();
    await modified.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(TYPED, { delay: 10 });
    await page.locator('.editor-group-container.active .monaco-diff-editor .modified .view-lines', { hasText: TYPED }).first().waitFor({ timeout: 10_000 });
    await screenshot(page, 'review-04-edited');
    await clickTitleAction(page, 'Accept Proposal');
    await activeTab(page, FILE).waitFor({ timeout: 15_000 });
    await page.locator('.tabs-container .tab.active.dirty', { hasText: FILE }).waitFor({ timeout: 15_000 });
    assert.equal(fs.readFileSync(file, 'utf8'), original, 'accept saved the file behind the user\'s back');
    // The CodeLens above the prompt now counts its versions (baseline, proposal, the user's edit).
    await page.locator('.codelens-decoration', { hasText: /\b3 versions\b/ }).filter({ visible: true }).first().waitFor({ timeout: 15_000 });
    await screenshot(page, 'review-05-accepted-dirty');

    await page.keyboard.press('Control+S');
    await page.locator('.tabs-container .tab.active.dirty', { hasText: FILE }).waitFor({ state: 'detached', timeout: 15_000 });
    const { latest } = await latestVersion(s.workspace, FILE, ACCEPTED.id);
    assert.equal(latest?.status, 'accepted');
    assert.equal(latest?.optimization?.strategy, 'manual-edit');
    const proposal = await versionText(s.workspace, FILE, ACCEPTED.id, latest!.parentVersion!);
    assert.equal(latest!.text, proposal + TYPED, 'the accepted text is not the proposal plus the typed line');
    const onDisk = fs.readFileSync(file, 'utf8');
    // Byte for byte: everything before and after the prompt's value is as it was ...
    const before = originalBytes.subarray(0, Buffer.byteLength(original.slice(0, rec.range!.start.offset), 'utf8'));
    const after = originalBytes.subarray(Buffer.byteLength(original.slice(0, rec.range!.end.offset), 'utf8'));
    const disk = fs.readFileSync(file);
    assert.ok(disk.length >= before.length + after.length, 'the saved file is shorter than the bytes around the prompt');
    assert.ok(disk.subarray(0, before.length).equals(before), 'bytes before the prompt value changed');
    assert.ok(disk.subarray(disk.length - after.length).equals(after), 'bytes after the prompt value changed');
    // ... the value in between decodes to the proposal with the typed line, and is the format-preserving write-back.
    assert.equal(parseDify(onDisk).prompts.find((p) => p.id === ACCEPTED.id)!.text, proposal + TYPED);
    assert.equal(onDisk, replacePrompts(original, [{ id: ACCEPTED.id, text: proposal + TYPED }]), 'the saved file differs from the format-preserving write-back');
    for (const p of parseDify(onDisk).prompts) if (p.id !== ACCEPTED.id) assert.equal(p.text, parseDify(original).prompts.find((q) => q.id === p.id)!.text, `prompt ${p.id} changed`);
    assert.deepEqual(await errorNotifications(page), []);
  });

  it('Reject (by its keybinding, Ctrl+Alt+Backspace) leaves the file unchanged and records the rejection', async () => {
    const { page } = s;
    const before = fs.readFileSync(file, 'utf8');
    await activeTab(page, FILE).click();
    await gotoPrompt(page, before, REJECTED.id);
    await runCommand(page, 'Prompt Optimizer: Optimize Prompt');
    await diffTab(page, REJECTED.title).waitFor({ timeout: 60_000 });
    await screenshot(page, 'review-06-second-diff');
    // The keybinding works only while a proposal diff is active (its `when` clause).
    await page.locator('.monaco-diff-editor .modified .view-lines').first().click();
    await page.keyboard.press('Control+Alt+Backspace');
    await activeTab(page, FILE).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('.tabs-container .tab.dirty', { hasText: FILE }).count(), 0, 'reject made the document dirty');
    assert.equal(fs.readFileSync(file, 'utf8'), before);
    const { all } = await latestVersion(s.workspace, FILE, REJECTED.id);
    assert.deepEqual(all.map((v) => v.status), ['rejected', 'baseline']);
  });

  it('per block: the diff editor\'s own Revert Block on the proposal\'s right side drops that change; Accept applies the rest', async () => {
    const { page } = s;
    const weakFile = path.join(s.workspace, WEAK.file);
    const weakOriginal = fs.readFileSync(weakFile, 'utf8');
    const rec = parseDify(weakOriginal).prompts.find((p) => p.id === WEAK.id)!;
    await quickOpenFile(page, WEAK.file);
    await gotoPrompt(page, weakOriginal, WEAK.id);
    await runCommand(page, 'Prompt Optimizer: Optimize Prompt');
    const tab = page.locator('.tabs-container .tab.active', { hasText: `${WEAK.title} · llm-message` });
    await tab.waitFor({ timeout: 60_000 });
    const diff = page.locator('.editor-group-container.active .monaco-diff-editor').first();
    const firstLine = rec.text.split('\n')[0].trim();
    // Hover the first changed line of the right side: the diff editor shows its block actions.
    const modifiedFirst = diff.locator('.modified .view-line').first();
    await modifiedFirst.waitFor();
    const revert = diff.locator('.action-label[aria-label="Revert Block"]').first();
    for (let i = 0; i < 20 && !(await revert.isVisible()); i++) {
      await modifiedFirst.hover({ position: { x: 30, y: 5 } });
      await page.waitForTimeout(250);
    }
    await screenshot(page, 'review-07-revert-block');
    await revert.click();
    await diff.locator('.modified .view-lines', { hasText: firstLine.slice(0, 30) }).first().waitFor({ timeout: 10_000 });
    await clickTitleAction(page, 'Accept Proposal');
    await page.locator('.tabs-container .tab.active.dirty', { hasText: WEAK.file }).waitFor({ timeout: 15_000 });
    await page.keyboard.press('Control+S');
    await page.locator('.tabs-container .tab.active.dirty', { hasText: WEAK.file }).waitFor({ state: 'detached', timeout: 15_000 });
    const { latest } = await latestVersion(s.workspace, WEAK.file, WEAK.id);
    assert.equal(latest?.optimization?.strategy, 'manual-edit');
    const proposal = await versionText(s.workspace, WEAK.file, WEAK.id, latest!.parentVersion!);
    const onDisk = parseDify(fs.readFileSync(weakFile, 'utf8')).prompts.find((p) => p.id === WEAK.id)!.text;
    assert.equal(onDisk, latest!.text);
    assert.notEqual(onDisk, proposal, 'the reverted block was applied');
    assert.ok(onDisk.startsWith(rec.text.split('\n')[0]), `the first block was not reverted: ${JSON.stringify(onDisk.slice(0, 120))}`);
    assert.notEqual(onDisk, rec.text, 'no change of the proposal was applied');
    assert.equal(fs.readFileSync(weakFile, 'utf8'), replacePrompts(weakOriginal, [{ id: WEAK.id, text: onDisk }]));
  });

  it('the Versions view shows the workflow, the prompt and its new version', async () => {
    const { page } = s;
    await page.locator('.activitybar .action-item a[aria-label^="Prompt Optimizer"]').first().click();
    const rowsAt = async () => treeViewRows(page, 'Versions');
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
    // The user's edit is its own version on top of the proposal it came from: both are listed.
    assert.ok(rows.some((r) => /^v1\.2\.0/.test(r) && r.includes('manual-edit') && r.includes('accepted · current')), rows.join(' | '));
    assert.ok(rows.some((r) => /^v1\.1\.0/.test(r) && r.includes('proposed')), rows.join(' | '));
    assert.ok(rows.some((r) => /^v1\.0\.0/.test(r) && r.includes('baseline')), rows.join(' | '));
    await screenshot(page, 'review-08-versions-tree');
  });
});
