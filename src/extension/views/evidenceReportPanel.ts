import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as vscode from 'vscode';
import { loadEvidence } from '../services/optimizer';

/** View type of the evidence report webview. */
export const EVIDENCE_VIEW_TYPE = 'promptOptimizer.evidenceReport';

/** The JSON report beside a markdown report (`x.md` → `x.json`); a `.json` path is itself. */
export function reportJsonOf(file: string): string {
  return file.replace(/\.md$/i, '.json');
}

/** The panels open, by report file: showing a report again brings its panel forward. */
const open = new Map<string, vscode.WebviewPanel>();

/**
 * Shows an evidence report as a page (evidence/reportPage.ts): a webview with no script, no
 * command URIs and no local resources, whose only style sheet carries a fresh nonce. Model output
 * in the report is written as text, never as markup. Returns the panel.
 */
export async function showEvidencePanel(reportFile: string, title: string): Promise<vscode.WebviewPanel> {
  const json = reportJsonOf(reportFile);
  const data = JSON.parse(await fs.readFile(json, 'utf8')) as Parameters<ReturnType<typeof loadEvidence>['evidencePage']>[0];
  let panel = open.get(json);
  if (panel) panel.reveal(undefined, false);
  else {
    panel = vscode.window.createWebviewPanel(EVIDENCE_VIEW_TYPE, `Evidence: ${title}`, { viewColumn: vscode.ViewColumn.Active, preserveFocus: false }, {
      enableScripts: false,
      enableCommandUris: false,
      enableForms: false,
      localResourceRoots: [],
      retainContextWhenHidden: false,
    });
    const p = panel;
    open.set(json, p);
    p.onDidDispose(() => open.delete(json));
  }
  panel.title = `Evidence: ${title}`;
  panel.webview.html = loadEvidence().evidencePage(data, { nonce: randomBytes(16).toString('base64'), title });
  return panel;
}
