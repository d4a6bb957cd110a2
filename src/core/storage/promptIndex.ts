import * as fs from 'node:fs';
import { SCHEMA_VERSION, indexEntrySchema, indexHeaderSchema, type IndexEntry } from './schema';
import { compareVersions } from './semver';
import type { VersionStatus } from './types';

/** What the index knows of one version without reading its file. */
export interface IndexedVersion {
  v: string;
  p: string | null;
  s: VersionStatus;
  /** overall score, or null */
  o: number | null;
  /** first 16 hex of sha256(text) */
  h: string;
  r?: string;
}

/**
 * In-memory view of one prompt's index log, `index/<key>.jsonl`.
 *
 * The log is a rebuildable cache of the version files: a header line, then one line per
 * change (`add`, `status`, `del`), appended by the lock holder. Readers follow it cheaply: a
 * stat tells whether it grew (read only the new tail), was replaced (new inode: read it all) or
 * is unchanged. A trailing line without a newline is an append in progress (or torn by a crash)
 * and is not consumed yet.
 */
export class PromptIndex {
  readonly entries = new Map<string, IndexedVersion>();
  /** Highest number ever added according to the log (deleted ones included), so numbers are not reused. */
  highest: string | undefined;
  /** inode and bytes consumed of the log file; ino 0 = not read. */
  logIno = 0;
  logSize = 0;
  /** mtime of the prompt's version directory when last compared with the log. */
  dirMtimeMs = -1;
  /** Bumped whenever the view is rebuilt, so cached objects of an older view are not reused. */
  epoch = 0;
  loaded = false;
  /** performance.now() when the view was last compared with the log (see VersionStoreOptions.freshnessMs). */
  checkedAt = -Infinity;
  /** performance.now() when the version directory was last compared with the view. */
  dirCheckedAt = -Infinity;
  /** Cached paths of the prompt (set by the store). */
  dir: string | undefined;
  hash: string | undefined;
  private sortedCache: string[] | null = [];

  constructor(
    readonly workflow: string,
    readonly promptId: string,
  ) {}

  /** Live versions, newest first. */
  sorted(): string[] {
    if (!this.sortedCache) this.sortedCache = [...this.entries.keys()].sort((a, b) => compareVersions(b, a));
    return this.sortedCache;
  }

  clear(): void {
    this.entries.clear();
    this.highest = undefined;
    this.sortedCache = [];
    this.logIno = 0;
    this.logSize = 0;
    this.epoch++;
  }

  /** Applies one log entry. Returns the version whose cached object is now out of date, if any. */
  apply(e: IndexEntry): string | undefined {
    if (e.op === 'add') {
      const { op: _op, ...rest } = e;
      void _op;
      const isNewest = this.sortedCache && (this.sortedCache.length === 0 || compareVersions(e.v, this.sortedCache[0]!) > 0);
      const existed = this.entries.has(e.v);
      this.entries.set(e.v, rest);
      if (!existed && isNewest && this.sortedCache) this.sortedCache.unshift(e.v);
      else if (!existed) this.sortedCache = null;
      if (!this.highest || compareVersions(e.v, this.highest) > 0) this.highest = e.v;
      return existed ? e.v : undefined;
    }
    if (e.op === 'status') {
      const cur = this.entries.get(e.v);
      if (cur) cur.s = e.s;
      return e.v;
    }
    if (this.entries.delete(e.v)) this.sortedCache = null;
    return e.v;
  }

  /** Forgets one version (its file is gone or bad). */
  drop(v: string): void {
    if (this.entries.delete(v)) this.sortedCache = null;
  }

  /** Header line for a fresh log. */
  header(): string {
    return `${JSON.stringify({ schemaVersion: SCHEMA_VERSION, kind: 'prompt-index', workflow: this.workflow, promptId: this.promptId })}\n`;
  }
}

export type LogReadResult =
  | { kind: 'ok'; stale: string[] }
  | { kind: 'missing' }
  | { kind: 'corrupt'; reason: string };

/**
 * Brings `idx` up to date with the log at `file`. Reads only the new tail when the same file
 * grew; re-reads it all when it was replaced or shrank. Lines that fail validation make it
 * 'corrupt' (the caller rebuilds the log from the version files).
 */
export function followLog(idx: PromptIndex, file: string): LogReadResult {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw e;
  }
  // A FIFO, socket or folder where the log belongs: never opened (a FIFO would block); rebuilt.
  if (!st.isFile()) return { kind: 'corrupt', reason: 'not a regular file' };
  if (st.ino === idx.logIno && st.size === idx.logSize) return { kind: 'ok', stale: [] };
  const fresh = st.ino !== idx.logIno || st.size < idx.logSize;
  const from = fresh ? 0 : idx.logSize;
  let buf: Buffer;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    try {
      if (!fs.fstatSync(fd).isFile()) return { kind: 'corrupt', reason: 'not a regular file' };
      const len = fs.fstatSync(fd).size - from;
      buf = Buffer.alloc(Math.max(0, len));
      let off = 0;
      while (off < buf.length) {
        const n = fs.readSync(fd, buf, off, buf.length - off, from + off);
        if (n === 0) break;
        off += n;
      }
      buf = buf.subarray(0, off);
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw e;
  }
  const end = buf.lastIndexOf(0x0a) + 1; // consume whole lines only
  const text = buf.subarray(0, end).toString('utf8');
  const lines = text.split('\n');
  lines.pop();
  const stale: string[] = [];
  let i = 0;
  if (fresh) {
    idx.clear();
    const h = lines[0] === undefined ? undefined : safeJson(lines[0]);
    const hp = indexHeaderSchema.safeParse(h);
    if (!hp.success) return { kind: 'corrupt', reason: 'bad or missing header line' };
    if (hp.data.workflow !== idx.workflow || hp.data.promptId !== idx.promptId) {
      return { kind: 'corrupt', reason: 'header names another prompt' };
    }
    i = 1;
  }
  for (; i < lines.length; i++) {
    const r = indexEntrySchema.safeParse(safeJson(lines[i]!));
    if (!r.success) return { kind: 'corrupt', reason: `line ${i + 1} is not a valid entry` };
    const s = idx.apply(r.data);
    if (s) stale.push(s);
  }
  idx.logIno = st.ino;
  idx.logSize = from + end;
  return { kind: 'ok', stale };
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** Serialises an entry as one log line. */
export function entryLine(e: IndexEntry): string {
  return `${JSON.stringify(e)}\n`;
}
