import * as vscode from 'vscode';
import { ContextKeys, SECRET_API_KEY } from '../constants';
import type { Logger } from './logger';

/** Where the key came from, for messages (never the key itself). */
export type KeySource = 'secret-storage' | 'environment';

/**
 * The API key: only in SecretStorage (Set API Key), or the OPENAI_API_KEY / PROMPTOPT_API_KEY
 * environment variable; never in a setting or a workspace file. Every key read is registered
 * with the logger's redactor.
 */
export class ApiKeyStore {
  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly log: Logger,
  ) {}

  async get(): Promise<{ key: string; source: KeySource } | undefined> {
    const stored = await this.secrets.get(SECRET_API_KEY);
    if (stored) {
      this.log.addSecret(stored);
      return { key: stored, source: 'secret-storage' };
    }
    const env = process.env.PROMPTOPT_API_KEY || process.env.OPENAI_API_KEY;
    if (env) {
      this.log.addSecret(env);
      return { key: env, source: 'environment' };
    }
    return undefined;
  }

  async set(key: string): Promise<void> {
    this.log.addSecret(key);
    await this.secrets.store(SECRET_API_KEY, key);
    await this.refreshContext();
  }

  async clear(): Promise<void> {
    await this.secrets.delete(SECRET_API_KEY);
    await this.refreshContext();
  }

  async refreshContext(): Promise<void> {
    await vscode.commands.executeCommand('setContext', ContextKeys.hasApiKey, !!(await this.get()));
  }
}
