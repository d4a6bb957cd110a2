import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readPackage } from '../../src/core/package';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import { buildPackage, difyCheck } from '../support/ifpkg';
import { IMPROVABLE, promptOf, readStore, revertAndCloseAll, until, workCopy, workflowKeyOf } from './support/ext';

/**
 * A Dify `.ifpkg` opened from the explorer lands on its app.yaml (`ifpkg:` document) with the
 * features of a YAML export; optimize, accept and save write back into the package, which
 * Dify's checks (test/support/ifpkg.py) accept.
 */
describe('packages (.ifpkg) in the editor (trusted)', () => {
  afterEach(revertAndCloseAll);

  it('opens a package as app.yaml, optimizes, accepts and saves into the package', async () => {
    const yml = workCopy(IMPROVABLE.file, 'ifpkg');
    const pkg = path.join(path.dirname(yml), 'app.ifpkg');
    const original = buildPackage(yml, pkg);
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(pkg));
    const editor = await until('the package to open as app.yaml', () => {
      const e = vscode.window.activeTextEditor;
      return e && e.document.uri.scheme === 'ifpkg' ? e : undefined;
    });
    const doc = editor.document;
    assert.equal(doc.uri.fsPath, pkg);
    assert.equal(doc.languageId, 'yaml');
    assert.equal(doc.getText(), readPackage(original, 'app.ifpkg').appText);
    const lenses = await until('CodeLens on the package', async () => {
      const l = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri);
      return l && l.length ? l : undefined;
    });
    assert.ok(lenses.length > 0);

    const run = await vscode.commands.executeCommand<{ proposals: ProposalSummary[] }>('promptOptimizer.optimizePrompt', doc.uri, IMPROVABLE.promptId);
    const p = run.proposals[0];
    assert.ok(p, 'a proposal');
    assert.equal((await vscode.commands.executeCommand<{ ok: boolean }>('promptOptimizer.acceptProposal', p.id)).ok, true);
    const accepted = promptOf(doc.getText(), IMPROVABLE.promptId).text;
    if (doc.isDirty) assert.ok(await doc.save(), 'saved');
    const onDisk = fs.readFileSync(pkg);
    assert.equal(difyCheck(pkg), 'ok');
    assert.equal(promptOf(readPackage(onDisk, 'app.ifpkg').appText, IMPROVABLE.promptId).text, accepted);
    assert.notEqual(accepted, promptOf(readPackage(original, 'app.ifpkg').appText, IMPROVABLE.promptId).text);
    const store = await readStore();
    try {
      const versions = await store.list(workflowKeyOf(pkg), IMPROVABLE.promptId);
      assert.deepEqual(versions.map((v) => v.status), ['accepted', 'baseline']);
    } finally {
      await store.close();
    }
  });
});
