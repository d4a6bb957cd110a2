import * as fs from 'node:fs';
import * as path from 'node:path';
import { StorageError } from '../errors';
import { fsyncDir, publishNew, publishReplace, siblingTempName, writeTemp } from './fsutil';
import type { PromptIndex } from './promptIndex';
import { SCHEMA_VERSION, versionFileSchema, type VersionFile } from './schema';
import type { SaveVersionInput } from './types';
import { sha256 } from './versionFiles';

/** The on-disk text of a version file: pretty JSON with a final newline, readable in a diff. */
export function serializeVersion(v: VersionFile): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

/**
 * The file text of a new version `version` of `idx`, checked against the schema before it is
 * written (STORAGE_INVALID_INPUT, naming the first fields at fault, when it does not fit).
 */
export function newVersionJson(idx: PromptIndex, input: SaveVersionInput, version: string, restoredFrom?: string): string {
  const record: VersionFile = {
    schemaVersion: SCHEMA_VERSION,
    workflow: idx.workflow,
    promptId: idx.promptId,
    version,
    parentVersion: input.parentVersion ?? null,
    status: input.status,
    createdAt: new Date().toISOString(),
    text: input.text,
    textSha256: sha256(input.text),
    ...(input.analysis ? { analysis: input.analysis } : {}),
    ...(input.optimization ? { optimization: input.optimization } : {}),
    ...(restoredFrom ? { restoredFrom } : {}),
    ...(input.unproven ? { unproven: true as const } : {}),
    metadata: input.metadata ?? {},
  };
  const checked = versionFileSchema.safeParse(record);
  if (!checked.success) {
    const why = checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).slice(0, 3).join('; ');
    throw new StorageError('STORAGE_INVALID_INPUT', `The version to save is invalid: ${why}.`, { promptId: idx.promptId });
  }
  try {
    return serializeVersion(record);
  } catch (e) {
    throw new StorageError('STORAGE_INVALID_INPUT', `The version to save cannot be written as JSON: ${String(e)}.`, { promptId: idx.promptId }, e);
  }
}

/**
 * Durable writes of version files: each goes to a temp file beside its target, is published by
 * an atomic link or rename, and the directory entry is fsynced (`blockingFsync`: before the
 * promise resolves). Errors are the file system's own; the store wraps them with what it was doing.
 */
export class VersionWriter {
  private readonly knownDirs = new Set<string>();

  constructor(
    private readonly tmpDir: string,
    private readonly versionsDir: string,
    private readonly blockingFsync: boolean,
  ) {}

  /** Creates a prompt's version directory once per store; new directories are made durable up to versions/. */
  ensureDir(dir: string): Promise<void> | undefined {
    if (this.knownDirs.has(dir)) return undefined;
    const first = fs.mkdirSync(dir, { recursive: true });
    this.knownDirs.add(dir);
    if (!first) return undefined;
    // New directories: make their entries durable too, up to versions/.
    return (async () => {
      for (let d = path.dirname(dir); d.length >= this.versionsDir.length; d = path.dirname(d)) await fsyncDir(d, this.blockingFsync);
    })();
  }

  /** Writes `json` as the new file `file`; false (nothing written) when a file of that name exists already. */
  async create(file: string, json: string): Promise<boolean> {
    const tmp = await writeTemp(this.tmpDir, json, true, siblingTempName(file), this.blockingFsync);
    const published = publishNew(tmp, file);
    if (published) await fsyncDir(path.dirname(file), this.blockingFsync);
    return published;
  }

  /** Replaces the existing file `file` with `json` atomically. */
  async replace(file: string, json: string): Promise<void> {
    const tmp = await writeTemp(this.tmpDir, json, true, siblingTempName(file), this.blockingFsync);
    publishReplace(tmp, file);
    await fsyncDir(path.dirname(file), this.blockingFsync);
  }

  async remove(file: string): Promise<void> {
    fs.unlinkSync(file);
    await fsyncDir(path.dirname(file), this.blockingFsync);
  }
}
