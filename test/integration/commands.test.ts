import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { analyzePrompt } from '../../src/core/analysis';
import { parseDify } from '../../src/core/dsl';
import { fmtScore, type ProposalSummary } from '../../src/extension/review/proposals';
import { api, IMPROVABLE, open, revertAndCloseAll, until, workCopy } from './support/ext';
import { activateByOpeningExport, closeAllEditors } from './support/helpers';

interface ManifestView {
  id: string;
}

interface ManifestCommand {
  command: string;
  title: string;
}

describe('commands', () => {
  let declared: ManifestCommand[] = [];
  let viewIds: string[] = [];
  let registered: Set<string>;

  before(async () => {
    const ext = await activateByOpeningExport();
    // Read from the manifest VS Code loaded, so a new command without a handler fails here.
    const pkg = ext.packageJSON as { contributes?: { commands?: ManifestCommand[]; views?: Record<string, ManifestView[]> } };
    declared = pkg.contributes?.commands ?? [];
    viewIds = Object.values(pkg.contributes?.views ?? {}).flat().map((v) => v.id);
    registered = new Set(await vscode.commands.getCommands(true));
  });
  after(closeAllEditors);

  it('package.json declares at least one command', () => {
    assert.ok(declared.length > 0);
  });

  it('every command in contributes.commands has a registered handler', () => {
    const missing = declared.map((c) => c.command).filter((id) => !registered.has(id));
    assert.deepEqual(missing, [], `declared in package.json but not registered: ${missing.join(', ')}`);
  });

  it('every promptOptimizer.* command that is registered is declared in package.json', () => {
    const ids = new Set(declared.map((c) => c.command));
    // VS Code itself registers `<viewId>.focus`, `.open`, … for each contributed view.
    const generatedForView = (id: string) => viewIds.some((v) => id.startsWith(`${v}.`));
    const undeclared = [...registered].filter((id) => id.startsWith('promptOptimizer.') && !ids.has(id) && !generatedForView(id));
    assert.deepEqual(undeclared, [], `registered but missing from contributes.commands: ${undeclared.join(', ')}`);
  });

  it('"Show Log" runs without error', async () => {
    await vscode.commands.executeCommand('promptOptimizer.showLog');
  });

  it('Optimize Prompt with the cursor outside every prompt asks with a quick pick of the file\'s prompts and their scores, then optimizes the one picked', async () => {
    const a = await api();
    const file = workCopy(IMPROVABLE.file, 'pick');
    const editor = await open(file);
    const prompts = parseDify(editor.document.getText()).prompts;
    const target = prompts.findIndex((p) => p.id === IMPROVABLE.promptId);
    assert.ok(target > 0, 'the improvable prompt should not be the first item (the test walks the list)');
    // Line 1 ("app:") is outside every prompt value and no prompt key is on it.
    assert.ok(prompts.every((p) => p.range && p.range.start.line > 1));
    editor.selection = new vscode.Selection(0, 0, 0, 0);
    const pending = vscode.commands.executeCommand<{ proposals: ProposalSummary[] }>('promptOptimizer.optimizePrompt');
    try {
      const pick = await until('the prompt quick pick to show with an active item', () => {
        const t = a.lastPromptPick();
        return t && !t.closed && t.active ? t : undefined;
      });
      assert.equal(pick.title, 'Optimize which prompt?');
      assert.deepEqual(pick.items.map((i) => i.promptId), prompts.map((p) => p.id), 'one item per prompt, in file order');
      pick.items.forEach((item, i) => {
        const p = prompts[i]!;
        assert.equal(item.label, p.nodeTitle);
        assert.equal(item.description, `${p.kind}${p.role ? ` (${p.role})` : ''} · score ${fmtScore(analyzePrompt(p).overall)}`);
      });
      assert.equal(pick.active, prompts[0]!.id, 'the first prompt is highlighted first');
      // Walk down the list as a user would, then accept the highlighted item.
      for (let i = 1; i <= target; i++) {
        await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
        await until(`item ${i} to be highlighted`, () => a.lastPromptPick()?.active === prompts[i]!.id);
      }
      await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    } finally {
      if (!a.lastPromptPick()?.closed) await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    }
    const run = await pending;
    assert.equal(a.lastPromptPick()?.closed, true);
    assert.deepEqual(run.proposals.map((p) => p.promptId), [IMPROVABLE.promptId], 'the picked prompt was not the one optimized');
    for (const p of run.proposals) await vscode.commands.executeCommand('promptOptimizer.rejectProposal', p.id);
    await revertAndCloseAll();
  });
});
