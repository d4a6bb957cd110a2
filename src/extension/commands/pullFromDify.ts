import * as path from 'node:path';
import * as vscode from 'vscode';
import { pull } from '../../core/dify';
import { CancelledError, isOptimizerError, toOptimizerError } from '../../core/errors';
import { Commands } from '../constants';
import { difySessions, refuseUntrusted } from '../services/difySessions';
import type { CommandDef, Services } from '../services/types';

export interface PullFromDifyArgs {
  server?: string;
  appId?: string;
  name?: string;
  /** File to write, relative to the workspace folder (default: the app's name). */
  out?: string;
  force?: boolean;
  /** Do not open the pulled file. */
  noOpen?: boolean;
}

export interface PullFromDifyResult {
  file?: string;
  appId?: string;
  sha256?: string;
  refused?: string;
  error?: string;
}

/** Shows a failure once: plain-words errors as warnings in the log, anything else as an error. */
export function reportDifyFailure(s: Services, what: string, e: unknown): string {
  const err = toOptimizerError(e);
  if (isOptimizerError(e) && err.family !== 'engine') s.log.warn(`${what}: ${err.message}`);
  else s.log.error(`${what}: ${err.message}`);
  void vscode.window.showErrorMessage(err.message);
  return err.message;
}

/**
 * Pull from Dify…: a quick pick of the workspace's apps, then the app's DSL (no secrets) written
 * into the workspace folder, its origin recorded in `.optimizer/remotes.json`, and the file opened.
 */
export const pullFromDify: CommandDef = {
  id: Commands.pullFromDify,
  async run(s: Services, arg?: unknown): Promise<PullFromDifyResult> {
    const refused = refuseUntrusted('Pull from Dify');
    if (refused) return { refused };
    const a = (arg && typeof arg === 'object' ? arg : {}) as PullFromDifyArgs;
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      const msg = 'Pull from Dify writes into the workspace: open a folder first.';
      void vscode.window.showWarningMessage(msg);
      return { refused: msg };
    }
    try {
      const client = await difySessions(s.context, s.log).client(a.server);
      let appId = a.appId;
      if (!appId && !a.name) {
        const apps = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Listing apps on ${client.server}` }, () => client.listApps());
        const pick = await vscode.window.showQuickPick(
          apps.map((x) => ({ label: x.name, description: x.mode, detail: x.id, id: x.id })),
          { title: `Pull from Dify (${client.server})`, placeHolder: apps.length ? 'The app to pull into the workspace' : 'No apps in this workspace', matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true },
        );
        if (!pick) return {};
        appId = pick.id;
      }
      const root = folder.uri.fsPath;
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Pulling from ${client.server}` }, () =>
        pull(client, { root, appId, name: a.name, out: a.out, force: a.force }),
      );
      const rel = path.relative(root, r.file);
      s.log.info(`Pulled "${r.app.name}" (${r.app.id}) from ${client.server} into ${rel} (sha256 ${r.sha256})`);
      if (!a.noOpen && r.format === 'yaml') await vscode.window.showTextDocument(vscode.Uri.file(r.file), { preview: false });
      void vscode.window.showInformationMessage(`${rel}: ${r.unchanged ? 'already up to date with' : 'pulled from'} "${r.app.name}" on ${client.server}.`);
      return { file: r.file, appId: r.app.id, sha256: r.sha256 };
    } catch (e) {
      if (e instanceof CancelledError) return {};
      return { error: reportDifyFailure(s, 'Pull from Dify', e) };
    }
  },
};
