import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { pidAlive } from './pid';
import { readRegularTextSync } from './safeRead';

/**
 * A cross-process exclusive lock held as a file, that cannot lose a live lock.
 *
 * - Acquire: write the owner record (pid, host, time, token) to a temp file and hard-link it as
 *   the lock file. link(2) is atomic and fails when the lock exists, so a lock file always holds
 *   a complete record, and a writer killed at any moment leaves no lock or one naming its dead pid.
 * - Break: only a lock whose owner cannot release it any more — a dead pid on this host, a record
 *   naming this very process that it does not hold (a dead process's pid reused), a record from
 *   another host older than `staleMs`, or an unreadable file older than 2 s — may be removed, and
 *   only by the one breaker that claims it: the claim is `<lock>.break-<hash of the record>`,
 *   made by the same atomic link. Holding the claim, the breaker reads the lock again and unlinks
 *   it only if it still holds that very record. Nobody else removes a record whose claim is held,
 *   and its owner cannot (dead), so the check and the unlink cannot be separated by a new lock:
 *   there is no rename-aside and no put-back, so no live lock is ever removed on this host.
 *   A claim left by a breaker that died is itself broken the same way.
 * - What is not guaranteed: a lock held from another host (a network file system) is broken
 *   once older than `staleMs`, whether or not that owner is still working.
 */

export const HOST = os.hostname();

export interface LockRecord {
  pid: number;
  host: string;
  time: number;
  token: string;
  [k: string]: unknown;
}

export interface LockFileOptions {
  /** Give up after this long (the error names the holder). */
  timeoutMs: number;
  /** Age after which a lock from another host is stale. Locks of live processes on this host never are. */
  staleMs: number;
  /** Extra fields written into the record (e.g. which prompt it guards). */
  extra?: Record<string, unknown>;
  /** Directory for the record's temp file; default: beside the lock. */
  tmpDir?: string;
  /** Start of the record's temp file name, `<prefix><pid>-<hex>.tmp` (default none: the store's tmp/ convention). */
  tmpPrefix?: string;
  signal?: AbortSignal;
}

export interface HeldLockFile {
  readonly token: string;
  /** True when a dead owner's lock was broken to get this one: what it guarded may need repair. */
  readonly recovered: boolean;
  readonly previousOwner?: LockRecord;
  /** Removes the lock if it is still ours; returns false (and leaves it) when it is not. */
  release(): boolean;
}

/** Thrown when the lock cannot be had within `timeoutMs`; `holder` is who holds it. */
export class LockTimeoutError extends Error {
  constructor(
    readonly lockFile: string,
    readonly holder: LockRecord | undefined,
    timeoutMs: number,
  ) {
    const who = holder ? `pid ${holder.pid} on ${holder.host} since ${new Date(holder.time).toISOString()}` : 'an unknown process';
    super(`Timed out after ${timeoutMs} ms waiting for the lock ${lockFile}, held by ${who}.`);
  }
}

/** Tokens of the locks this process holds now. */
const heldTokens = new Set<string>();
let counter = 0;
const seed = randomBytes(4).toString('hex');

function newToken(): string {
  return `${process.pid}-${seed}${Date.now().toString(16)}${(counter++).toString(16)}`;
}

function rmQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    /* gone */
  }
}

/** The record of a lock file; undefined when missing or not a record. */
export function readLockRecord(file: string): LockRecord | undefined {
  try {
    const d = JSON.parse(readRegularTextSync(file, { noFollow: true })) as Partial<LockRecord> | null;
    if (!d || typeof d.pid !== 'number' || typeof d.host !== 'string' || typeof d.time !== 'number' || typeof d.token !== 'string') return undefined;
    return d as LockRecord;
  } catch {
    return undefined;
  }
}

/** True when nobody can release this lock any more (see the module comment); `mtimeMs` is the lock file's. */
export function isBreakable(rec: LockRecord | undefined, mtimeMs: number, staleMs: number): boolean {
  const now = Date.now();
  if (!rec) return now - mtimeMs > 2000;
  if (rec.host === HOST) {
    if (rec.pid === process.pid) return !heldTokens.has(rec.token);
    return !pidAlive(rec.pid);
  }
  return now - rec.time > staleMs;
}

/** Creates `file` holding `record`, atomically and only if absent. False when it exists. */
function linkRecord(file: string, record: LockRecord, tmpDir: string, tmpPrefix: string): boolean {
  const tmp = path.join(tmpDir, `${tmpPrefix}${record.token}.tmp`);
  try {
    fs.writeFileSync(tmp, JSON.stringify(record), { flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EXDEV') {
        // No hard links here: an exclusive create of the lock itself (a crash between create and
        // write leaves an empty file, broken after 2 s as unreadable).
        try {
          fs.writeFileSync(file, JSON.stringify(record), { flag: 'wx' });
          return true;
        } catch (e2) {
          if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw e2;
        }
      }
      throw e;
    }
  } finally {
    rmQuiet(tmp);
  }
}

