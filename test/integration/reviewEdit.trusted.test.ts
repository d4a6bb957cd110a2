import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { replacePrompts } from '../../src/core/dsl';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import type { PromptNode, VersionNode, VersionsTreeNode } from '../../src/extension/views/versionsTreeProvider';
import { activeTabLabel, api, IMPROVABLE, open, promptOf, readStore, revertAndCloseAll, until, waitForProposalDiff, WEAK, workCopy, workflowKeyOf } from './support/ext';
import { waitFor } from './support/helpers';

interface ReviewOutcome {
  ok: boolean;
  code?: string;
  message?: string;
  recorded?: string;
  version?: string;
  edited?: boolean;
}

/** Optimizes one prompt with the rule strategies and waits for its diff; returns the proposal and the diff's two sides. */
async function propose(file: string, promptId: string) {
  const editor = await open(file);
  const run = await vscode.commands.executeCommand<{ proposals: ProposalSummary[]; skipped: Record<string, string> }>('promptOptimizer.optimizePrompt', editor.document.uri, promptId);
  assert.equal(run.proposals.length, 1, `no proposal: ${JSON.stringify(run.skipped)}`);
  const input = await waitForProposalDiff();
  const right = await until('the proposed side in an editor', () => vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === input.modified.toString()));
  return { doc: editor.document, p: run.proposals[0], input, right };
}

/** Types into an editor as a user would (an edit of the editor, not a WorkspaceEdit). */
async function typeAtEnd(editor: vscode.TextEditor, text: string): Promise<void> {
  const end = editor.document.lineAt(editor.document.lineCount - 1).range.end;
  assert.ok(await editor.edit((b) => b.insert(end, text)), 'the proposed side refused the edit (read-only?)');
}

async function lensTitles(doc: vscode.TextDocument): Promise<string[]> {
  const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100);
  return lenses.map((l) => l.command?.title ?? '');
}

const LINE = '\n回复前先确认用户的问题。';

/** Saves edited proposal sides (into memory) so closing every editor asks nothing, then closes all. */
async function closeAll(): Promise<void> {
  for (const d of vscode.workspace.textDocuments) if (d.uri.scheme === 'promptopt' && d.isDirty) await d.save();
  await revertAndCloseAll();
}

