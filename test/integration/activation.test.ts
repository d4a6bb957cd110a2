import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { hostState } from './support/hostState';
import { activateByOpeningExport, closeAllEditors, ourExtension } from './support/helpers';

describe('activation', () => {
  after(closeAllEditors);

  it('is installed but not active before a Dify export is opened', () => {
    ourExtension();
    assert.equal(hostState.extensionActiveAtStart, false, 'the extension was already active when the tests started (too eager activation event?)');
  });

  it('activates when a Dify export is opened', async () => {
    const ext = await activateByOpeningExport();
    assert.equal(ext.isActive, true);
    assert.equal(vscode.window.activeTextEditor?.document.languageId, 'yaml');
  });

  it('exposes its API with the command ids it registered', async () => {
    const ext = await activateByOpeningExport();
    const api = ext.exports as { registeredCommands?: unknown };
    assert.ok(Array.isArray(api.registeredCommands) && api.registeredCommands.length > 0, 'activate() returned no registeredCommands');
  });
});
