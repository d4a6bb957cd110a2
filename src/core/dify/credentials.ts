import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StorageError } from '../errors';
import { atomicWriteFile } from '../util/atomicWrite';
import { normalizeServer } from './http';
import type { CredentialStore, DifySession } from './types';

/**
 * The CLI's credential store: one JSON file readable by its owner only (0600, in a 0700
 * folder) under the user's config directory: `$XDG_CONFIG_HOME/promptopt/dify-credentials.json`,
 * else `~/.config/promptopt/…`. Never under the workspace. Passwords are never stored, only
 * the tokens the server gave.
 */
export function defaultCredentialFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PROMPTOPT_DIFY_CREDENTIALS) return path.resolve(env.PROMPTOPT_DIFY_CREDENTIALS);
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'promptopt', 'dify-credentials.json');
}

interface FileShape {
  version: 1;
  sessions: Record<string, DifySession>;
}

export class FileCredentialStore implements CredentialStore {
  constructor(readonly file: string = defaultCredentialFile()) {}

  private async read(): Promise<FileShape> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, sessions: {} };
      throw new StorageError('STORAGE_IO', `Cannot read the Dify credentials file ${this.file}: ${(e as Error).message}`, { file: this.file }, e);
    }
    try {
      const parsed = JSON.parse(text) as FileShape;
      if (!parsed || typeof parsed.sessions !== 'object') throw new Error('no sessions');
      return parsed;
    } catch (e) {
      throw new StorageError('STORAGE_CORRUPT', `The Dify credentials file ${this.file} is not valid; delete it and sign in again.`, { file: this.file }, e);
    }
  }

  private async write(data: FileShape): Promise<void> {
    const dir = path.dirname(this.file);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await atomicWriteFile(this.file, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
    // An existing file keeps its mode through atomicWriteFile: make sure it is the owner's only.
    await fs.chmod(this.file, 0o600).catch(() => undefined);
  }

  async get(server: string): Promise<DifySession | undefined> {
    return (await this.read()).sessions[normalizeServer(server)];
  }

  async set(session: DifySession): Promise<void> {
    const data = await this.read();
    data.sessions[normalizeServer(session.server)] = session;
    await this.write(data);
  }

  async delete(server: string): Promise<void> {
    const data = await this.read();
    const key = normalizeServer(server);
    if (!(key in data.sessions)) return;
    delete data.sessions[key];
    await this.write(data);
  }

  async list(): Promise<string[]> {
    return Object.keys((await this.read()).sessions);
  }
}

/** Every secret a session holds (to register with a log redactor). */
export function secretsOf(s: DifySession | undefined): string[] {
  if (!s) return [];
  const out = [...Object.values(s.cookies ?? {})];
  if (s.bearer) out.push(s.bearer);
  if (s.refreshToken) out.push(s.refreshToken);
  return out.filter((v) => v.length >= 6);
}
