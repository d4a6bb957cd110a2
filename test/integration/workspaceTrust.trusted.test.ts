import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

describe('trusted workspace', () => {
  it('runs with vscode.workspace.isTrusted === true', () => {
    assert.equal(vscode.workspace.isTrusted, true);
  });
});
