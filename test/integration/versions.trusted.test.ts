import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { replacePrompts } from '../../src/core/dsl';
import { VersionStore } from '../../src/core/storage';
import type { ProposalSummary } from '../../src/extension/review/proposals';
import type { PromptNode, VersionNode, VersionsTreeNode } from '../../src/extension/views/versionsTreeProvider';
import { api, IMPROVABLE, open, promptOf, readStore, revertAndCloseAll, waitForProposalDiff, workCopy, workflowKeyOf } from './support/ext';
import { until } from './support/ext';
import { waitFor, workspaceDir } from './support/helpers';

async function treeNodes(workflow: string): Promise<{ prompt: PromptNode; versions: VersionNode[]; item: vscode.TreeItem; items: vscode.TreeItem[] } | undefined> {
  const tree = (await api()).versionsTree;
  const roots = (await tree.getChildren()) as VersionsTreeNode[];
  const wf = roots.find((n) => n.workflow === workflow);
  if (!wf) return undefined;
  const prompts = (await tree.getChildren(wf)) as PromptNode[];
  const prompt = prompts.find((p) => p.promptId === IMPROVABLE.promptId);
  if (!prompt) return undefined;
  const versions = (await tree.getChildren(prompt)) as VersionNode[];
  return { prompt, versions, item: await tree.getTreeItem(prompt), items: await Promise.all(versions.map((v) => tree.getTreeItem(v))) };
}

async function acceptOne(file: string): Promise<{ doc: vscode.TextDocument; p: ProposalSummary }> {
  const editor = await open(file);
  const run = await vscode.commands.executeCommand<{ proposals: ProposalSummary[] }>('promptOptimizer.optimizePrompt', editor.document.uri, IMPROVABLE.promptId);
  const p = run.proposals[0];
  assert.ok(p);
  assert.equal((await vscode.commands.executeCommand<{ ok: boolean }>('promptOptimizer.acceptProposal', p.id)).ok, true);
  return { doc: editor.document, p };
}

