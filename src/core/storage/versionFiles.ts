import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { StorageError } from '../errors';
import { deepFreeze } from './freeze';
import { fsCauseText } from '../util/fsCause';
import { isNotRegular, readRegularTextSync } from '../util/safeRead';
import type { PromptIndex } from './promptIndex';
import { SCHEMA_VERSION, VERSION_RE, versionFileSchema, type IndexEntry, type VersionFile } from './schema';
import type { PromptVersion, VersionStatus } from './types';

const STATUSES: ReadonlySet<unknown> = new Set(['baseline', 'proposed', 'accepted', 'rejected']);
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | undefined)?.code;
}

/** Index entry of a valid version. */
export function entryOf(v: PromptVersion): IndexEntry {
  const score = v.analysis?.overall ?? v.optimization?.after?.overall;
  return {
    op: 'add',
    v: v.version,
    p: v.parentVersion,
    s: v.status,
    o: typeof score === 'number' ? score : null,
    h: v.textSha256.slice(0, 16),
    ...(v.restoredFrom ? { r: v.restoredFrom } : {}),
  };
}

/**
 * Reading and checking version files, and what happens to bad ones (the quarantine).
 *
 * A bad file is moved to `.optimizer/quarantine/` and reported once. Where it cannot be moved (a
 * read-only store, a read-only disk), it is remembered by its size and mtime and skipped by every
 * later read and index rebuild until it changes, so a store never reads it in a loop.
 */
export class VersionFiles {
  /** file → `size:mtime` of bad files left in place. */
  private readonly bad = new Map<string, string>();
  /** Files reported corrupt (so `get` can say "quarantined" rather than "not found"). */
  private readonly reported = new Set<string>();

  constructor(
    private readonly versionsDir: string,
    private readonly quarantineDir: string,
    private readonly readOnly: boolean,
    private readonly warnOnce: (key: string, msg: string) => void,
  ) {}

  /** True when `file` was found bad and is still the same file (size and mtime). */
  isKnownBad(file: string): boolean {
    const sig = this.bad.get(file);
    if (sig === undefined) return false;
    const st = statQuiet(file);
    if (st && `${st.size}:${st.mtimeMs}` === sig) return true;
    this.bad.delete(file);
    return false;
  }

  /** Whether any bad file is remembered (left in place) now. */
  hasKnownBad(): boolean {
    return this.bad.size > 0;
  }

  /** True when `file` was reported corrupt during this store's life. */
  wasReported(file: string): boolean {
    return this.reported.has(file);
  }

