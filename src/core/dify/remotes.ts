import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { StorageError } from '../errors';
import { optimizerDir, workflowKey } from '../storage';
import { atomicWriteFile } from '../util/atomicWrite';
import { readRegularFile, readRegularText } from '../util/safeRead';

/**
 * `.optimizer/remotes.json`: where each pulled file came from — server URL, app id, app mode and
 * the sha256 of what Dify held — and the base texts the conflict check compares with
 * (`.optimizer/dify-base/<sha256>`). Exports are pulled with `include_secret=false`, so neither
 * holds a secret; no token or password is ever written here.
 */
export interface RemoteRecord {
  server: string;
  appId: string;
  appMode: string;
  appName?: string;
  /** 'yaml' or 'ifpkg': the format of the file in the workspace. */
  format: 'yaml' | 'ifpkg';
  /** sha256 of Dify's export of the draft at the last pull or push: the base of the next push's conflict check. */
  baseSha256: string;
  /** sha256 of the file as last pulled or pushed from here. */
  localSha256: string;
  /** sha256 of what the last push sent (absent before a push). */
  pushedSha256?: string;
  pulledAt?: string;
  pushedAt?: string;
}

interface RemotesFile {
  version: 1;
  /** Keyed by the file's path relative to the workspace root, `/`-separated. */
  files: Record<string, RemoteRecord>;
}

export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).digest('hex');
}

export function remotesFile(root: string): string {
  return path.join(optimizerDir(root), 'remotes.json');
}

function baseFile(root: string, sha: string): string {
  return path.join(optimizerDir(root), 'dify-base', sha);
}

async function readRemotes(root: string): Promise<RemotesFile> {
  const file = remotesFile(root);
  let text: string;
  try {
    text = await readRegularText(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, files: {} };
    throw new StorageError('STORAGE_IO', `Cannot read ${file}: ${(e as Error).message}`, { file }, e);
  }
  try {
    const parsed = JSON.parse(text) as RemotesFile;
    if (!parsed || typeof parsed.files !== 'object') throw new Error('no files');
    return parsed;
  } catch (e) {
    throw new StorageError('STORAGE_CORRUPT', `${file} is not valid JSON of remotes; fix or delete it (pull again to recreate it).`, { file }, e);
  }
}

export async function getRemote(root: string, absFile: string): Promise<RemoteRecord | undefined> {
  return (await readRemotes(root)).files[workflowKey(root, absFile)];
}

/** Records (atomically) the origin of `absFile`; keeps the base text for later three-way diffs. */
export async function putRemote(root: string, absFile: string, rec: RemoteRecord, baseBytes?: Uint8Array): Promise<void> {
  const dir = optimizerDir(root);
  await fs.mkdir(dir, { recursive: true });
  if (baseBytes) {
    const b = baseFile(root, rec.baseSha256);
    await fs.mkdir(path.dirname(b), { recursive: true });
    await atomicWriteFile(b, baseBytes);
  }
  const data = await readRemotes(root);
  data.files[workflowKey(root, absFile)] = rec;
  await atomicWriteFile(remotesFile(root), `${JSON.stringify(data, null, 2)}\n`);
}

/** The base text recorded under `sha`, when kept. */
export async function readBase(root: string, sha: string): Promise<Uint8Array | undefined> {
  try {
    return new Uint8Array(await readRegularFile(baseFile(root, sha)));
  } catch {
    return undefined;
  }
}
