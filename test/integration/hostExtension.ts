/**
 * Main module of the tiny "test host" extension the harness generates for Restricted Mode runs.
 * VS Code trusts every workspace while `extensionTestsPath` is set, so in Restricted Mode the
 * suites are started by this extension (declared as fully supported in untrusted workspaces)
 * once startup has finished. It does nothing unless the harness set the results-file variable.
 */
import * as vscode from 'vscode';
import { run } from './index';
import { ENV_RESULTS_FILE } from './support/protocol';

export function activate(_context: vscode.ExtensionContext): void {
  if (!process.env[ENV_RESULTS_FILE]) return;
  // Do not block activation: the suites open editors and wait for other extensions.
  setTimeout(() => {
    run().catch(() => {
      /* run() already reported the failure in the results file */
    });
  }, 0);
}

export function deactivate(): void {}