  /** Reads and validates a version file; quarantines it and returns undefined when corrupt. */
  read(idx: PromptIndex, version: string, file: string): PromptVersion | undefined {
    if (this.isKnownBad(file)) return undefined;
    let raw: string;
    try {
      // Only a regular file is read (a FIFO would block forever, a link could lead anywhere).
      raw = readRegularTextSync(file, { noFollow: true });
    } catch (e) {
      if (errCode(e) === 'ENOENT') return undefined;
      if (errCode(e) === 'EISDIR') {
        this.quarantine(file, 'a folder stands where the version file should be');
        return undefined;
      }
      if (isNotRegular(e)) {
        this.quarantine(file, e instanceof Error && errCode(e) === 'ENOTREG' ? e.message : 'a symbolic link stands where the version file should be');
        return undefined;
      }
      throw new StorageError('STORAGE_IO', `Could not read ${file}: ${fsCauseText(e)}`, { promptId: idx.promptId }, e);
    }
    let problem: string | undefined;
    let data: VersionFile | undefined;
    try {
      const r = versionFileSchema.safeParse(JSON.parse(raw));
      if (!r.success) problem = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).slice(0, 3).join('; ');
      else data = r.data;
    } catch (e) {
      problem = `not valid JSON (${e instanceof Error ? e.message : String(e)})`;
    }
    if (data && (data.workflow !== idx.workflow || data.promptId !== idx.promptId || data.version !== version)) {
      problem = `it names ${data.workflow} / ${data.promptId} / ${data.version}, not the place it is stored at`;
    }
    if (data && data.textSha256 !== sha256(data.text)) problem = 'textSha256 does not match the text';
    if (problem || !data) {
      this.quarantine(file, problem ?? 'invalid');
      return undefined;
    }
    return deepFreeze(data as PromptVersion);
  }

  /**
   * Index entry of a version file from a light read: JSON.parse and a check of the fields the
   * index keeps (about 5x cheaper than the full check, which matters when rebuilding 10,000
   * prompts). The full zod validation and hash check still run when the version itself is read
   * (`read`); a file that fails them then is quarantined (or remembered as bad) and dropped.
   * Undefined = not plainly valid (or unreadable): the caller falls back to the full check.
   */
  lightEntry(idx: PromptIndex, version: string, file: string): IndexEntry | undefined {
    let d: Record<string, unknown>;
    try {
      d = JSON.parse(readRegularTextSync(file, { noFollow: true })) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (!d || typeof d !== 'object') return undefined;
    const p = d.parentVersion;
    const r = d.restoredFrom;
    const sha = d.textSha256;
    if (
      d.schemaVersion !== SCHEMA_VERSION ||
      d.version !== version ||
      d.workflow !== idx.workflow ||
      d.promptId !== idx.promptId ||
      !STATUSES.has(d.status) ||
      typeof d.text !== 'string' ||
      typeof sha !== 'string' ||
      !SHA256_HEX.test(sha) ||
      !(p === null || (typeof p === 'string' && VERSION_RE.test(p))) ||
      !(r === undefined || (typeof r === 'string' && VERSION_RE.test(r)))
    ) {
      return undefined;
    }
    const a = d.analysis as { overall?: unknown } | undefined;
    const o = d.optimization as { after?: { overall?: unknown } } | undefined;
    const score = a?.overall ?? o?.after?.overall;
    if (score !== undefined && !(typeof score === 'number' && Number.isFinite(score))) return undefined;
    return {
      op: 'add',
      v: version,
      p: p as string | null,
      s: d.status as VersionStatus,
      o: typeof score === 'number' ? score : null,
      h: sha.slice(0, 16),
      ...(r ? { r: r as string } : {}),
    };
  }

  /** Index entry for a rebuild: light read, else the full check; undefined for a bad (or known bad) file. */
  entry(idx: PromptIndex, version: string, file: string): IndexEntry | undefined {
    if (this.isKnownBad(file)) return undefined;
    const light = this.lightEntry(idx, version, file);
    if (light) return light;
    const v = this.read(idx, version, file);
    return v ? entryOf(v) : undefined;
  }

  /** Moves a bad file to `.optimizer/quarantine/` (reported once); where it cannot, remembers it as bad. */
  private quarantine(file: string, problem: string): void {
    this.reported.add(file);
    if (this.readOnly) {
      this.remember(file);
      this.warnOnce(`bad:${file}`, `Skipped the corrupt version file ${file}: ${problem}. (Read-only: left in place.)`);
      return;
    }
    const rel = path.relative(this.versionsDir, file);
    const dest = path.join(this.quarantineDir, `${rel}.${Date.now()}.bad`);
    try {
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.renameSync(file, dest);
      this.warnOnce(`bad:${file}`, `Quarantined the corrupt version file ${file} (${problem}); moved to ${dest}.`);
    } catch (e) {
      if (errCode(e) === 'ENOENT') return;
      this.remember(file);
      this.warnOnce(`bad:${file}`, `The version file ${file} is corrupt (${problem}) and could not be moved: ${String(e)}; it is skipped.`);
    }
  }

  private remember(file: string): void {
    const st = statQuiet(file);
    if (st) this.bad.set(file, `${st.size}:${st.mtimeMs}`);
  }
}

function statQuiet(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
