import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';

/**
 * Show Evidence Report: the markdown report of a proposal's evidence (per case: the input, both
 * answers side by side, the judge's verdict and reason, the checklist), as a markdown preview.
 * Argument: a proposal id; default the proposal under review (the active one, else the first).
 */
export const showEvidenceReport: CommandDef = {
  id: Commands.showEvidenceReport,
  async run(s: Services, proposalId?: unknown): Promise<string | undefined> {
    const all = s.queue.all();
    const p = (typeof proposalId === 'string' ? all.find((x) => x.id === proposalId) : undefined) ?? s.review.active() ?? all.find((x) => x.evidence);
    if (!p?.evidence) {
      void vscode.window.showInformationMessage('No proposal with evidence is waiting for review. Evidence is gathered when an LLM strategy runs with a model (setting promptOptimizer.evidence.mode).');
      return undefined;
    }
    if (!fs.existsSync(p.evidence.reportFile)) {
      void vscode.window.showWarningMessage(`The evidence report ${vscode.workspace.asRelativePath(p.evidence.reportFile)} no longer exists.`);
      return undefined;
    }
    const uri = vscode.Uri.file(p.evidence.reportFile);
    try {
      await vscode.commands.executeCommand('markdown.showPreview', uri);
    } catch {
      await vscode.window.showTextDocument(uri, { preview: false });
    }
    return p.evidence.reportFile;
  },
};
