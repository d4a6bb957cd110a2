import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { closeAllEditors, corpusFiles, openInEditor, ourExtension } from './support/helpers';

describe('opening each corpus export', () => {
  const files = corpusFiles();
  after(closeAllEditors);

  it('finds the corpus in the workspace', () => {
    assert.ok(files.length >= 40, `expected the Dify corpus (40+ *.yml) in the workspace, found ${files.length}`);
  });

  for (const file of files) {
    it(path.basename(file), async () => {
      const editor = await openInEditor(file);
      const doc = editor.document;
      assert.equal(doc.uri.fsPath, file);
      assert.equal(doc.languageId, 'yaml');
      assert.equal(doc.isDirty, false);
      const onDisk = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
      assert.equal(doc.getText(), onDisk, 'editor text differs from the file on disk');
      assert.equal(ourExtension().isActive, true, 'extension is not active with a Dify export open');
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    });
  }
});
