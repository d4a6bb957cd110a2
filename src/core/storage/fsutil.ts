import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { pidAlive } from '../util/pid';

export { pidAlive };

const fsyncAsync = promisify(fs.fsync);

/**
 * fsync `fd`. `blocking`: call fsync(2) on this thread. On a busy machine a thread-pool round
 * trip costs two wake-ups (worker, then event loop), often more than the fsync itself
 * (measured: ~1-2 ms vs ~0.1-0.2 ms), so the store blocks by default; the event loop then waits
 * for the device (well under a millisecond on an SSD). Pass false on slow or network disks.
 */
async function fsyncFd(fd: number, blocking: boolean): Promise<void> {
  if (blocking) fs.fsyncSync(fd);
  else await fsyncAsync(fd);
}

/**
 * Small-file I/O for the version store.
 *
 * Why not `util/atomicWrite` as is: the store writes small files (~1–10 KB) on a hot path, and
 * each `fs.promises` call is a thread-pool round trip (~20–50 µs). Here the cheap syscalls (open,
 * write, link, close) run synchronously (microseconds, never waiting for the disk) and only the
 * fsyncs, which wait for the device, run on the thread pool so the event loop stays free. The
 * sequence is the same (temp file, fsync, publish, fsync directory); publishing a *new* version
 * uses link(2), which, unlike rename, refuses to replace an existing file, so a number can never
 * be silently reused even if two writers ever raced.
 */

export const HOST = os.hostname();

let uniqueCounter = 0;
const uniqueSeed = randomBytes(4).toString('hex');

/**
 * A hex string unique on this host among live and dead processes' temp names: a per-process
 * random seed, a counter and the time (randomBytes per call costs ~40 µs on a busy machine, a
 * measurable share of a save).
 */
export function uniqueSuffix(): string {
  return `${uniqueSeed}${Date.now().toString(16)}${(uniqueCounter++).toString(16).padStart(4, '0')}`;
}

/** Temp files are `<pid>-<unique hex>.tmp` inside the store's tmp dir, so leftovers can be attributed. */
export function tempName(tmpDir: string): string {
  return path.join(tmpDir, `${process.pid}-${uniqueSuffix()}.tmp`);
}

export function pidOfTempName(name: string): number | undefined {
  const m = /^(\d+)-[0-9a-f]+\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Temp name for a file about to be published as `file`, in the same directory:
 * `.<name>.tmp-<pid>-<random>` (hidden; removed when the prompt's index is rebuilt, which always
 * follows a writer's crash because the crash leaves its lock behind). Keeping the temp file next
 * to its destination means a save dirties one directory only, the one it fsyncs anyway.
 */
export function siblingTempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${uniqueSuffix()}`);
}

/** Writes `data` to a fresh temp file (in `tmpDir`, or at the path `tmpFile`) and fsyncs it (when durable). Returns the temp path. */
export async function writeTemp(tmpDir: string, data: string, durable: boolean, tmpFile?: string, blocking = false): Promise<string> {
  const tmp = tmpFile ?? tempName(tmpDir);
  const fd = fs.openSync(tmp, 'wx', 0o644);
  try {
    fs.writeSync(fd, data);
    if (durable) await fsyncFd(fd, blocking);
  } catch (e) {
    fs.closeSync(fd);
    rmQuiet(tmp);
    throw e;
  }
  fs.closeSync(fd);
  return tmp;
}

/** Publishes `tmp` as `file` only if `file` does not exist. Returns false (and removes tmp) if it does. */
export function publishNew(tmp: string, file: string): boolean {
  try {
    fs.linkSync(tmp, file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      rmQuiet(tmp);
      return false;
    }
    if ((e as NodeJS.ErrnoException).code === 'EPERM' || (e as NodeJS.ErrnoException).code === 'ENOTSUP') {
      // File systems without hard links: fall back to an existence check then rename (we hold the lock).
      if (fs.existsSync(file)) {
        rmQuiet(tmp);
        return false;
      }
      fs.renameSync(tmp, file);
      return true;
    }
    rmQuiet(tmp);
    throw e;
  }
  rmQuiet(tmp);
  return true;
}

/** Replaces `file` by `tmp` atomically. */
export function publishReplace(tmp: string, file: string): void {
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    rmQuiet(tmp);
    throw e;
  }
}

/** fsync a directory so a create/rename/unlink inside it is durable. No-op where refused (Windows). */
export async function fsyncDir(dir: string, blocking = false): Promise<void> {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    await fsyncFd(fd, blocking);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function rmQuiet(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    /* already gone */
  }
}

/** Stats of `p`; undefined when it is missing (or behind a loop of symbolic links). */
export function statOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw e;
  }
}

/**
 * Names in `dir`; empty when it is missing or not a folder. A loop of symbolic links (ELOOP) is
 * skipped too, and reported through `onSkip` (the caller reports it once).
 */
export function readdirOrEmpty(dir: string, onSkip?: (dir: string, why: string) => void): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    if (code === 'ELOOP') {
      onSkip?.(dir, 'a loop of symbolic links');
      return [];
    }
    throw e;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
