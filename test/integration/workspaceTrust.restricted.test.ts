import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { activateByOpeningExport } from './support/helpers';

describe('Restricted Mode', () => {
  it('runs with vscode.workspace.isTrusted === false', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('still loads the extension (manifest declares limited untrusted-workspace support)', async () => {
    const ext = await activateByOpeningExport();
    const caps = (ext.packageJSON as { capabilities?: { untrustedWorkspaces?: { supported?: unknown } } }).capabilities;
    assert.equal(caps?.untrustedWorkspaces?.supported, 'limited');
    assert.equal(ext.isActive, true);
  });
});
