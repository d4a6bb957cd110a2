import * as os from 'node:os';
import * as vscode from 'vscode';
import { loginWithDeviceFlow, loginWithPassword, normalizeServer, type DifySession } from '../../core/dify';
import { CancelledError } from '../../core/errors';
import { Commands } from '../constants';
import { difySessions, refuseUntrusted } from '../services/difySessions';
import type { CommandDef, Services } from '../services/types';
import { reportDifyFailure } from './pullFromDify';

/** Arguments for scripted use (tests, other commands); every field missing is asked for. */
export interface ConnectToDifyArgs {
  server?: string;
  method?: 'password' | 'device';
  email?: string;
  password?: string;
  clientId?: string;
  workspaceId?: string;
}

export interface ConnectToDifyResult {
  server?: string;
  kind?: DifySession['kind'];
  account?: string;
  refused?: string;
  error?: string;
}

/**
 * Connect to Dify…: signs in to a Dify server (self-hosted or Dify Cloud) with email and
 * password (console sign-in) or the OAuth device flow of /openapi/v1, and keeps the tokens in
 * SecretStorage. The password is never stored; the URL comes from the user, never a setting.
 */
export const connectToDify: CommandDef = {
  id: Commands.connectToDify,
  async run(s: Services, arg?: unknown): Promise<ConnectToDifyResult> {
    const refused = refuseUntrusted('Connect to Dify');
    if (refused) return { refused };
    const a = (arg && typeof arg === 'object' ? arg : {}) as ConnectToDifyArgs;
    const rawUrl =
      a.server ??
      (await vscode.window.showInputBox({
        title: 'Connect to Dify: server',
        prompt: 'The address of your Dify (e.g. https://cloud.dify.ai or http://localhost). It is kept with the sign-in in SecretStorage, not in a setting.',
        placeHolder: 'https://cloud.dify.ai',
        ignoreFocusOut: true,
        validateInput: (v) => {
          try {
            normalizeServer(v);
            return undefined;
          } catch (e) {
            return (e as Error).message;
          }
        },
      }));
    if (!rawUrl) return {};
    let server: string;
    try {
      server = normalizeServer(rawUrl);
    } catch (e) {
      void vscode.window.showErrorMessage((e as Error).message);
      return { error: (e as Error).message };
    }
    const method =
      a.method ??
      (
        await vscode.window.showQuickPick(
          [
            { label: 'Email and password', description: 'console sign-in', value: 'password' as const },
            { label: 'Sign in in the browser', description: 'OAuth device flow, where the server enables it', value: 'device' as const },
          ],
          { title: `Connect to ${server}`, ignoreFocusOut: true },
        )
      )?.value;
    if (!method) return {};
    const store = difySessions(s.context, s.log);
    try {
      let session: DifySession;
      if (method === 'device') {
        const ac = new AbortController();
        session = await vscode.window.withProgress(
          { location: vscode.ProgressLocation.Notification, title: `Signing in to ${server}`, cancellable: true },
          (_p, token) => {
            token.onCancellationRequested(() => ac.abort());
            return loginWithDeviceFlow({
              server,
              clientId: a.clientId ?? 'difyctl',
              deviceLabel: `VS Code on ${os.hostname()}`,
              workspaceId: a.workspaceId,
              signal: ac.signal,
              onCode: (c) => {
                void vscode.window.showInformationMessage(`Open ${c.verification_uri} and enter the code ${c.user_code}.`, 'Open Browser').then((pick) => {
                  if (pick) void vscode.env.openExternal(vscode.Uri.parse(c.verification_uri));
                });
              },
            });
          },
        );
      } else {
        const email = a.email ?? (await vscode.window.showInputBox({ title: `Connect to ${server}: email`, ignoreFocusOut: true }));
        if (!email) return {};
        const password = a.password ?? (await vscode.window.showInputBox({ title: `Connect to ${server}: password for ${email}`, prompt: 'Used once to sign in; never stored.', password: true, ignoreFocusOut: true }));
        if (!password) return {};
        s.log.addSecret(password);
        session = await loginWithPassword({ server, email: email.trim(), password });
      }
      await store.set(session);
      s.log.info(`Connected to Dify at ${server}${session.account ? ` as ${session.account}` : ''} (${session.kind})`);
      void vscode.window.showInformationMessage(`Connected to Dify at ${server}${session.account ? ` as ${session.account}` : ''}.`);
      return { server, kind: session.kind, account: session.account };
    } catch (e) {
      if (e instanceof CancelledError) return {};
      return { error: reportDifyFailure(s, 'Connect to Dify', e) };
    }
  },
};
