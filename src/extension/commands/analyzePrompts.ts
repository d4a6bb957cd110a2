import * as vscode from 'vscode';
import { Commands } from '../constants';
import { fmtScore } from '../review/proposals';
import type { CommandDef, Services } from '../services/types';
import { targetDocument } from './target';

/** Analyze Prompts: refreshes the diagnostics of the file now and summarises the scores. */
export const analyzePrompts: CommandDef = {
  id: Commands.analyzePrompts,
  async run(s: Services, uri?: unknown) {
    const doc = await targetDocument(s, uri);
    if (!doc) return undefined;
    const parsed = s.cache.get(doc).doc!;
    await s.diagnostics.refresh(doc);
    const prompts = parsed.prompts.map((p) => {
      const a = s.cache.analysis(p);
      return { id: p.id, nodeTitle: p.nodeTitle, kind: p.kind, role: p.role, score: a.overall, issues: a.issues.length };
    });
    const scored = prompts.filter((p) => p.score > 0);
    const avg = scored.length ? scored.reduce((t, p) => t + p.score, 0) / scored.length : 0;
    const issues = prompts.reduce((t, p) => t + p.issues, 0);
    const name = vscode.workspace.asRelativePath(doc.uri, false);
    s.log.info(`analyze ${name}: ${prompts.length} prompts, average score ${fmtScore(avg)}, ${issues} issues`);
    void vscode.window
      .showInformationMessage(`${name}: ${prompts.length} prompt${prompts.length === 1 ? '' : 's'}, average score ${fmtScore(avg)}, ${issues} issue${issues === 1 ? '' : 's'}.`, 'Show Problems')
      .then((c) => c && vscode.commands.executeCommand('workbench.actions.view.problems'));
    return { file: name, prompts, averageScore: avg, issues };
  },
};
