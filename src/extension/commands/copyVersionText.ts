import * as vscode from 'vscode';
import { Commands } from '../constants';
import type { CommandDef, Services } from '../services/types';
import { isVersionNode } from './target';

/** Copy Text (tree item): a version's decoded prompt text to the clipboard. */
export const copyVersionText: CommandDef = {
  id: Commands.copyVersionText,
  async run(_s: Services, arg?: unknown) {
    if (!isVersionNode(arg)) return false;
    await vscode.env.clipboard.writeText(arg.version.text);
    void vscode.window.setStatusBarMessage(`Copied the text of v${arg.version.version}`, 3000);
    return true;
  },
};
