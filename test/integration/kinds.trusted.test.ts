import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { isLabel, parseDify } from '../../src/core/dsl';
import { api, open, revertAndCloseAll } from './support/ext';
import { sourceCopy } from './support/sourceFixtures';

interface RunResult {
  proposals: { promptId: string }[];
  skipped: Record<string, string>;
  notes: string[];
}

describe('Optimize All Prompts in File and labels (promptOptimizer.includeLabels)', () => {
  afterEach(async () => {
    const c = vscode.workspace.getConfiguration('promptOptimizer');
    await c.update('scoreThreshold', undefined, vscode.ConfigurationTarget.Global);
    await c.update('includeLabels', undefined, vscode.ConfigurationTarget.Global);
    await revertAndCloseAll();
  });

  it('skips labels unless the setting is on, and says so', async () => {
    await api();
    const c = vscode.workspace.getConfiguration('promptOptimizer');
    await c.update('scoreThreshold', 100, vscode.ConfigurationTarget.Global);
    const editor = await open(sourceCopy('chatflow_labels.yml', 'labels-all'));
    const labels = parseDify(editor.document.getText()).prompts.filter((p) => isLabel(p)).map((p) => p.id);
    assert.equal(labels.length, 7);
    const seen = (r: RunResult) => [...r.proposals.map((p) => p.promptId), ...Object.keys(r.skipped)];
    const off = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizeAllPrompts', editor.document.uri);
    assert.deepEqual(seen(off).filter((id) => labels.includes(id)), [], 'a label was optimized with includeLabels off');
    assert.ok(seen(off).length > 0, 'the other prompts were optimized');
    assert.ok(off.notes.some((n) => /7 labels .*promptOptimizer\.includeLabels/.test(n)), off.notes.join(' | '));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await c.update('includeLabels', true, vscode.ConfigurationTarget.Global);
    const editor2 = await open(sourceCopy('chatflow_labels.yml', 'labels-on'));
    const on = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizeAllPrompts', editor2.document.uri);
    assert.deepEqual(labels.filter((id) => !seen(on).includes(id)), [], 'every label is considered with includeLabels on');
  });
});
