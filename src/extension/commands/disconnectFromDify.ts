import * as vscode from 'vscode';
import { signOut } from '../../core/dify';
import { CancelledError } from '../../core/errors';
import { Commands } from '../constants';
import { difySessions } from '../services/difySessions';
import type { CommandDef, Services } from '../services/types';

export interface DisconnectFromDifyResult {
  server?: string;
  /** Whether the server ended the sign-in too. */
  revoked?: boolean;
  /** Why the server could not be told (the sign-in is forgotten here anyway). */
  serverError?: string;
  refused?: string;
}

/**
 * Disconnect from Dify: the server ends the sign-in (its tokens stop working there) and the
 * tokens are deleted from SecretStorage — here always, also when the server cannot be reached.
 * Argument `{server}`; otherwise the only sign-in, or a quick pick of them. Allowed in Restricted
 * Mode too: it only removes what Connect stored, on the server the user chose then.
 */
export const disconnectFromDify: CommandDef = {
  id: Commands.disconnectFromDify,
  async run(s: Services, arg?: unknown): Promise<DisconnectFromDifyResult> {
    const a = (arg && typeof arg === 'object' ? arg : {}) as { server?: string };
    const store = difySessions(s.context, s.log);
    if (!a.server && !(await store.list()).length) {
      const msg = 'Not connected to any Dify server.';
      void vscode.window.showInformationMessage(msg);
      return { refused: msg };
    }
    let server: string | undefined;
    try {
      server = await store.pick(a.server, 'Disconnect from Dify');
    } catch (e) {
      if (e instanceof CancelledError) return {};
      throw e;
    }
    if (!server) return {};
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: `Signing out of ${server}` }, () => signOut(store, server));
    if (!r.revoked && r.serverError === 'not signed in here') {
      const msg = `Not connected to ${r.server}.`;
      void vscode.window.showInformationMessage(msg);
      return { refused: msg };
    }
    if (r.revoked) {
      s.log.info(`Disconnected from Dify at ${r.server} (the server ended the sign-in)`);
      void vscode.window.showInformationMessage(`Disconnected from ${r.server}.`);
    } else {
      s.log.warn(`Disconnected from Dify at ${r.server} here; the server could not be told: ${r.serverError}`);
      void vscode.window.showWarningMessage(`Disconnected from ${r.server} on this machine. The server could not be told (${r.serverError}), so the sign-in stays valid there until it expires.`);
    }
    return { server: r.server, revoked: r.revoked, serverError: r.serverError };
  },
};
