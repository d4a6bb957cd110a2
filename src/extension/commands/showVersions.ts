import * as vscode from 'vscode';
import { Commands, Views } from '../constants';
import { workflowOf } from '../services/stores';
import type { CommandDef, Services } from '../services/types';
import type { PromptNode } from '../views/versionsTreeProvider';

/** Show Versions: focuses the Prompt Versions view, revealing the given (or current) prompt. */
export const showVersions: CommandDef = {
  id: Commands.showVersions,
  async run(s: Services, uri?: unknown, promptId?: unknown) {
    await vscode.commands.executeCommand(`${Views.versions}.focus`);
    const target = uri instanceof vscode.Uri ? uri : vscode.window.activeTextEditor?.document.uri;
    if (!target || typeof promptId !== 'string') return undefined;
    const { root, workflow } = workflowOf(target);
    const wf = (await s.versions.getChildren()).find((n) => n.root === root && n.workflow === workflow);
    if (!wf) return undefined;
    const node = (await s.versions.getChildren(wf)).find((n) => (n as PromptNode).promptId === promptId);
    if (node) await s.versionsView.reveal(node, { select: true, focus: true, expand: true });
    return node ? { workflow, promptId } : undefined;
  },
};
