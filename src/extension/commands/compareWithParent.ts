import * as vscode from 'vscode';
import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';
import { isVersionNode } from './target';

/** Compare with Parent (tree item): a version against the version it was derived from. */
export const compareWithParent: CommandDef = {
  id: Commands.compareWithParent,
  async run(s: Services, arg?: unknown) {
    if (!isVersionNode(arg)) return undefined;
    const v = arg.version;
    if (!v.parentVersion) {
      void vscode.window.showInformationMessage(`v${v.version} has no parent version.`);
      return undefined;
    }
    const store = await s.stores.reader(arg.root);
    const parent = await store.get(arg.workflow, arg.promptId, v.parentVersion);
    const key = `${arg.workflow}|${arg.promptId}`;
    const left = s.content.put(['version', `${key}|${parent.version}`], `${arg.title} v${parent.version}`, parent.text);
    const right = s.content.put(['version', `${key}|${v.version}`], `${arg.title} v${v.version}`, v.text);
    const title = `${arg.title} · v${parent.version} ↔ v${v.version}`;
    await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview: true });
    return { title };
  },
};
