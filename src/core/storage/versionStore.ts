import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { StorageError } from '../errors';
import { deepFreeze } from './freeze';
import { PromptLocks } from './promptLocks';
import { IndexLog } from './indexLog';
import { assertValidId } from './names';
import { StoreLayout } from './layout';
import { listPromptIds, listWorkflowKeys } from './listing';
import { PromptIndex, type IndexedVersion } from './promptIndex';
import { ReadCache } from './readCache';
import type { VersionFile } from './schema';
import { checkSaveInput, ioError, notFoundError } from './storeErrors';
import { VersionFiles, entryOf, sha256 } from './versionFiles';
import { diffVersions } from './versionDiff';
import { VersionWriter, newVersionJson, serializeVersion } from './versionWriter';
import { bumpFor, compareVersions, isVersion, nextVersion } from './semver';
import type {
  CacheStats,
  CompareResult,
  ListOptions,
  PromptVersion,
  SaveVersionInput,
  Scores,
  VersionStatus,
  VersionStoreOptions,
} from './types';

export { OPTIMIZER_GITIGNORE } from './layout';

/**
 * The version history of every prompt of a workspace, under `<workspace>/.optimizer/`.
 *
 * - `versions/<workflow>/<prompt>/<major.minor.patch>.json`: one human-readable file per version
 *   (the source of truth; commit it). Directory names come from `encodeName`.
 * - `index/<hash>.jsonl`: per-prompt index log (a cache, rebuilt from the files when missing,
 *   corrupt or stale), `locks/`, `tmp/`, `quarantine/`: local, git-ignored.
 *
 * Writes to a prompt are serialised across processes by a per-prompt lock file; numbers are
 * assigned under it. Reads go through an LRU cache of deeply frozen objects. The seams live in
 * their own modules: `layout` (paths), `promptLocks` + `lock` (serialisation, recovery at open),
 * `indexLog` (the index and its log), `versionFiles` (reading, checking, quarantine),
 * `versionWriter` (new files and durable writes), `readCache` (the LRU and its figures),
 * `listing` (workflows and prompts on disk), `versionDiff` (compare), `storeErrors` (input
 * checks and typed errors).
 */
export class VersionStore {
  readonly root: string;
  private readonly layout: StoreLayout;
  private readonly cache: ReadCache;
  private readonly files: VersionFiles;
  private readonly writer: VersionWriter;
  private readonly prompts = new Map<string, PromptIndex>();
  private readonly locks: PromptLocks;
  private readonly indexLog: IndexLog;
  private readonly warned = new Set<string>();
  private closed = false;

  private constructor(
    readonly workspaceRoot: string,
    private readonly opts: Required<Omit<VersionStoreOptions, 'onWarning'>> & { onWarning: (msg: string) => void },
  ) {
    this.layout = new StoreLayout(workspaceRoot);
    this.root = this.layout.root;
    this.locks = new PromptLocks(this.layout, { lockTimeoutMs: opts.lockTimeoutMs, staleLockMs: opts.staleLockMs, onWarning: opts.onWarning });
    this.cache = new ReadCache(opts.cacheSize);
    this.writer = new VersionWriter(this.layout.tmpDir, this.layout.versionsDir, opts.blockingFsync);
    this.files = new VersionFiles(this.layout.versionsDir, this.layout.quarantineDir, opts.readOnly, (k, m) => this.warnOnce(k, m));
    this.indexLog = new IndexLog(this.layout, this.files, { readOnly: opts.readOnly, freshnessMs: opts.freshnessMs }, {
      invalidate: (idx, v) => this.cache.delete(idx, v),
      warnOnce: (k, m) => this.warnOnce(k, m),
      locked: (idx, fn) => this.locked(idx, fn),
    });
  }

