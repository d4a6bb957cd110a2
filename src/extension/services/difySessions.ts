import * as vscode from 'vscode';
import { DifyClient, normalizeServer, secretsOf, type CredentialStore, type DifySession } from '../../core/dify';
import { CancelledError, DifyError } from '../../core/errors';
import { SECRET_DIFY_SESSIONS } from '../constants';
import type { Logger } from './logger';

/**
 * Dify sign-ins in VS Code SecretStorage (one JSON entry, sessions by server): never in
 * settings, the workspace or the log. Every token read or stored is registered with the log's
 * redactor. The server URL always comes from the user (the input box or a command argument),
 * never from a workspace setting.
 */
export class SecretDifySessions implements CredentialStore {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly log: Logger,
  ) {}

  private async all(): Promise<Record<string, DifySession>> {
    const raw = await this.secrets.get(SECRET_DIFY_SESSIONS);
    if (!raw) return {};
    try {
      const parsed = JSON.parse(raw) as Record<string, DifySession>;
      for (const s of Object.values(parsed)) for (const t of secretsOf(s)) this.log.addSecret(t);
      return parsed;
    } catch {
      return {};
    }
  }

  async get(server: string): Promise<DifySession | undefined> {
    return (await this.all())[normalizeServer(server)];
  }

  async set(session: DifySession): Promise<void> {
    for (const t of secretsOf(session)) this.log.addSecret(t);
    const all = await this.all();
    all[normalizeServer(session.server)] = session;
    await this.secrets.store(SECRET_DIFY_SESSIONS, JSON.stringify(all));
  }

  async delete(server: string): Promise<void> {
    const all = await this.all();
    delete all[normalizeServer(server)];
    await this.secrets.store(SECRET_DIFY_SESSIONS, JSON.stringify(all));
  }

  async list(): Promise<string[]> {
    return Object.keys(await this.all());
  }

  /**
   * `server` normalised, else the only signed-in server, else the one the user picks of several
   * (CancelledError when the pick is dismissed); undefined when none is signed in.
   */
  async pick(server: string | undefined, title: string): Promise<string | undefined> {
    if (server) return normalizeServer(server);
    const servers = await this.list();
    if (servers.length <= 1) return servers[0];
    const want = await vscode.window.showQuickPick(servers, { title, placeHolder: 'You are connected to several Dify servers', ignoreFocusOut: true });
    if (!want) throw new CancelledError();
    return want;
  }

  /** A client for `server` (or the only signed-in one, or the one picked of several); refreshed tokens are stored back. */
  async client(server?: string): Promise<DifyClient> {
    const want = await this.pick(server, 'Which Dify?');
    if (!want) throw new DifyError('DIFY_AUTH', 'Not connected to Dify. Run "Prompt Optimizer: Connect to Dify…" first.');
    const session = await this.get(want);
    if (!session) throw new DifyError('DIFY_AUTH', `Not connected to ${want}. Run "Prompt Optimizer: Connect to Dify…" first.`);
    return new DifyClient(session, { onSessionChange: (s) => this.set(s) });
  }
}

/** The store of this window (built on demand from the extension's SecretStorage). */
export function difySessions(context: vscode.ExtensionContext, log: Logger): SecretDifySessions {
  return new SecretDifySessions(context.secrets, log);
}

/** Restricted Mode: no sign-in, pull or push in an untrusted workspace. Returns the refusal, shown once. */
export function refuseUntrusted(what: string): string | undefined {
  if (vscode.workspace.isTrusted) return undefined;
  const msg = `Restricted Mode: ${what} talks to a Dify server and writes into the workspace, so it is off in an untrusted workspace. Trust the workspace first.`;
  void vscode.window.showWarningMessage(msg);
  return msg;
}
