import * as vscode from 'vscode';
import { toOptimizerError } from '../../core/errors';
import { Commands } from '../constants';
import { RestrictedModeError } from '../services/stores';
import type { CommandDef, Services } from '../services/types';
import { isVersionNode } from './target';

/** Delete Version (tree item): removes one version file after a modal confirmation. */
export const deleteVersion: CommandDef = {
  id: Commands.deleteVersion,
  async run(s: Services, arg?: unknown, _selected?: unknown, opts?: unknown) {
    if (!isVersionNode(arg)) return false;
    const v = arg.version;
    if (!(opts as { confirmed?: boolean } | undefined)?.confirmed) {
      const choice = await vscode.window.showWarningMessage(
        `Delete version ${v.version} of "${arg.title}"?`,
        { modal: true, detail: `${arg.workflow} · ${arg.promptId}\nThe version file under .optimizer/versions/ is removed.` },
        'Delete',
      );
      if (choice !== 'Delete') return false;
    }
    try {
      const store = await s.stores.writer(arg.root, 'Deleting a version');
      await store.delete(arg.workflow, arg.promptId, v.version);
      s.stores.invalidate();
      s.log.info(`deleted ${arg.workflow} ${arg.promptId} v${v.version}`);
      return true;
    } catch (e) {
      const msg = e instanceof RestrictedModeError ? e.message : toOptimizerError(e).message;
      void vscode.window.showErrorMessage(msg);
      return false;
    }
  },
};