  /**
   * Opens (and unless read-only, prepares) the store of `workspaceRoot`: creates `.optimizer/`
   * with its `.gitignore`, removes temp files left by dead processes, and repairs prompts whose
   * writer died holding the lock.
   */
  static async open(workspaceRoot: string, opts: VersionStoreOptions = {}): Promise<VersionStore> {
    const store = new VersionStore(path.resolve(workspaceRoot), {
      cacheSize: opts.cacheSize ?? 1000,
      lockTimeoutMs: opts.lockTimeoutMs ?? 10_000,
      staleLockMs: opts.staleLockMs ?? 30_000,
      freshnessMs: Math.max(0, opts.freshnessMs ?? 50),
      blockingFsync: opts.blockingFsync ?? true,
      readOnly: opts.readOnly ?? false,
      onWarning: opts.onWarning ?? (() => undefined),
    });
    try {
      if (!store.opts.readOnly) {
        store.layout.prepare();
        store.locks.cleanTemps();
        await store.recoverStaleLocks();
      }
    } catch (e) {
      throw ioError(e, `Could not prepare ${store.root}`);
    }
    return store;
  }

  // ---------------------------------------------------------------- writes

  /** Saves a new version; its number is assigned under the prompt's lock (see `nextVersion`). */
  async save(input: SaveVersionInput): Promise<PromptVersion> {
    this.checkWritable();
    checkSaveInput(input);
    const idx = this.index(input.workflow, input.promptId);
    return this.locked(idx, () => this.saveLocked(idx, input));
  }

  /**
   * Saves `text` as a baseline unless a baseline with exactly this text exists; returns the
   * existing or new baseline. Call it on every run: the history only grows when the original changes.
   */
  async ensureBaseline(workflow: string, promptId: string, text: string, analysis?: Scores): Promise<PromptVersion> {
    this.checkWritable();
    const input: SaveVersionInput = { workflow, promptId, text, analysis, status: 'baseline' };
    checkSaveInput(input);
    const idx = this.index(workflow, promptId);
    const found = await this.findBaseline(idx, text, false);
    if (found) return found;
    return this.locked(idx, async () => (await this.findBaseline(idx, text, true)) ?? this.saveLocked(idx, input));
  }

  /**
   * Restores `toVersion`: saves a new 'accepted' version with its text, analysis and metadata,
   * `restoredFrom: toVersion` and the current latest as parent.
   */
  async rollback(workflow: string, promptId: string, toVersion: string): Promise<PromptVersion> {
    this.checkWritable();
    const idx = this.index(workflow, promptId);
    return this.locked(idx, async () => {
      const target = await this.getIn(idx, toVersion, true);
      const latest = idx.sorted()[0] ?? null;
      return this.saveLocked(
        idx,
        {
          workflow,
          promptId,
          text: target.text,
          analysis: target.analysis ? (structuredClone(target.analysis) as Scores) : undefined,
          parentVersion: latest,
          status: 'accepted',
          ...(target.unproven ? { unproven: true } : {}),
          metadata: { ...structuredClone(target.metadata) as Record<string, unknown>, rollback: { to: toVersion, previousLatest: latest } },
        },
        toVersion,
      );
    });
  }

  /** Accepts or rejects a proposal (rewrites its file atomically). A baseline's status cannot change. */
  async setStatus(workflow: string, promptId: string, version: string, status: VersionStatus): Promise<PromptVersion> {
    this.checkWritable();
    if (status === 'baseline') {
      throw new StorageError('STORAGE_INVALID_INPUT', `A version cannot be made a baseline after the fact (version ${version}).`, { promptId });
    }
    const idx = this.index(workflow, promptId);
    return this.locked(idx, async () => {
      const cur = await this.getIn(idx, version, true);
      if (cur.status === 'baseline') {
        throw new StorageError('STORAGE_INVALID_INPUT', `Version ${version} is the baseline; its status cannot change.`, { promptId });
      }
      if (cur.status === status) return cur;
      const next: VersionFile = { ...(structuredClone(cur) as VersionFile), status, updatedAt: new Date().toISOString() };
      const file = this.layout.versionFile(idx, version);
      try {
        await this.writer.replace(file, serializeVersion(next));
        this.indexLog.append(idx, { op: 'status', v: version, s: status });
      } catch (e) {
        throw ioError(e, `Could not update ${file}`, promptId);
      }
      const frozen = deepFreeze(next as PromptVersion);
      this.cache.set(idx, version, frozen);
      return frozen;
    });
  }

