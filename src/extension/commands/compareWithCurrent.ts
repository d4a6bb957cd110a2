import * as vscode from 'vscode';
import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';
import { currentPromptText, targetVersion } from './target';

/** Compare with Current: a version's text against the prompt's text in the workflow file now. */
export const compareWithCurrent: CommandDef = {
  id: Commands.compareWithCurrent,
  async run(s: Services, arg?: unknown) {
    const node = await targetVersion(s, arg, 'Compare which version with the current prompt?');
    if (!node) return undefined;
    const cur = currentPromptText(node.root, node.workflow, node.promptId);
    if (!cur) {
      void vscode.window.showWarningMessage(`The prompt "${node.title}" (${node.promptId}) is no longer in ${node.workflow}.`);
      return undefined;
    }
    const v = node.version.version;
    const left = s.content.put(['version', `${node.workflow}|${node.promptId}|${v}`], `${node.title} v${v}`, node.version.text);
    const right = s.content.put(['current', `${node.workflow}|${node.promptId}`], `${node.title} (current)`, cur.text);
    const title = `${node.title} · v${v} ↔ current`;
    await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview: true });
    return { title, left: left.toString(), right: right.toString() };
  },
};
