import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { toOptimizerError } from '../../core/errors';
import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';
import { reportJsonOf, showEvidencePanel } from '../views/evidenceReportPanel';
import { resolveReport } from './evidenceReportTarget';

/**
 * Show Evidence Report: the report of a proposal's evidence as a page (per case the input, both
 * answers side by side and the judge's reasons for both orders; pass-rate bars; the interval after
 * each look; calls, tokens, cost). Argument: see resolveReport (default: the proposal under review).
 * Returns the markdown report's path (its export: Export Evidence Report).
 */
export const showEvidenceReport: CommandDef = {
  id: Commands.showEvidenceReport,
  async run(s: Services, arg?: unknown): Promise<string | undefined> {
    const t = await resolveReport(s, arg);
    if (!t) return undefined;
    if (!fs.existsSync(reportJsonOf(t.reportFile))) {
      void vscode.window.showWarningMessage(`The evidence report ${vscode.workspace.asRelativePath(reportJsonOf(t.reportFile))} no longer exists.`);
      return undefined;
    }
    try {
      await showEvidencePanel(t.reportFile, t.title);
    } catch (e) {
      const msg = `Could not show the evidence report ${vscode.workspace.asRelativePath(t.reportFile)}: ${toOptimizerError(e).message}`;
      s.log.warn(msg);
      void vscode.window.showErrorMessage(msg);
      return undefined;
    }
    return t.reportFile;
  },
};

/** Export Evidence Report: the same report as markdown (the file written beside it), in the markdown preview. */
export const exportEvidenceReport: CommandDef = {
  id: Commands.exportEvidenceReport,
  async run(s: Services, arg?: unknown): Promise<string | undefined> {
    const t = await resolveReport(s, arg);
    if (!t) return undefined;
    if (!fs.existsSync(t.reportFile)) {
      void vscode.window.showWarningMessage(`The evidence report ${vscode.workspace.asRelativePath(t.reportFile)} no longer exists.`);
      return undefined;
    }
    const uri = vscode.Uri.file(t.reportFile);
    try {
      await vscode.commands.executeCommand('markdown.showPreview', uri);
    } catch {
      await vscode.window.showTextDocument(uri, { preview: false });
    }
    return t.reportFile;
  },
};