  /** Deletes one version file. Its number is not given out again while the index remembers it. */
  async delete(workflow: string, promptId: string, version: string): Promise<void> {
    this.checkWritable();
    const idx = this.index(workflow, promptId);
    await this.locked(idx, async () => {
      await this.indexLog.sync(idx, true);
      if (!idx.entries.has(version)) throw notFoundError(idx, version);
      const file = this.layout.versionFile(idx, version);
      try {
        await this.writer.remove(file);
        this.indexLog.append(idx, { op: 'del', v: version });
      } catch (e) {
        throw ioError(e, `Could not delete ${file}`, promptId);
      }
      this.cache.delete(idx, version);
    });
  }

  // ---------------------------------------------------------------- reads

  /** One version; STORAGE_NOT_FOUND when absent, STORAGE_CORRUPT (after quarantining it) when unreadable. */
  async get(workflow: string, promptId: string, version: string): Promise<PromptVersion> {
    this.checkOpen();
    const idx = this.index(workflow, promptId);
    if (performance.now() - idx.checkedAt < this.opts.freshnessMs) {
      // Checked against the log less than `freshnessMs` ago: serve from the cache without a syscall.
      const hit = this.cache.get(idx, version);
      if (hit !== undefined) return hit;
    }
    return this.getIn(idx, version, false);
  }

  /** The newest readable version, or undefined when the prompt has none. */
  async latest(workflow: string, promptId: string): Promise<PromptVersion | undefined> {
    this.checkOpen();
    const idx = this.index(workflow, promptId);
    await this.indexLog.sync(idx, false);
    for (;;) {
      const v = idx.sorted()[0];
      if (!v) return undefined;
      const got = await this.tryGet(idx, v);
      if (got) return got;
    }
  }

  /** Versions newest first, `limit` (default 50) from `offset` (default 0); unreadable ones are skipped. */
  async list(workflow: string, promptId: string, opts: ListOptions = {}): Promise<PromptVersion[]> {
    this.checkOpen();
    const offset = Math.max(0, Math.floor(opts.offset ?? 0));
    const limit = Math.max(0, Math.floor(opts.limit ?? 50));
    const idx = this.index(workflow, promptId);
    await this.indexLog.sync(idx, false);
    // Skipped versions are not read: a page costs its own files only, however deep it is. A
    // corrupt file met on the page is quarantined and dropped from the index, and the next
    // version takes its place.
    const out: PromptVersion[] = [];
    for (let i = offset; out.length < limit; i++) {
      const v = idx.sorted()[i];
      if (!v) break;
      const got = await this.tryGet(idx, v);
      if (!got) {
        i--; // the list shrank by one
        continue;
      }
      out.push(got);
    }
    return out;
  }

  /** Number of versions of a prompt (not counting files found corrupt and left in place, e.g. read-only). */
  async count(workflow: string, promptId: string): Promise<number> {
    this.checkOpen();
    const idx = this.index(workflow, promptId);
    await this.indexLog.sync(idx, false);
    let n = idx.entries.size;
    if (this.files.hasKnownBad()) for (const v of idx.entries.keys()) if (this.files.isKnownBad(this.layout.versionFile(idx, v))) n -= 1;
    return n;
  }

  /** `version` then its parent, its parent's parent, …, up to a version without (existing) parent. */
  async lineage(workflow: string, promptId: string, version: string): Promise<PromptVersion[]> {
    this.checkOpen();
    const idx = this.index(workflow, promptId);
    const out: PromptVersion[] = [await this.getIn(idx, version, false)];
    const seen = new Set([version]);
    for (let p = out[0]!.parentVersion; p && !seen.has(p) && idx.entries.has(p); ) {
      seen.add(p);
      const got = await this.tryGet(idx, p);
      if (!got) break;
      out.push(got);
      p = got.parentVersion;
    }
    return out;
  }

