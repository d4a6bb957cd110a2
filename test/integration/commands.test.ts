import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
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
});