function claimName(lockFile: string, rec: LockRecord | undefined, st: fs.Stats): string {
  const key = rec ? `t:${rec.token}` : `i:${st.ino}:${st.mtimeMs}:${st.size}`;
  return `${lockFile}.break-${createHash('sha1').update(key).digest('hex').slice(0, 12)}`;
}

/**
 * Removes `lockFile` if it still holds the breakable record `rec` (read with stats `st`), under a
 * claim only one breaker can hold. Returns true when this call removed it.
 */
function breakLock(lockFile: string, rec: LockRecord | undefined, st: fs.Stats, staleMs: number, tmpDir: string, tmpPrefix: string, depth = 0): boolean {
  const claim = claimName(lockFile, rec, st);
  const mine: LockRecord = { pid: process.pid, host: HOST, time: Date.now(), token: newToken() };
  heldTokens.add(mine.token);
  try {
    if (!linkRecord(claim, mine, tmpDir, tmpPrefix)) {
      // Another breaker holds the claim. If it died holding it, break its claim first.
      if (depth < 3) {
        let cst: fs.Stats | undefined;
        try {
          cst = fs.statSync(claim);
        } catch {
          return false;
        }
        const holder = readLockRecord(claim);
        if (isBreakable(holder, cst.mtimeMs, staleMs)) breakLock(claim, holder, cst, staleMs, tmpDir, tmpPrefix, depth + 1);
      }
      return false;
    }
    try {
      let now: fs.Stats;
      try {
        now = fs.statSync(lockFile);
      } catch {
        return false; // released or broken meanwhile
      }
      const again = readLockRecord(lockFile);
      const same = rec ? again?.token === rec.token : !again && now.ino === st.ino && now.mtimeMs === st.mtimeMs && now.size === st.size;
      if (!same) return false;
      fs.unlinkSync(lockFile);
      return true;
    } finally {
      rmQuiet(claim);
    }
  } finally {
    heldTokens.delete(mine.token);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Takes the lock `lockFile` (creating its directory), waiting with backoff; see the module comment. */
export async function acquireLockFile(lockFile: string, opts: LockFileOptions): Promise<HeldLockFile> {
  const start = Date.now();
  const tmpDir = opts.tmpDir ?? path.dirname(lockFile);
  const tmpPrefix = opts.tmpPrefix ?? '';
  let delay = 1;
  let recovered = false;
  let previousOwner: LockRecord | undefined;
  for (;;) {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    const record: LockRecord = { ...(opts.extra ?? {}), pid: process.pid, host: HOST, time: Date.now(), token: newToken() };
    let got: boolean;
    try {
      got = linkRecord(lockFile, record, tmpDir, tmpPrefix);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      fs.mkdirSync(path.dirname(lockFile), { recursive: true });
      fs.mkdirSync(tmpDir, { recursive: true });
      continue;
    }
    if (got) {
      const token = record.token;
      heldTokens.add(token);
      let released = false;
      return {
        token,
        recovered,
        previousOwner,
        release: () => {
          if (released) return true;
          released = true;
          heldTokens.delete(token);
          const now = readLockRecord(lockFile);
          if (!now || now.token !== token) return false;
          rmQuiet(lockFile);
          return true;
        },
      };
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(lockFile);
    } catch {
      continue; // released meanwhile
    }
    const holder = readLockRecord(lockFile);
    if (isBreakable(holder, st.mtimeMs, opts.staleMs)) {
      if (breakLock(lockFile, holder, st, opts.staleMs, tmpDir, tmpPrefix)) {
        recovered = true;
        previousOwner = holder;
      }
      continue;
    }
    if (Date.now() - start > opts.timeoutMs) throw new LockTimeoutError(lockFile, holder, opts.timeoutMs);
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 8);
  }
}

/** Removes break claims in `dir` left by breakers that died (they are only ever held for microseconds). */
export function cleanDeadClaims(dir: string, staleMs: number, tmpDir = dir, tmpPrefix = ''): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!/\.break-[0-9a-f]{12}$/.test(name)) continue;
    const file = path.join(dir, name);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      continue;
    }
    const rec = readLockRecord(file);
    if (isBreakable(rec, st.mtimeMs, staleMs)) breakLock(file, rec, st, staleMs, tmpDir, tmpPrefix, 1);
  }
}

/** Breaks `file` if it is breakable now (see {@link isBreakable}), under the claim rule. True when this call removed it. */
export function breakIfStale(file: string, staleMs: number, tmpDir = path.dirname(file), tmpPrefix = ''): boolean {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return false;
  }
  const rec = readLockRecord(file);
  return isBreakable(rec, st.mtimeMs, staleMs) && breakLock(file, rec, st, staleMs, tmpDir, tmpPrefix);
}