  /** The non-rejected version with the highest overall score (newest wins a tie); undefined if none is scored. */
  async best(workflow: string, promptId: string): Promise<PromptVersion | undefined> {
    this.checkOpen();
    const idx = this.index(workflow, promptId);
    await this.indexLog.sync(idx, false);
    for (;;) {
      let top: IndexedVersion | undefined;
      for (const e of idx.entries.values()) {
        if (e.o === null || e.s === 'rejected') continue;
        if (!top || e.o > top.o! || (e.o === top.o && compareVersions(e.v, top.v) > 0)) top = e;
      }
      if (!top) return undefined;
      const got = await this.tryGet(idx, top.v);
      if (got) return got;
    }
  }

  /** Line diff from `a` to `b` and their score deltas (b − a). */
  async compare(workflow: string, promptId: string, a: string, b: string): Promise<CompareResult> {
    const va = await this.get(workflow, promptId, a);
    const vb = await this.get(workflow, promptId, b);
    return diffVersions(promptId, a, va, b, vb);
  }

  /** Prompt ids of a workflow that have at least one version file, sorted. */
  async listPrompts(workflow: string): Promise<string[]> {
    this.checkOpen();
    return listPromptIds(this.layout.versionsDir, workflow, this.skipped);
  }

  /** Workflow keys that have stored versions, sorted. */
  async listWorkflows(): Promise<string[]> {
    this.checkOpen();
    return listWorkflowKeys(this.layout.versionsDir, this.skipped);
  }

  /** Reports a folder skipped while listing (once per folder). */
  private readonly skipped = (dir: string, why: string): void => this.warnOnce(`skip:${dir}`, `Skipped ${dir}: ${why}.`);

  /** Read-cache figures since open. */
  stats(): CacheStats {
    return this.cache.stats();
  }

  /** Waits for writes in flight, then drops caches; the store cannot be used afterwards. */
  async close(): Promise<void> {
    await this.locks.settle();
    this.closed = true;
    this.cache.clear();
    this.prompts.clear();
  }

  // ---------------------------------------------------------------- internals: index views

  private index(workflow: string, promptId: string): PromptIndex {
    const key = `${workflow.length}:${workflow}\0${promptId}`;
    let idx = this.prompts.get(key);
    if (!idx) {
      assertValidId(workflow, 'workflow');
      assertValidId(promptId, 'prompt id');
      idx = new PromptIndex(workflow, promptId);
      this.prompts.set(key, idx);
    }
    return idx;
  }

  // ---------------------------------------------------------------- internals: guards

  private checkOpen(): void {
    if (this.closed) throw new StorageError('STORAGE_CLOSED', `The version store of ${this.workspaceRoot} is closed.`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.opts.readOnly) {
      throw new StorageError('STORAGE_READ_ONLY', `The version store of ${this.workspaceRoot} is read-only (Restricted Mode); nothing is written.`);
    }
  }

  private warnOnce(key: string, msg: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.onWarning(msg);
  }

  // ---------------------------------------------------------------- internals: locking

  /** Runs `fn` holding the prompt's lock (see PromptLocks); a lock recovered from a dead writer rebuilds the index first. */
  private locked<T>(idx: PromptIndex, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(
      idx,
      () => this.checkOpen(),
      () => this.indexLog.rebuild(idx),
      fn,
    );
  }

  // ---------------------------------------------------------------- internals: files

  private async getIn(idx: PromptIndex, version: string, holding: boolean): Promise<PromptVersion> {
    if (!isVersion(version)) {
      throw new StorageError('STORAGE_INVALID_INPUT', `"${version}" is not a version number like 1.2.3.`, { promptId: idx.promptId });
    }
    if (holding || !idx.loaded || performance.now() - idx.checkedAt >= this.opts.freshnessMs) await this.indexLog.sync(idx, holding, false);
    if (!idx.entries.has(version)) {
      await this.indexLog.sync(idx, holding, true);
      if (!idx.entries.has(version)) throw notFoundError(idx, version);
    }
    const got = await this.tryGet(idx, version, holding);
    if (got) return got;
    if (!idx.entries.has(version) && !fs.existsSync(this.layout.versionFile(idx, version))) {
      const q = this.files.wasReported(this.layout.versionFile(idx, version));
      if (q) {
        throw new StorageError('STORAGE_CORRUPT', `Version ${version} of prompt ${idx.promptId} was corrupt and has been quarantined.`, {
          promptId: idx.promptId,
          file: this.layout.versionFile(idx, version),
        });
      }
    }
    throw notFoundError(idx, version);
  }

