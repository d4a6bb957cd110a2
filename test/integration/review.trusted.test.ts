import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { parseDify, replacePrompts } from '../../src/core/dsl';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import { activeTabLabel, api, IMPROVABLE, open, promptOf, readStore, revertAndCloseAll, waitForProposalDiff, workCopy, workflowKeyOf } from './support/ext';
import { waitFor } from './support/helpers';

interface RunResult {
  proposals: ProposalSummary[];
  notes: string[];
  recorded: boolean;
  cancelled: boolean;
  skipped: Record<string, string>;
}
interface ReviewOutcome {
  ok: boolean;
  message?: string;
  recorded?: string;
}

async function optimizeOne(file: string): Promise<{ doc: vscode.TextDocument; run: RunResult; p: ProposalSummary }> {
  const editor = await open(file);
  const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt', editor.document.uri, IMPROVABLE.promptId);
  assert.ok(run, 'Optimize Prompt returned nothing');
  assert.equal(run.proposals.length, 1, `no proposal: ${JSON.stringify(run.skipped)} ${run.notes.join(' ')}`);
  return { doc: editor.document, run, p: run.proposals[0] };
}

describe('review: optimize → diff → accept / reject (trusted)', () => {
  before(() => assert.equal(vscode.workspace.getConfiguration('files').get('autoSave'), 'off', 'the harness should turn auto-save off'));
  afterEach(revertAndCloseAll);

  it('Optimize Prompt opens a diff of decoded texts titled with node, kind, strategy and scores', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'diff');
    const { doc, p, run } = await optimizeOne(file);
    assert.equal(run.recorded, true);
    const input = await waitForProposalDiff();
    const title = activeTabLabel()!;
    assert.match(title, new RegExp(`^${IMPROVABLE.title} · llm-message \\(system\\) · [a-z_]+ · [\\d.]+ → [\\d.]+$`));
    assert.ok(title.includes(` · ${p.strategy} · `));
    const left = await vscode.workspace.openTextDocument(input.original);
    const right = await vscode.workspace.openTextDocument(input.modified);
    const rec = promptOf(doc.getText(), IMPROVABLE.promptId);
    assert.equal(left.getText(), rec.text, 'left side is not the decoded prompt');
    assert.equal(right.getText(), p.proposed);
    assert.ok(!left.getText().includes('\\n'), 'left side shows YAML escapes');
    assert.ok(!/\\u[0-9A-Fa-f]{4}/.test(left.getText()), 'left side shows the escaped scalar\'s \\u escapes');
    assert.equal(doc.isDirty, false, 'optimizing changed the document');
    // The proposal is recorded as 'proposed' with a baseline parent.
    const store = await readStore();
    const v = await store.get(workflowKeyOf(file), IMPROVABLE.promptId, p.version!);
    assert.equal(v.status, 'proposed');
    assert.equal(v.text, p.proposed);
    await store.close();
    await vscode.commands.executeCommand('promptOptimizer.rejectProposal', p.id);
  });

  it('Accept applies exactly the write-back as one undoable edit (dirty, not saved) and records the version as accepted', async () => {
    const a = await api();
    const file = workCopy(IMPROVABLE.file, 'accept');
    const { doc, p } = await optimizeOne(file);
    const before = doc.getText();
    const onDisk = (await vscode.workspace.fs.readFile(doc.uri)).toString();
    await waitForProposalDiff();
    const r = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal');
    assert.equal(r.ok, true, r.message);
    assert.equal(r.recorded, 'accepted');
    assert.equal(doc.getText(), replacePrompts(before, [{ id: IMPROVABLE.promptId, text: p.proposed }]), 'document differs from the format-preserving write-back');
    assert.equal(promptOf(doc.getText(), IMPROVABLE.promptId).text, p.proposed);
    assert.equal(doc.isDirty, true);
    assert.equal((await vscode.workspace.fs.readFile(doc.uri)).toString(), onDisk, 'the file was saved behind the user\'s back');
    assert.deepEqual(a.proposals().filter((x) => x.id === p.id), []);
    const store = await readStore();
    assert.equal((await store.get(workflowKeyOf(file), IMPROVABLE.promptId, p.version!)).status, 'accepted');
    await store.close();
    // One undo restores the original text.
    await vscode.window.showTextDocument(doc);
    await vscode.commands.executeCommand('undo');
    await waitFor('undo', () => doc.getText() === before);
  });

  it('Reject leaves the file untouched and records the proposal as rejected', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'reject');
    const { doc, p } = await optimizeOne(file);
    const before = doc.getText();
    await waitForProposalDiff();
    const r = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.rejectProposal');
    assert.equal(r.ok, true);
    assert.equal(r.recorded, 'rejected');
    assert.equal(doc.getText(), before);
    assert.equal(doc.isDirty, false);
    const store = await readStore();
    assert.equal((await store.get(workflowKeyOf(file), IMPROVABLE.promptId, p.version!)).status, 'rejected');
    await store.close();
    // The diff is closed.
    assert.ok(!vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.path.includes(`/proposal/${p.id}/`))));
  });

  it('Accept still works when the document changed elsewhere, finding the prompt by id and original text', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'moved');
    const { doc, p } = await optimizeOne(file);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(doc.uri, new vscode.Position(0, 0), '# a comment added at the top\n');
    assert.ok(await vscode.workspace.applyEdit(edit));
    const before = doc.getText();
    const r = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal', p.id);
    assert.equal(r.ok, true, r.message);
    assert.equal(doc.getText(), replacePrompts(before, [{ id: IMPROVABLE.promptId, text: p.proposed }]));
  });

  it('Accept is refused with a clear message when the prompt changed after the proposal', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'changed');
    const { doc, p } = await optimizeOne(file);
    const changed = replacePrompts(doc.getText(), [{ id: IMPROVABLE.promptId, text: 'You review translations. Be brief.' }]);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), changed);
    assert.ok(await vscode.workspace.applyEdit(edit));
    const r = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal', p.id);
    assert.equal(r.ok, false);
    assert.match(r.message ?? "", new RegExp(`${IMPROVABLE.title}.*changed after the proposal was made`));
    assert.equal(doc.getText(), changed, 'the refused accept changed the document');
    const store = await readStore();
    assert.equal((await store.get(workflowKeyOf(file), IMPROVABLE.promptId, p.version!)).status, 'proposed');
    await store.close();
  });

  it('Optimize All Prompts gives a review queue walked with Next / Previous; accepting one opens the next', async () => {
    const a = await api();
    const file = workCopy(IMPROVABLE.file, 'queue');
    const editor = await open(file);
    const before = editor.document.getText();
    // Threshold 100: every prompt below it is optimized.
    await vscode.workspace.getConfiguration('promptOptimizer').update('scoreThreshold', 100, vscode.ConfigurationTarget.Global);
    try {
      const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizeAllPrompts', editor.document.uri);
      assert.ok(run.proposals.length >= 2, `expected several proposals, got ${run.proposals.length}: ${JSON.stringify(run.skipped)}`);
      const ids = run.proposals.map((p) => p.id);
      await waitForProposalDiff();
      assert.ok(activeTabLabel()!.startsWith(run.proposals[0].nodeTitle));
      assert.equal(await vscode.commands.executeCommand('promptOptimizer.nextProposal'), ids[1]);
      assert.ok(activeTabLabel()!.startsWith(run.proposals[1].nodeTitle));
      assert.equal(await vscode.commands.executeCommand('promptOptimizer.previousProposal'), ids[0]);
      // Accept the first: the next one opens; the document holds both results after accepting it too.
      assert.equal((await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal')).ok, true);
      await waitFor('the next proposal', () => activeTabLabel()?.startsWith(run.proposals[1].nodeTitle));
      assert.equal((await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal')).ok, true);
      const expected = replacePrompts(before, run.proposals.slice(0, 2).map((p) => ({ id: p.promptId, text: p.proposed })));
      assert.equal(editor.document.getText(), expected);
      for (const id of ids.slice(2)) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', id);
      assert.deepEqual(a.proposals().filter((x) => ids.includes(x.id)), []);
    } finally {
      await vscode.workspace.getConfiguration('promptOptimizer').update('scoreThreshold', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  it('a pending proposal adds "Apply optimized prompt" to the prompt\'s code actions and a CodeLens', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'apply-action');
    const { doc, p } = await optimizeOne(file);
    const rec = promptOf(doc.getText(), IMPROVABLE.promptId);
    const at = doc.positionAt(rec.range!.start.offset + 5);
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', doc.uri, new vscode.Range(at, at));
    const apply = actions.find((x) => x.title.startsWith('Apply optimized prompt'));
    assert.ok(apply, actions.map((x) => x.title).join(' | '));
    assert.deepEqual(apply.command?.arguments, [p.id]);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100);
    assert.ok(lenses.some((l) => l.command?.title === 'Review' && l.command.arguments?.[0] === p.id));
    await vscode.commands.executeCommand(apply.command!.command, ...apply.command!.arguments!);
    assert.equal(promptOf(doc.getText(), IMPROVABLE.promptId).text, p.proposed);
  });

  it('Optimize Prompt takes the prompt under the cursor', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'cursor');
    const editor = await open(file);
    const rec = promptOf(editor.document.getText(), IMPROVABLE.promptId);
    const pos = editor.document.positionAt(rec.range!.start.offset + 40);
    editor.selection = new vscode.Selection(pos, pos);
    const run = await vscode.commands.executeCommand<RunResult>('promptOptimizer.optimizePrompt');
    assert.deepEqual(run.proposals.map((x) => x.promptId), [IMPROVABLE.promptId]);
    assert.ok(parseDify(editor.document.getText()));
  });
});
