/**
 * Reusable Playwright helpers that drive the VS Code workbench as a user would: command
 * palette, Quick Open, editors, notifications, tree views, screenshots.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { REPO_ROOT } from '../../harness/codeServer';

/** Folder for screenshots (git-ignored); the UI tier empties it before a run, except {@link FIGURES_DIR}. */
export const RESULTS_DIR = path.join(REPO_ROOT, 'test-results');
/** test-results/figures/: measurements written by other tiers (activation times), never cleared by the UI tier. */
export const FIGURES_DIR = path.join(RESULTS_DIR, 'figures');

const QUICK_INPUT = '.quick-input-widget';

/** The quick input box (palette / Quick Open) once visible. */
async function quickInput(page: Page): Promise<Locator> {
  const widget = page.locator(QUICK_INPUT);
  await widget.waitFor({ state: 'visible', timeout: 10_000 });
  return widget;
}

/**
 * Picks the quick-input row whose label contains `label` (waits for it) with a click, and waits
 * until that pick is over: the box closes, or another quick input takes it over at once (a
 * command that asks something next reuses the box without it ever being seen hidden).
 */
export async function pickRow(page: Page, label: string): Promise<void> {
  const widget = await quickInput(page);
  const input = widget.locator('input');
  const before = await input.inputValue();
  const row = widget.locator('.monaco-list-row', { hasText: label }).first();
  await row.waitFor({ state: 'visible', timeout: 15_000 });
  await row.click();
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (!(await widget.isVisible())) return;
    if ((await input.inputValue().catch(() => before)) !== before) return;
    if (Date.now() > deadline) throw new Error(`the quick input stayed open on "${before}" after picking "${label}"`);
    await page.waitForTimeout(50);
  }
}

/**
 * Moves the cursor of the active editor to line:column with Go to Line (Ctrl+G), and checks the
 * status bar shows it there. The box closes when focus moves while it opens (a click still
 * settling), so the whole step is tried again, up to three times.
 */
export async function goToLine(page: Page, line: number, column: number): Promise<void> {
  const input = page.locator(`${QUICK_INPUT} input`);
  const position = page.locator('.statusbar-item', { hasText: `Ln ${line}, Col ${column}` });
  for (let attempt = 1; ; attempt++) {
    try {
      await page.keyboard.press('Control+G');
      await input.waitFor({ state: 'visible', timeout: 5_000 });
      await input.fill(`:${line}:${column}`, { timeout: 5_000 });
      await page.keyboard.press('Enter');
      await page.locator(QUICK_INPUT).waitFor({ state: 'hidden', timeout: 5_000 });
      await position.first().waitFor({ state: 'visible', timeout: 5_000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
      await page.waitForTimeout(300);
    }
  }
}

/** Runs a command from the command palette by its title as shown (e.g. "Prompt Optimizer: Show Log"). */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('F1');
  const widget = await quickInput(page);
  await widget.locator('input').fill(`>${title}`);
  await pickRow(page, title);
}

/** Opens a workspace file through Quick Open (Ctrl+P) and waits until its tab is active. */
export async function quickOpenFile(page: Page, fileName: string): Promise<void> {
  await page.locator('.monaco-workbench').click({ position: { x: 5, y: 5 }, trial: true }).catch(() => undefined);
  await page.keyboard.press('Control+P');
  const widget = await quickInput(page);
  await widget.locator('input').fill(fileName);
  await pickRow(page, fileName);
  await activeTab(page, fileName).waitFor({ state: 'visible', timeout: 15_000 });
}

/** The active editor tab if its label contains `label`. */
export function activeTab(page: Page, label: string): Locator {
  return page.locator('.tabs-container .tab.active', { hasText: label });
}

/** Visible text of the active editor's rendered lines. */
export async function activeEditorText(page: Page, timeoutMs = 10_000): Promise<string> {
  // The tab shows before the editor has rendered its lines: wait for some text.
  const lines = page.locator('.editor-group-container.active .monaco-editor .view-lines').first();
  const until = Date.now() + timeoutMs;
  let text = '';
  while (!(text = (await lines.innerText().catch(() => '')).trim()) && Date.now() < until) await page.waitForTimeout(100);
  return nbspToSpace(text);
}

/** Waits for a notification toast containing `text`; returns it. */
export async function waitForNotification(page: Page, text: string | RegExp, timeoutMs = 15_000): Promise<Locator> {
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
  await toast.waitFor({ state: 'visible', timeout: timeoutMs });
  return toast;
}

/** Messages of the error notifications currently shown (toasts and the notification center). */
export async function errorNotifications(page: Page): Promise<string[]> {
  const items = page.locator('.notification-list-item', { has: page.locator('.codicon-error') });
  return items.allInnerTexts();
}

/** Rows of the Explorer tree currently rendered (the list is virtual: only visible rows). */
export async function explorerRows(page: Page): Promise<string[]> {
  const rows = page.locator('.explorer-folders-view .monaco-list-row');
  await rows.first().waitFor({ timeout: 15_000 });
  return (await rows.allInnerTexts()).map((t) => t.trim());
}

/** Rows of a tree view in a side bar/panel view whose header title contains `viewTitle`. */
export async function treeViewRows(page: Page, viewTitle: string): Promise<string[]> {
  const pane = page.locator('.pane', { has: page.locator('.pane-header', { hasText: viewTitle }) }).first();
  await pane.waitFor({ timeout: 15_000 });
  return (await pane.locator('.monaco-list-row').allInnerTexts()).map((t) => t.trim());
}

/** Text of the Output panel's editor (visible part). */
export async function outputPanelText(page: Page): Promise<string> {
  const view = page.locator('.panel .monaco-editor .view-lines').first();
  await view.waitFor({ state: 'visible', timeout: 15_000 });
  return nbspToSpace(await view.innerText());
}

/** Name of the channel selected in the Output panel's channel picker. */
export async function selectedOutputChannel(page: Page): Promise<string> {
  const select = page.locator('.panel select.monaco-select-box').first();
  await select.waitFor({ state: 'attached', timeout: 15_000 });
  return select.evaluate((el) => (el as unknown as { selectedOptions: ArrayLike<{ text: string }> }).selectedOptions[0]?.text ?? '');
}

/** The editor renders spaces as U+00A0; tests compare with normal spaces. */
function nbspToSpace(s: string): string {
  return s.replace(/\u00a0/g, ' ');
}

/** Saves a full-page screenshot as test-results/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${name.replace(/[^\w.-]+/g, '-')}.png`);
  await page.screenshot({ path: file });
  return file;
}
