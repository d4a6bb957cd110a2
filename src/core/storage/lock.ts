import * as z from 'zod';
import { StorageError } from '../errors';
import { LockTimeoutError, acquireLockFile, isBreakable, readLockRecord } from '../util/lockFile';

const lockInfoSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  time: z.number(),
  token: z.string(),
  workflow: z.string(),
  promptId: z.string(),
});

/** Content of a lock file: who holds it, since when, and for which prompt (so a recoverer can repair it). */
export type LockInfo = z.infer<typeof lockInfoSchema>;

export interface LockOptions {
  timeoutMs: number;
  /** Age after which a lock from another host is stale (a live process on this host never loses its lock). */
  staleMs: number;
  onWarning: (msg: string) => void;
}

/** A held lock. `recovered` is true when it was taken over from a dead owner. */
export interface HeldLock {
  readonly recovered: boolean;
  readonly previousOwner?: LockInfo;
  release(): void;
}

/** Reads a prompt lock file; undefined when missing or unreadable. */
export function readLockInfo(file: string): LockInfo | undefined {
  const r = lockInfoSchema.safeParse(readLockRecord(file));
  return r.success ? r.data : undefined;
}

/**
 * True when nobody can release the lock any more: its owner is dead (same host), it names this
 * process but is not held by it, it comes from another host and is older than `staleMs`, or it
 * is unreadable and older than 2 s. See `util/lockFile`.
 */
export function isStale(info: LockInfo | undefined, fileMtimeMs: number, staleMs: number): boolean {
  return isBreakable(info, fileMtimeMs, staleMs);
}

/**
 * The per-prompt lock of the version store: `util/lockFile` (atomic link of a complete record;
 * only a dead owner's lock is broken, under a claim one breaker holds, so a live lock is never
 * lost) with the prompt named in the record, so a store opening later can repair the prompt a
 * dead writer left.
 */
export async function acquireLock(
  lockFile: string,
  tmpDir: string,
  owner: { workflow: string; promptId: string },
  opts: LockOptions,
): Promise<HeldLock> {
  try {
    const held = await acquireLockFile(lockFile, {
      timeoutMs: opts.timeoutMs,
      staleMs: opts.staleMs,
      tmpDir,
      extra: { workflow: owner.workflow, promptId: owner.promptId },
    });
    const prev = lockInfoSchema.safeParse(held.previousOwner);
    return {
      recovered: held.recovered,
      previousOwner: prev.success ? prev.data : undefined,
      release: () => {
        if (!held.release()) {
          opts.onWarning(`The lock ${lockFile} was no longer held by this process (pid ${process.pid}) when it released it; another host may have taken it over as stale.`);
        }
      },
    };
  } catch (e) {
    if (e instanceof LockTimeoutError) {
      throw new StorageError('STORAGE_LOCK_TIMEOUT', e.message, { file: lockFile, promptId: owner.promptId });
    }
    throw e;
  }
}
