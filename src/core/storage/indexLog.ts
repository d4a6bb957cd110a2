import { fsCauseText } from '../util/fsCause';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { StorageError } from '../errors';
import { publishReplace, readdirOrEmpty, rmQuiet, statOrUndefined } from './fsutil';
import type { StoreLayout } from './layout';
import { entryLine, followLog, type PromptIndex } from './promptIndex';
import type { IndexEntry } from './schema';
import { compareVersions } from './semver';
import type { VersionFiles } from './versionFiles';

export const VERSION_FILE = /^(\d+\.\d+\.\d+)\.json$/;

export interface IndexLogHooks {
  /** A cached version object of `idx` is out of date. */
  invalidate(idx: PromptIndex, version: string): void;
  warnOnce(key: string, msg: string): void;
  /** Runs `fn` holding the prompt's lock. */
  locked<T>(idx: PromptIndex, fn: () => Promise<T>): Promise<T>;
}

/**
 * Keeps each prompt's in-memory index (`PromptIndex`) true to its version files: follows the
 * index log `index/<hash>.jsonl`, notices files that arrived or vanished behind its back, and
 * rebuilds it (and rewrites the log) from the files when needed. The files are the truth; the
 * log is a cache any store can rebuild.
 */
export class IndexLog {
  constructor(
    private readonly layout: StoreLayout,
    private readonly files: VersionFiles,
    private readonly opts: { readOnly: boolean; freshnessMs: number },
    private readonly hooks: IndexLogHooks,
  ) {}

  /**
   * Brings the in-memory index of a prompt up to date: follows its log, and when the version
   * directory changed behind the log's back (git pull, a crash, a hand edit) compares and
   * rebuilds. `holding` = the caller holds the prompt's lock.
   */
  async sync(idx: PromptIndex, holding: boolean, checkDir = true): Promise<void> {
    const logFile = this.layout.logFile(idx);
    const r = followLog(idx, logFile);
    for (const v of r.kind === 'ok' ? r.stale : []) this.hooks.invalidate(idx, v);
    if (r.kind === 'corrupt') this.hooks.warnOnce(`log:${logFile}`, `The index ${logFile} of prompt ${idx.promptId} was unreadable (${r.reason}); rebuilt it from the version files.`);
    const dir = this.layout.dirOf(idx);
    let needRepair = r.kind !== 'ok';
    // The directory is compared at most every `freshnessMs` by readers (files arriving behind the
    // log's back, e.g. by git pull, are rare); writers and first loads always compare.
    if (!needRepair && (!idx.loaded || (checkDir && (holding || performance.now() - idx.dirCheckedAt >= this.opts.freshnessMs)))) {
      idx.dirCheckedAt = performance.now();
      const st = statOrUndefined(dir);
      const mtime = st ? st.mtimeMs : 0;
      if (mtime !== idx.dirMtimeMs) {
        if (!this.dirMatches(idx, dir)) needRepair = true;
        else idx.dirMtimeMs = mtime;
      }
    }
    if (r.kind === 'missing' && !fs.existsSync(dir)) {
      // A prompt without history.
      idx.clear();
      idx.loaded = true;
      idx.dirMtimeMs = 0;
      idx.checkedAt = performance.now();
      return;
    }
    if (needRepair) {
      if (holding || this.opts.readOnly) this.rebuild(idx);
      else {
        // Another process may be between publishing a file and logging it: look again holding the lock.
        await this.hooks.locked(idx, async () => this.sync(idx, true));
        return;
      }
    }
    idx.loaded = true;
    idx.checkedAt = performance.now();
  }

  /** True when the version files in `dir` are exactly the versions the index lists. */
  private dirMatches(idx: PromptIndex, dir: string): boolean {
    const names = readdirOrEmpty(dir).filter((f) => VERSION_FILE.test(f));
    if (names.length !== idx.entries.size) return false;
    for (const n of names) if (!idx.entries.has(n.slice(0, -5))) return false;
    return true;
  }

  /** Rebuilds a prompt's index from its version files (quarantining bad ones) and rewrites its log. */
  rebuild(idx: PromptIndex): void {
    const dir = this.layout.dirOf(idx);
    const highest = idx.highest;
    idx.clear();
    const entries: IndexEntry[] = [];
    for (const name of readdirOrEmpty(dir)) {
      const m = VERSION_FILE.exec(name);
      if (!m) {
        // A writer's temp file (see siblingTempName): only left by a dead writer, since we hold the lock.
        if (!this.opts.readOnly && /^\..*\.tmp-/.test(name)) rmQuiet(path.join(dir, name));
        continue;
      }
      const e = this.files.entry(idx, m[1]!, path.join(dir, name));
      if (e) entries.push(e);
    }
    entries.sort((a, b) => compareVersions(a.v, b.v));
    for (const e of entries) idx.apply(e);
    if (highest && (!idx.highest || compareVersions(highest, idx.highest) > 0)) idx.highest = highest;
    if (!this.opts.readOnly) {
      const logFile = this.layout.logFile(idx);
      const body = idx.header() + entries.map(entryLine).join('');
      try {
        const tmp = path.join(this.layout.tmpDir, `${process.pid}-${createHash('sha1').update(logFile + Math.random()).digest('hex').slice(0, 12)}.tmp`);
        fs.writeFileSync(tmp, body, { flag: 'wx' });
        publishReplace(tmp, logFile);
        const st = fs.statSync(logFile);
        idx.logIno = st.ino;
        idx.logSize = st.size;
      } catch (e) {
        throw e instanceof StorageError ? e : new StorageError('STORAGE_IO', `Could not rebuild the index ${logFile}: ${fsCauseText(e)}`, { promptId: idx.promptId }, e);
      }
    }
    const st = statOrUndefined(dir);
    idx.dirMtimeMs = st ? st.mtimeMs : 0;
    idx.loaded = true;
    idx.checkedAt = idx.dirCheckedAt = performance.now();
  }

  /** Appends to the log (the caller holds the lock and has synced, so the log ends on a full line). */
  append(idx: PromptIndex, e: IndexEntry): void {
    const logFile = this.layout.logFile(idx);
    const line = entryLine(e);
    const st = statOrUndefined(logFile);
    if (!st || st.ino !== idx.logIno || st.size !== idx.logSize) {
      // Missing or torn by a crash: rewrite it whole from the files (which already hold `e`).
      this.rebuild(idx);
      return;
    }
    fs.appendFileSync(logFile, line);
    idx.logSize += Buffer.byteLength(line);
    for (const v of [idx.apply(e)]) if (v && e.op !== 'add') this.hooks.invalidate(idx, v);
    const ds = statOrUndefined(this.layout.dirOf(idx));
    idx.dirMtimeMs = ds ? ds.mtimeMs : 0;
  }
}