  /** Cached read of a listed version; undefined (and the index repaired) when its file is gone or corrupt. */
  private async tryGet(idx: PromptIndex, version: string, holding = false): Promise<PromptVersion | undefined> {
    const hit = this.cache.get(idx, version);
    if (hit) return hit;
    this.cache.miss();
    const v = this.files.read(idx, version, this.layout.versionFile(idx, version));
    if (v) {
      this.cache.set(idx, version, v);
      return v;
    }
    // Gone or quarantined: repair the index so lists stay consistent.
    if (holding || this.opts.readOnly) this.indexLog.rebuild(idx);
    else await this.locked(idx, async () => this.indexLog.rebuild(idx));
    idx.drop(version);
    return undefined;
  }

  private async findBaseline(idx: PromptIndex, text: string, holding: boolean): Promise<PromptVersion | undefined> {
    await this.indexLog.sync(idx, holding);
    const h = sha256(text).slice(0, 16);
    for (const v of idx.sorted()) {
      const e = idx.entries.get(v)!;
      if (e.s !== 'baseline' || e.h !== h) continue;
      const got = await this.tryGet(idx, v, holding);
      if (got && got.text === text) return got;
    }
    return undefined;
  }

  private async saveLocked(idx: PromptIndex, input: SaveVersionInput, restoredFrom?: string): Promise<PromptVersion> {
    await this.indexLog.sync(idx, true);
    const parent = input.parentVersion ?? null;
    if (parent && !idx.entries.has(parent)) throw notFoundError(idx, parent);
    const bump = input.status === 'baseline' ? 'major' : restoredFrom ? 'patch' : bumpFor(input.optimization?.improvement);
    const dir = this.layout.dirOf(idx);
    try {
      await this.writer.ensureDir(dir);
    } catch (e) {
      throw ioError(e, `Could not create ${dir}`, idx.promptId);
    }
    for (let attempt = 0; ; attempt++) {
      const version = nextVersion(idx.highest, bump);
      const json = newVersionJson(idx, input, version, restoredFrom);
      const file = path.join(dir, `${version}.json`);
      let published: boolean;
      try {
        published = await this.writer.create(file, json);
      } catch (e) {
        throw ioError(e, `Could not write ${file}`, idx.promptId);
      }
      if (!published) {
        // The file exists although the index did not know it: the index was stale. Rebuild, renumber.
        if (attempt >= 2) throw new StorageError('STORAGE_IO', `Could not find a free version number in ${dir}.`, { promptId: idx.promptId });
        this.warnOnce(`stale:${dir}:${version}`, `The index of prompt ${idx.promptId} missed version ${version}; rebuilt it from ${dir}.`);
        this.indexLog.rebuild(idx);
        continue;
      }
      // Cache what was written (as any reader will see it), never the caller's objects.
      const frozen = deepFreeze(JSON.parse(json) as PromptVersion);
      try {
        this.indexLog.append(idx, entryOf(frozen));
      } catch (e) {
        throw ioError(e, `Saved ${file} but could not update the index`, idx.promptId);
      }
      this.cache.set(idx, version, frozen);
      return frozen;
    }
  }

  // ---------------------------------------------------------------- internals: recovery at open

  /** Repairs every prompt whose lock was left by a dead writer (taking the lock over rebuilds its index). */
  private async recoverStaleLocks(): Promise<void> {
    for (const info of this.locks.staleLocks()) {
      const idx = this.index(info.workflow, info.promptId);
      await this.locked(idx, async () => undefined);
    }
  }
}
