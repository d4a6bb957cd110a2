import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { StorageError } from '../errors';
import { atomicWriteFile, cleanTempLeftovers, writeTargetOf } from '../util/atomicWrite';
import { workflowMaxBytes } from '../package/index';
import { workflowContentOf, type WorkflowContent } from './workflowFile';
import { readRegularFile } from '../util/safeRead';
import { acquireLockFile, LockTimeoutError } from '../util/lockFile';
import { fsIoError } from '../util/fsError';

/**
 * Every writer of a workflow file (`promptopt set`, `apply`, `rollback`, `optimize --write`) goes
 * through {@link updateWorkflowFile}, so concurrent writers never lose each other's edits:
 *
 * 1. A per-file lock (`util/lockFile`, cross-process, beside the file as
 *    `.promptopt-<hash>.lock`) serialises the writers that use it.
 * 2. Under the lock the edit runs on the file's *current* text (read from disk), so each writer
 *    applies its change on top of the others'. The edit itself decides whether that is safe
 *    (e.g. "the prompt still holds the text I optimized") and throws a conflict when not.
 * 3. Compare-and-swap against writers that do not take the lock (an editor saving): just before
 *    the rename the file is read again; if it changed, the edit is re-applied on the new text
 *    (up to 3 times), else STORAGE_CONFLICT: nothing is written.
 *
 * The file must be valid UTF-8 (else DSL_ENCODING naming the first bad byte: rewriting would
 * replace such bytes). A symbolic link is written through to its target. Temp files of writers
 * killed mid-write are removed first. What is not guaranteed: an editor that saves between the
 * last check and the rename (microseconds) still wins; its save replaces this write.
 */

export interface UpdateFileOptions {
  /** Shown in messages (the path as the user typed it). */
  displayName: string;
  /** What the write is for, in words: "setting prompt X", "writing the optimized prompts". */
  what: string;
  lockTimeoutMs?: number;
  /** Called with the text actually read, before each edit; for tests and progress. */
  onAttempt?: (attempt: number) => void;
}

export interface UpdateFileResult {
  /** The text now in the file. */
  text: string;
  /** The text the edit was applied to. */
  before: string;
  changed: boolean;
  /** The real file written (the symlink's target when `file` is a link). */
  target: string;
}

const MAX_ATTEMPTS = 3;

/** The lock guarding `target`: a hidden file beside it, with a fixed-length name (any file name fits). */
export function fileLockPath(target: string): string {
  const h = createHash('sha1').update(path.basename(target)).digest('hex').slice(0, 16);
  return path.join(path.dirname(target), `.promptopt-${h}.lock`);
}

export function conflictError(displayName: string, what: string, detail?: string): StorageError {
  return new StorageError(
    'STORAGE_CONFLICT',
    `the file changed while ${what}${detail ? ` (${detail})` : ''}; nothing was written. Run the command again on the current file.`,
    { file: displayName },
  );
}

async function readCurrent(target: string, displayName: string): Promise<WorkflowContent> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(target, { maxBytes: workflowMaxBytes(target) });
  } catch (e) {
    throw fsIoError(e, displayName, 'read');
  }
  return workflowContentOf(bytes, target, displayName);
}

const LOCK_RECORD = /^\.promptopt-lock-(\d+)-[0-9a-f]+\.tmp$/;

/** Removes lock-record temp files (`.promptopt-lock-<pid>-<hex>.tmp`) of writers killed between writing and linking them. */
async function cleanDeadLockRecords(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = LOCK_RECORD.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    if (!alive) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (!alive) await fs.unlink(path.join(dir, name)).catch(() => undefined);
  }
}

/**
 * Applies `edit` to the current text of `file` and writes the result atomically, under the
 * file's lock and with a compare-and-swap; see the module comment. `edit` returns the new text
 * (the same text: nothing to write) and may throw (e.g. a conflict) to write nothing.
 */
export async function updateWorkflowFile(file: string, edit: (current: string) => string, opts: UpdateFileOptions): Promise<UpdateFileResult> {
  try {
    return await updateLocked(file, edit, opts);
  } catch (e) {
    // A system error anywhere (lock, read, write): typed, naming the file and the cause.
    throw fsIoError(e, opts.displayName, 'write');
  }
}

async function updateLocked(file: string, edit: (current: string) => string, opts: UpdateFileOptions): Promise<UpdateFileResult> {
  const target = await writeTargetOf(file);
  const dir = path.dirname(target);
  await cleanTempLeftovers(target);
  await cleanDeadLockRecords(dir);
  let lock;
  try {
    lock = await acquireLockFile(fileLockPath(target), {
      timeoutMs: opts.lockTimeoutMs ?? 30_000,
      staleMs: 120_000,
      tmpDir: dir,
      tmpPrefix: '.promptopt-lock-',
      extra: { file: path.basename(target) },
    });
  } catch (e) {
    if (e instanceof LockTimeoutError) {
      throw new StorageError('STORAGE_LOCK_TIMEOUT', `another process is writing this file: ${e.message}`, { file: opts.displayName });
    }
    throw e;
  }
  try {
    for (let attempt = 1; ; attempt++) {
      opts.onAttempt?.(attempt);
      const cur = await readCurrent(target, opts.displayName);
      const out = edit(cur.text);
      if (out === cur.text) return { text: cur.text, before: cur.text, changed: false, target };
      // Compare-and-swap: the bytes must still be those the edit saw (a writer without the lock
      // may have saved meanwhile); then the rename publishes the new text whole.
      const again = await readRegularFile(target, { maxBytes: workflowMaxBytes(target) }).catch(() => undefined);
      if (!again || !again.equals(cur.bytes)) {
        if (attempt >= MAX_ATTEMPTS) throw conflictError(opts.displayName, opts.what, 'it kept changing on disk');
        continue;
      }
      await atomicWriteFile(target, cur.encode(out), { cleanLeftovers: false, displayName: opts.displayName });
      return { text: out, before: cur.text, changed: true, target };
    }
  } finally {
    lock.release();
  }
}
