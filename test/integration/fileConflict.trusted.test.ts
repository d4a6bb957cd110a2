/**
 * The editor and a CLI writer on one file (issue 11, item 1). The CLI's write path
 * (`updateWorkflowFile`, what `promptopt set` runs) changes the file on disk while VS Code has it
 * open: Accept of a proposal made before must be refused when its prompt changed, and saving a
 * document edited in VS Code over the newer file on disk must go through VS Code's own conflict
 * handling, never silently drop the CLI's edit.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { parseDify, replacePrompts } from '../../src/core/dsl';
import { updateWorkflowFile } from '../../src/core/service/fileWriter';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import { api, IMPROVABLE, open, promptOf, readStore, revertAndCloseAll, workCopy, workflowKeyOf } from './support/ext';
import { waitFor } from './support/helpers';

interface RunResult {
  proposals: ProposalSummary[];
  skipped: Record<string, string>;
  notes: string[];
}

/** What `promptopt set <file> --prompt <id> --text <text>` does, through the same core write path. */
async function cliSet(file: string, id: string, text: string): Promise<void> {
  await updateWorkflowFile(file, (cur) => replacePrompts(parseDify(cur), [{ id, text }], { verify: true }), { displayName: file, what: `setting prompt ${id}` });
}

describe('editor and CLI writing one file (trusted)', () => {
  afterEach(revertAndCloseAll);

  it('Accept of a proposal whose prompt the CLI changed on disk is refused; the file keeps the CLI edit', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'cli-stale');
    const editor = await open(file);
    const doc = editor.document;
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', doc.uri, IMPROVABLE.promptId);
    assert.equal(run.proposals.length, 1, JSON.stringify(run.skipped));
    const p = run.proposals[0]!;
    await cliSet(file, IMPROVABLE.promptId, 'Changed by the CLI meanwhile.');
    // A clean document follows the file on disk.
    await waitFor('the editor to reload the file changed on disk', () => promptOf(doc.getText(), IMPROVABLE.promptId).text === 'Changed by the CLI meanwhile.', 15_000);
    const r = await vscode.commands.executeCommand<{ ok: boolean; message?: string }>('promptOptimizer.acceptProposal', p.id);
    assert.equal(r.ok, false);
    assert.match(r.message ?? '', /changed after the proposal was made/);
    assert.equal(promptOf(fs.readFileSync(file, 'utf8'), IMPROVABLE.promptId).text, 'Changed by the CLI meanwhile.');
    assert.equal(doc.isDirty, false);
    const store = await readStore();
    assert.equal((await store.get(workflowKeyOf(file), IMPROVABLE.promptId, p.version!)).status, 'proposed');
    await store.close();
  });

  it('saving an edited document over a file the CLI changed on disk does not silently drop the CLI edit', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'cli-save');
    const editor = await open(file);
    const doc = editor.document;
    const other = parseDify(doc.getText()).prompts.find((x) => x.id !== IMPROVABLE.promptId)!;
    // an edit in the editor (unsaved) …
    const edit = new vscode.WorkspaceEdit();
    edit.insert(doc.uri, new vscode.Position(0, 0), '# edited in VS Code\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(doc.isDirty, true);
    // … while the CLI writes another prompt on disk
    await new Promise((r) => setTimeout(r, 1100)); // a later mtime than the one VS Code loaded
    await cliSet(file, other.id, 'The CLI edit that must not be lost.');
    const onDisk = fs.readFileSync(file, 'utf8');
    await new Promise((r) => setTimeout(r, 1500)); // let the file watcher report the change
    const saved = await doc.save();
    const after = fs.readFileSync(file, 'utf8');
    if (saved) {
      // VS Code only saves over a newer file after its conflict flow; it must not have happened silently.
      assert.fail(`VS Code saved over the file changed on disk without a conflict (the CLI edit ${after.includes('must not be lost') ? 'survived' : 'was lost'})`);
    }
    assert.equal(after, onDisk, 'the file on disk changed although the save failed');
    assert.equal(promptOf(after, other.id).text, 'The CLI edit that must not be lost.');
    assert.equal(doc.isDirty, true, 'the editor lost its unsaved edit');
  });
});