describe('versions tree (trusted)', () => {
  afterEach(revertAndCloseAll);

  it('lists workflow → prompt (title, kind, score) → versions (number, strategy, change, date, status, current)', async () => {
    const file = workCopy(IMPROVABLE.file, 'tree');
    const { p } = await acceptOne(file);
    const wf = workflowKeyOf(file);
    const nodes = await until('the tree to show the prompt', () => treeNodes(wf));
    assert.equal(nodes.item.label, IMPROVABLE.title);
    assert.match(String(nodes.item.description), /^llm-message · score [\d.]+ · 2 versions$/);
    assert.deepEqual(nodes.items.map((i) => i.label), [`v${p.version}`, 'v1.0.0']);
    const [newest, baseline] = nodes.items.map((i) => String(i.description));
    assert.match(newest, new RegExp(`^${p.strategy} · \\+[\\d.]+ · score [\\d.]+ · \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d · accepted · current$`));
    assert.match(baseline, /^original · score [\d.]+ · .* · baseline$/);
    assert.equal(nodes.items[0].contextValue, 'promptVersion.hasParent');
    assert.equal(nodes.items[1].contextValue, 'promptVersion');
  });

  it('Compare with Current / with Parent open diffs of the version texts', async () => {
    const file = workCopy(IMPROVABLE.file, 'compare');
    const { doc } = await acceptOne(file);
    const nodes = await until('tree', () => treeNodes(workflowKeyOf(file)));
    const baseline = nodes.versions.find((v) => v.version.status === 'baseline')!;
    const r = await vscode.commands.executeCommand<{ title: string; left: string; right: string }>('promptOptimizer.compareWithCurrent', baseline);
    assert.equal(r.title, `${IMPROVABLE.title} · v1.0.0 ↔ current`);
    assert.equal((await vscode.workspace.openTextDocument(vscode.Uri.parse(r.left))).getText(), baseline.version.text);
    assert.equal((await vscode.workspace.openTextDocument(vscode.Uri.parse(r.right))).getText(), promptOf(doc.getText(), IMPROVABLE.promptId).text);
    const newest = nodes.versions[0];
    const r2 = await vscode.commands.executeCommand<{ title: string }>('promptOptimizer.compareWithParent', newest);
    assert.equal(r2.title, `${IMPROVABLE.title} · v1.0.0 ↔ v${newest.version.version}`);
  });

  it('Restore goes through the review: accept writes the old text and records a new accepted version', async () => {
    const file = workCopy(IMPROVABLE.file, 'restore');
    const { doc } = await acceptOne(file);
    const nodes = await until('tree', () => treeNodes(workflowKeyOf(file)));
    const baseline = nodes.versions.find((v) => v.version.status === 'baseline')!;
    const before = doc.getText();
    const r = await vscode.commands.executeCommand<{ ok: boolean; proposalId: string }>('promptOptimizer.restoreVersion', baseline);
    assert.equal(r.ok, true);
    await waitForProposalDiff();
    assert.equal(doc.getText(), before, 'restore changed the file before the review');
    const acc = await vscode.commands.executeCommand<{ ok: boolean; recorded: string }>('promptOptimizer.acceptProposal');
    assert.equal(acc.ok, true);
    assert.match(acc.recorded, /restored 1\.0\.0/);
    assert.equal(doc.getText(), replacePrompts(before, [{ id: IMPROVABLE.promptId, text: baseline.version.text }]));
    const store = await readStore();
    const latest = (await store.latest(workflowKeyOf(file), IMPROVABLE.promptId))!;
    assert.equal(latest.status, 'accepted');
    assert.equal(latest.restoredFrom, '1.0.0');
    assert.equal(latest.text, baseline.version.text);
    await store.close();
  });

  it('Copy Text puts the version text on the clipboard; Delete removes the version', async () => {
    const file = workCopy(IMPROVABLE.file, 'copy-delete');
    await acceptOne(file);
    const nodes = await until('tree', () => treeNodes(workflowKeyOf(file)));
    const newest = nodes.versions[0];
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.copyVersionText', newest), true);
    assert.equal(await vscode.env.clipboard.readText(), newest.version.text);
    assert.equal(await vscode.commands.executeCommand('promptOptimizer.deleteVersion', newest, undefined, { confirmed: true }), true);
    const store = await readStore();
    assert.deepEqual((await store.list(workflowKeyOf(file), IMPROVABLE.promptId)).map((v) => v.version), ['1.0.0']);
    await store.close();
    await waitFor('the tree to drop the deleted version', async () => (await treeNodes(workflowKeyOf(file)))?.versions.length === 1);
  });

  it('refreshes when another process (the CLI, another window) writes versions', async () => {
    const a = await api();
    let fired = 0;
    const sub = (a.versionsTree.onDidChangeTreeData as vscode.Event<unknown>)(() => fired++);
    try {
      const wf = 'elsewhere/other.yml';
      const other = await VersionStore.open(workspaceDir());
      await other.save({ workflow: wf, promptId: 'n1/instruction', text: 'Written by another process.', status: 'baseline', metadata: { nodeTitle: 'From CLI', kind: 'agent-instruction' } });
      await other.close();
      await waitFor(`a tree refresh after the external write (log: ${a.logLines().slice(-5).join(' / ')})`, () => fired > 0, 10_000);
      const roots = (await a.versionsTree.getChildren()) as VersionsTreeNode[];
      assert.ok(roots.some((n) => n.workflow === wf));
    } finally {
      sub.dispose();
    }
  });

  it('the CodeLens shows the number of versions and follows new ones (ours and another process\'s)', async () => {
    await api();
    const file = workCopy(IMPROVABLE.file, 'lens-count');
    const editor = await open(file);
    const doc = editor.document;
    const line = promptOf(doc.getText(), IMPROVABLE.promptId).range!.start.line - 1;
    const lensesHere = async () =>
      ((await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', doc.uri, 100)) ?? []).filter(
        (l) => l.range.start.line === line && l.command?.command.startsWith('promptOptimizer.'),
      );
    const versionsLens = async () => (await lensesHere()).find((l) => /\bversions?$/.test(l.command!.title));
    await until('the score lens', async () => (await lensesHere()).some((l) => l.command!.title.startsWith('Score ')));
    assert.equal(await versionsLens(), undefined, 'a prompt without stored versions shows a versions lens');

    // Optimizing records the baseline and the proposal: 2 versions.
    const run = await vscode.commands.executeCommand<{ proposals: ProposalSummary[] }>('promptOptimizer.optimizePrompt', doc.uri, IMPROVABLE.promptId);
    assert.equal(run.proposals.length, 1);
    const two = await until('"2 versions"', async () => {
      const l = await versionsLens();
      return l?.command?.title === '2 versions' ? l : undefined;
    });
    assert.equal(two.command!.command, 'promptOptimizer.showVersions');
    assert.equal((two.command!.arguments![0] as vscode.Uri).toString(), doc.uri.toString());
    assert.equal(two.command!.arguments![1], IMPROVABLE.promptId);
    await vscode.commands.executeCommand('promptOptimizer.rejectProposal', run.proposals[0].id);

    // Another process (the CLI, another window) records a version: the count follows.
    const other = await VersionStore.open(workspaceDir());
    try {
      await other.save({ workflow: workflowKeyOf(file), promptId: IMPROVABLE.promptId, text: `${promptOf(doc.getText(), IMPROVABLE.promptId).text}\n`, parentVersion: '1.0.0', status: 'accepted' });
    } finally {
      await other.close();
    }
    await until('"3 versions" after the external write', async () => (await versionsLens())?.command?.title === '3 versions', 10_000);
  });

  it('Show Versions focuses the view and reveals the prompt', async () => {
    const file = workCopy(IMPROVABLE.file, 'show');
    const { doc } = await acceptOne(file);
    await until('tree', () => treeNodes(workflowKeyOf(file)));
    const r = await vscode.commands.executeCommand<{ promptId: string }>('promptOptimizer.showVersions', doc.uri, IMPROVABLE.promptId);
    assert.equal(r?.promptId, IMPROVABLE.promptId);
  });
});