describe('review: edit the proposal, per-block revert, pending CodeLens, inline view (trusted)', () => {
  afterEach(closeAll);

  it('the proposed side is editable; Accept writes the edited text and records it as a manual-edit version on top of the proposal', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'edit-accept');
    const { doc, p, input, right } = await propose(file, IMPROVABLE.promptId);
    const left = await vscode.workspace.openTextDocument(input.original);
    const before = doc.getText();
    await typeAtEnd(right, LINE);
    const edited = right.document.getText();
    assert.equal(edited, p.proposed + LINE);
    // The left (current) side stays read-only; the right side is a writable in-memory file.
    assert.equal((await vscode.workspace.fs.stat(input.original)).permissions, vscode.FilePermission.Readonly);
    assert.equal((await vscode.workspace.fs.stat(input.modified)).permissions, undefined);
    await assert.rejects(Promise.resolve(vscode.workspace.fs.writeFile(input.original, Buffer.from('x'))), /NoPermissions|permission/i);
    assert.equal(left.getText(), promptOf(before, IMPROVABLE.promptId).text);

    const r = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal');
    assert.equal(r.ok, true, r.message);
    assert.equal(r.edited, true);
    assert.match(r.recorded ?? '', new RegExp(`manual-edit on ${p.version!.replace(/\./g, '\\.')}`));
    assert.equal(doc.getText(), replacePrompts(before, [{ id: IMPROVABLE.promptId, text: edited }]), 'the document is not the write-back of the edited text');
    assert.equal(promptOf(doc.getText(), IMPROVABLE.promptId).text, edited);
    assert.equal(doc.isDirty, true);
    // The diff closed without asking to save the edited side.
    assert.ok(!vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === input.modified.toString())));

    const store = await readStore();
    try {
      const wf = workflowKeyOf(file);
      const manual = await store.get(wf, IMPROVABLE.promptId, r.version!);
      assert.equal(manual.text, edited);
      assert.equal(manual.status, 'accepted');
      assert.equal(manual.optimization?.strategy, 'manual-edit');
      assert.equal(manual.parentVersion, p.version);
      // The proposal it came from is kept as it was proposed (it was not taken as is).
      const proposal = await store.get(wf, IMPROVABLE.promptId, p.version!);
      assert.equal(proposal.text, p.proposed);
      assert.equal(proposal.status, 'proposed');
    } finally {
      await store.close();
    }
    // The versions tree shows both, the manual edit as the current one.
    const tree = (await api()).versionsTree;
    const items = await until('the tree to list the manual edit', async () => {
      const roots = (await tree.getChildren()) as VersionsTreeNode[];
      const wfNode = roots.find((n) => n.workflow === workflowKeyOf(file));
      if (!wfNode) return undefined;
      const prompt = ((await tree.getChildren(wfNode)) as PromptNode[]).find((n) => n.promptId === IMPROVABLE.promptId);
      if (!prompt) return undefined;
      const versions = (await tree.getChildren(prompt)) as VersionNode[];
      return versions.some((v) => v.version.version === r.version) ? versions : undefined;
    });
    const manualNode = items.find((v) => v.version.version === r.version)!;
    assert.equal(manualNode.current, true);
    assert.ok(items.some((v) => v.version.version === p.version && !v.current));
    const label = await tree.getTreeItem(manualNode);
    assert.match(`${label.label} ${label.description ?? ''}`, /manual-edit/);
  });

  it('an edit that drops a variable is refused, saying which; the document is untouched and the edit is kept in the diff', async () => {
    const a = await api();
    const file = workCopy(IMPROVABLE.file, 'edit-drop');
    const { doc, p, input, right } = await propose(file, IMPROVABLE.promptId);
    const before = doc.getText();
    const at = right.document.getText().indexOf('{{#context#}}');
    assert.ok(at >= 0, 'the proposal lost {{#context#}}');
    assert.ok(await right.edit((b) => b.delete(new vscode.Range(right.document.positionAt(at), right.document.positionAt(at + '{{#context#}}'.length)))));
    const edited = right.document.getText();

    const r = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal', p.id);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'REVIEW_VARIABLES_CHANGED');
    assert.match(r.message ?? '', /drops the variable \{\{#context#\}\}/);
    assert.match(r.message ?? '', new RegExp(IMPROVABLE.title));
    assert.match(r.message ?? '', /your edit is kept/);
    assert.equal(doc.getText(), before, 'the refused accept changed the document');
    assert.equal(doc.isDirty, false);
    assert.ok(a.proposals().some((x) => x.id === p.id), 'the refused proposal left the queue');
    assert.equal(right.document.getText(), edited, 'the edit was lost');
    assert.ok(vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === input.modified.toString())), 'the diff was closed');
    const store = await readStore();
    assert.equal((await store.get(workflowKeyOf(file), IMPROVABLE.promptId, p.version!)).status, 'proposed');
    await store.close();

    // Putting the variable back makes the same proposal acceptable.
    const end = right.document.lineAt(right.document.lineCount - 1).range.end;
    assert.ok(await right.edit((b) => b.insert(end, '{{#context#}}')));
    const fixed = right.document.getText();
    const ok = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal', p.id);
    assert.equal(ok.ok, true, ok.message);
    assert.equal(promptOf(doc.getText(), IMPROVABLE.promptId).text, fixed);
  });

  it('per block: the diff editor\'s own Revert Block on the proposed side drops that change; Accept applies what is left', async () => {
    await api();
    const file = workCopy(WEAK.file, 'hunk');
    const { doc, p, input, right } = await propose(file, WEAK.promptId);
    const original = promptOf(doc.getText(), WEAK.promptId).text;
    const before = doc.getText();
    const oldLines = original.split('\n');
    const newLines = p.proposed.split('\n');
    assert.notEqual(oldLines[0], newLines[0], 'the proposal does not change the first line');
    assert.ok(newLines.slice(1).join('\n') !== oldLines.slice(1).join('\n'), 'the proposal has a single change');
    // The first block: the first original line became the proposal's first two lines
    // ("## Task" + the rewritten sentence). Revert it with the diff editor's command, as its
    // gutter arrow does.
    assert.equal(newLines[0], '## Task', `unexpected proposal: ${p.proposed}`);
    const mapping = {
      innerChanges: [
        {
          originalRange: { startLineNumber: 1, startColumn: 1, endLineNumber: 1, endColumn: oldLines[0].length + 1 },
          modifiedRange: { startLineNumber: 1, startColumn: 1, endLineNumber: 2, endColumn: newLines[1].length + 1 },
        },
      ],
    };
    const expected = [oldLines[0], ...newLines.slice(2)].join('\n');
    await waitFor('the revert to apply', async () => {
      if (right.document.getText() !== expected) {
        await vscode.commands.executeCommand('diffEditor.revert', { originalUri: input.original, modifiedUri: input.modified, mapping });
      }
      return right.document.getText() === expected;
    });
    const r = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal', p.id);
    assert.equal(r.ok, true, r.message);
    assert.equal(r.edited, true);
    const now = promptOf(doc.getText(), WEAK.promptId).text;
    assert.equal(now, expected);
    assert.ok(now.startsWith(oldLines[0]), 'the reverted block was applied');
    assert.ok(now.includes('## Output format'), 'the other blocks were not applied');
    assert.equal(doc.getText(), replacePrompts(before, [{ id: WEAK.promptId, text: expected }]));
  });

  it('while a proposal is pending, the prompt\'s CodeLens reads "Proposal 72 → 86 · Review · Accept · Reject" and acts; it follows edits and a changed YAML', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'lens');
    const { doc, p, right } = await propose(file, IMPROVABLE.promptId);
    const fmt = (n: number) => String(Math.round(n * 10) / 10);
    let titles = await until('the pending lenses', async () => {
      const t = await lensTitles(doc);
      return t.some((x) => x.startsWith('Proposal ')) ? t : undefined;
    });
    const i = titles.indexOf(`Proposal ${fmt(p.scoreBefore)} → ${fmt(p.scoreAfter)}`);
    assert.ok(i >= 0, titles.join(' | '));
    assert.deepEqual(titles.slice(i, i + 4), [`Proposal ${fmt(p.scoreBefore)} → ${fmt(p.scoreAfter)}`, 'Review', 'Accept', 'Reject']);
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100);
    const byTitle = (t: string) => lenses.find((l) => l.command?.title === t)!;
    assert.deepEqual(byTitle('Accept').command?.arguments, [p.id]);
    assert.equal(byTitle('Accept').command?.command, 'promptOptimizer.acceptProposal');
    assert.equal(byTitle('Reject').command?.command, 'promptOptimizer.rejectProposal');
    // The other prompts keep their Score · Optimize lenses.
    assert.ok(titles.some((t) => t === 'Optimize'));

    // An edit of the proposal shows in the lens ("edited", with the edited text's score).
    await typeAtEnd(right, LINE);
    titles = await until('the edited lens', async () => {
      const t = await lensTitles(doc);
      return t.some((x) => /^Proposal [\d.]+ → [\d.]+ \(edited\)$/.test(x)) ? t : undefined;
    });

    // The prompt changes in the YAML: the current side follows, the lens says stale and offers no Accept, Accept is refused.
    const changed = replacePrompts(doc.getText(), [{ id: IMPROVABLE.promptId, text: 'You answer in Chinese. Use {{#context#}}.' }]);
    await open(file);
    const edit = new vscode.WorkspaceEdit();
    edit.replace(doc.uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), changed);
    assert.ok(await vscode.workspace.applyEdit(edit));
    titles = await until('the stale lens', async () => {
      const t = await lensTitles(doc);
      return t.some((x) => x.includes('stale')) ? t : undefined;
    });
    assert.ok(!titles.includes('Accept'), titles.join(' | '));
    assert.ok(titles.includes('Reject'));
    const left = vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'promptopt' && d.uri.path.startsWith(`/proposal/${p.id}/original/`));
    if (left) await waitFor('the current side to follow the YAML', () => left.getText() === 'You answer in Chinese. Use {{#context#}}.');
    // Back to the diff (Review): its title now says stale, and the user's edit is still there.
    const editedText = right.document.getText();
    const review = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100)).find((l) => l.command?.title === 'Review')!;
    await vscode.commands.executeCommand(review.command!.command, ...review.command!.arguments!);
    await waitFor('the stale title', () => activeTabLabel()?.endsWith(' · stale'));
    const again = await waitForProposalDiff();
    assert.equal((await vscode.workspace.openTextDocument(again.modified)).getText(), editedText, 'reopening lost the edit');
    assert.equal(vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === again.modified.toString()).length, 1);
    const r = await vscode.commands.executeCommand<ReviewOutcome>('promptOptimizer.acceptProposal', p.id);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'REVIEW_STALE');
    assert.match(r.message ?? '', /changed after the proposal was made/);
    assert.equal(doc.getText(), changed);
    // Reject from the lens.
    const reject = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100)).find((l) => l.command?.title === 'Reject')!;
    const rr = await vscode.commands.executeCommand<ReviewOutcome>(reject.command!.command, ...reject.command!.arguments!);
    assert.equal(rr.ok, true);
    titles = await until('the lenses without the proposal', async () => {
      const t = await lensTitles(doc);
      return t.some((x) => x.startsWith('Proposal ')) ? undefined : t;
    });
  });

  it('Show Inline View / Show Side by Side View set the diff editor\'s own setting, remembered for the next proposal', async () => {
    await api();
    const config = () => vscode.workspace.getConfiguration('diffEditor');
    try {
      const file = workCopy(IMPROVABLE.file, 'inline');
      await propose(file, IMPROVABLE.promptId);
      assert.equal(await vscode.commands.executeCommand('promptOptimizer.showInlineView'), true);
      assert.equal(config().inspect('renderSideBySide')?.globalValue, false);
      await vscode.commands.executeCommand('promptOptimizer.rejectProposal');
      // The next proposal opens inline (the setting is global): its tab is a diff all the same.
      await propose(workCopy(IMPROVABLE.file, 'inline-2'), IMPROVABLE.promptId);
      assert.equal(config().get('renderSideBySide'), false);
      assert.ok(activeTabLabel()?.startsWith(IMPROVABLE.title));
      assert.equal(await vscode.commands.executeCommand('promptOptimizer.showSideBySideView'), false);
      assert.equal(config().get('renderSideBySide'), true);
      await vscode.commands.executeCommand('promptOptimizer.rejectProposal');
    } finally {
      await config().update('renderSideBySide', undefined, vscode.ConfigurationTarget.Global);
    }
  });
});
