import * as path from 'node:path';
import * as vscode from 'vscode';
import { describePushNotes, getRemote, push, type PushResult } from '../../core/dify';
import { CancelledError, DifyError } from '../../core/errors';
import { Commands } from '../constants';
import { difySessions, refuseUntrusted } from '../services/difySessions';
import { rootFor } from '../services/stores';
import type { CommandDef, Services } from '../services/types';
import { reportDifyFailure } from './pullFromDify';

export interface PushToDifyArgs {
  /** The file (default: the active editor's). */
  uri?: vscode.Uri | string;
  /** Confirm a DSL version mismatch (Dify's 202 pending) without asking. */
  yes?: boolean;
  asNew?: boolean;
  appName?: string;
  publish?: boolean;
  server?: string;
}

export interface PushToDifyResult {
  status?: PushResult['status'];
  appId?: string;
  notes?: string[];
  /** The three-way difference shown on a conflict. */
  diff?: string;
  refused?: string;
  error?: string;
}

/**
 * Push to Dify: imports the file over the app it was pulled from, only after checking that the
 * draft in Dify is still the pulled base; otherwise nothing is pushed and the three-way
 * difference opens. A mode Dify does not overwrite offers "Import as New App"; a DSL version
 * mismatch asks first. Pushing never publishes.
 */
export const pushToDify: CommandDef = {
  id: Commands.pushToDify,
  async run(s: Services, arg?: unknown): Promise<PushToDifyResult> {
    const refused = refuseUntrusted('Push to Dify');
    if (refused) return { refused };
    const a = (arg instanceof vscode.Uri ? { uri: arg } : arg && typeof arg === 'object' ? arg : {}) as PushToDifyArgs;
    const uri = typeof a.uri === 'string' ? vscode.Uri.file(a.uri) : (a.uri ?? vscode.window.activeTextEditor?.document.uri);
    if (!uri || uri.scheme !== 'file') {
      const msg = 'Push to Dify: open the pulled Dify export first.';
      void vscode.window.showWarningMessage(msg);
      return { refused: msg };
    }
    const open = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (open?.isDirty) await open.save();
    const root = rootFor(uri);
    const rel = path.relative(root, uri.fsPath);
    try {
      const rec = await getRemote(root, uri.fsPath);
      const client = await difySessions(s.context, s.log).client(a.server ?? (a.asNew ? undefined : rec?.server));
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Pushing ${rel} to ${client.server}` }, () =>
        push(client, {
          root,
          file: uri.fsPath,
          asNew: a.asNew,
          name: a.appName,
          publish: a.publish,
          confirmVersion: async (q) => {
            if (a.yes) return true;
            const go = await vscode.window.showWarningMessage(
              `Dify asks to confirm: ${rel} is DSL ${q.imported}, the server writes ${q.current}. Import it anyway?`,
              { modal: true },
              'Import',
            );
            return go === 'Import';
          },
        }),
      );
      if (r.status === 'conflict') {
        const doc = await vscode.workspace.openTextDocument({ language: 'diff', content: r.diff });
        await vscode.window.showTextDocument(doc, { preview: false });
        const msg = `${rel} was not pushed: the app's draft changed in Dify since it was pulled. The differences (base / Dify's draft / ours) are open; pull again to another file, merge, then push.`;
        s.log.warn(`Push to Dify: ${msg}`);
        void vscode.window.showWarningMessage(msg);
        return { status: 'conflict', diff: r.diff };
      }
      if (r.status === 'declined') return { status: 'declined' };
      const notes = describePushNotes(r);
      s.log.info(`Pushed ${rel} to ${r.appId} on ${client.server}${notes.length ? `; ${notes.join('; ')}` : ''}`);
      void vscode.window.showInformationMessage(`${rel} pushed to ${r.asNew ? 'a new app' : 'the draft'} on ${client.server}${r.published ? ' and published' : ' (not published)'}.${notes.length ? ` ${notes.join(' ')}` : ''}`);
      return { status: 'pushed', appId: r.appId, notes };
    } catch (e) {
      if (e instanceof CancelledError) return {};
      if (e instanceof DifyError && e.code === 'DIFY_UNSUPPORTED' && !a.asNew && /as a new app/.test(e.message)) {
        s.log.warn(`Push to Dify: ${e.message}`);
        const pick = a.yes ? undefined : await vscode.window.showWarningMessage(e.message, 'Import as New App');
        if (pick === 'Import as New App') return (await pushToDify.run(s, { ...a, uri, asNew: true })) as PushToDifyResult;
        return { error: e.message };
      }
      return { error: reportDifyFailure(s, 'Push to Dify', e) };
    }
  },
};
