import * as assert from 'node:assert/strict';
import { startUiSession, type UiSession } from './support/session';
import {
  activeEditorText,
  activeTab,
  errorNotifications,
  explorerRows,
  outputPanelText,
  quickOpenFile,
  runCommand,
  screenshot,
  selectedOutputChannel,
} from './support/workbench';

for (const trust of ['trusted', 'restricted'] as const) {
  describe(`workbench UI (${trust})`, function () {
    this.timeout(120_000);
    let s: UiSession;

    before(async () => {
      s = await startUiSession({ trust });
    });
    after(async () => {
      await s?.close();
    });
    afterEach(async function () {
      if (this.currentTest?.state === 'failed' && s) await screenshot(s.page, `FAILED-${trust}-${this.currentTest.title}`);
    });

    it('shows the workspace files in the Explorer', async () => {
      const rows = await explorerRows(s.page);
      assert.ok(rows.some((r) => r.includes('AgentFlow.yml')), `Explorer rows: ${rows.join(' | ')}`);
      await screenshot(s.page, `${trust}-explorer`);
    });

    if (trust === 'restricted') {
      it('shows that the workspace is in Restricted Mode', async () => {
        await s.page.locator('.statusbar-item', { hasText: 'Restricted Mode' }).first().waitFor({ timeout: 15_000 });
      });
    }

    it('opens a corpus export via Quick Open', async () => {
      await quickOpenFile(s.page, 'basic_chatflow.yml');
      assert.equal(await activeTab(s.page, 'basic_chatflow.yml').count(), 1);
      const text = await activeEditorText(s.page);
      assert.match(text, /app:/);
      await screenshot(s.page, `${trust}-export-open`);
    });

    it('runs "Prompt Optimizer: Show Log" from the command palette', async () => {
      await runCommand(s.page, 'Prompt Optimizer: Show Log');
      assert.equal(await selectedOutputChannel(s.page), 'Prompt Optimizer');
      const text = await outputPanelText(s.page);
      assert.match(text, /Prompt Optimizer activated/);
      await screenshot(s.page, `${trust}-show-log`);
    });

    it('shows no error notification', async () => {
      assert.deepEqual(await errorNotifications(s.page), []);
    });
  });
}
