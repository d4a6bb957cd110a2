import * as fs from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod';
import { StorageError } from '../errors';
import { HOST, pidAlive, rmQuiet, sleep, tempName, uniqueSuffix } from './fsutil';

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
  staleMs: number;
  onWarning: (msg: string) => void;
}

/** A held lock. `recovered` is true when it was taken over from a dead or stale owner. */
export interface HeldLock {
  readonly recovered: boolean;
  readonly previousOwner?: LockInfo;
  release(): void;
}

/** Reads a lock file; undefined when missing or unreadable. */
export function readLockInfo(file: string): LockInfo | undefined {
  try {
    const r = lockInfoSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

/** Token and pid of a lock file, parsed without the schema (hot path: every release); undefined when unreadable. */
function readLockToken(file: string): { token: string; pid: unknown } | undefined {
  try {
    const d = JSON.parse(fs.readFileSync(file, 'utf8')) as { token?: unknown; pid?: unknown } | null;
    return d && typeof d.token === 'string' ? { token: d.token, pid: d.pid } : undefined;
  } catch {
    return undefined;
  }
}

/** Tokens of the locks this process holds now (every store of the process shares it). */
const heldTokens = new Set<string>();

/**
 * True when the owner of `info` is gone (dead pid on this host), when it is this very process but
 * not a lock this process holds (a lock put back by a breaker after its owner had released it),
 * or when the lock is older than `staleMs`.
 */
export function isStale(info: LockInfo | undefined, fileMtimeMs: number, staleMs: number): boolean {
  const now = Date.now();
  if (!info) return now - fileMtimeMs > Math.min(staleMs, 2000);
  if (info.host === HOST && !pidAlive(info.pid)) return true;
  if (info.host === HOST && info.pid === process.pid && !heldTokens.has(info.token)) return true;
  return now - info.time > staleMs;
}

/**
 * Cross-process exclusive lock on one file, robust to crashes.
 *
 * Acquire = write the owner record to a temp file and hard-link it as the lock file (atomic;
 * fails if the lock exists), nothing fsynced (a lock does not need to survive a power loss). A
 * lock file found empty or unreadable (written by an older version between create and write) is
 * young for 2 s, then stale. A lock whose
 * owner pid is dead (same host) or that is older than `staleMs` is moved aside (rename, so only
 * one process wins) and the taker is told `recovered`, so it can repair what the dead owner left.
 */
export async function acquireLock(
  lockFile: string,
  tmpDir: string,
  owner: { workflow: string; promptId: string },
  opts: LockOptions,
): Promise<HeldLock> {
  const start = Date.now();
  let delay = 1;
  let recovered = false;
  let previousOwner: LockInfo | undefined;
  for (;;) {
    const info: LockInfo = {
      pid: process.pid,
      host: HOST,
      time: Date.now(),
      token: `${process.pid}-${uniqueSuffix()}`,
      workflow: owner.workflow,
      promptId: owner.promptId,
    };
    // The owner record is written to a temp file first and hard-linked as the lock: link is
    // atomic and fails if the lock exists, so a lock file always holds its owner, and a writer
    // killed at any moment leaves either no lock or one whose dead pid frees it at once (a temp
    // file left behind names its dead pid and is removed when a store opens).
    let got = false;
    const record = tempName(tmpDir);
    try {
      fs.writeFileSync(record, JSON.stringify(info));
      fs.linkSync(record, lockFile);
      got = true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') {
        fs.mkdirSync(path.dirname(lockFile), { recursive: true });
        fs.mkdirSync(tmpDir, { recursive: true });
      } else if (code !== 'EEXIST') {
        rmQuiet(record);
        throw e;
      }
    }
    rmQuiet(record);
    if (got) {
      const token = info.token;
      heldTokens.add(token);
      return {
        recovered,
        previousOwner,
        release: () => {
          heldTokens.delete(token);
          const now = readLockToken(lockFile);
          if (now && now.token !== token) {
            opts.onWarning(`The lock ${lockFile} was taken over by pid ${now.pid} while this process (pid ${process.pid}) held it; it was held too long.`);
            return;
          }
          rmQuiet(lockFile);
        },
      };
    }
    // Held by someone: stale?
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(lockFile);
    } catch {
      continue; // released meanwhile
    }
    const holder = readLockInfo(lockFile);
    if (isStale(holder, st.mtimeMs, opts.staleMs)) {
      const aside = tempName(tmpDir);
      try {
        fs.renameSync(lockFile, aside);
      } catch {
        continue; // someone else broke it first
      }
      const moved = readLockInfo(aside);
      if (moved && (!holder || moved.token !== holder.token)) {
        // We moved a fresh lock taken between our read and rename: put it back.
        try {
          fs.linkSync(aside, lockFile);
        } catch {
          /* the lock was taken again; the owner will notice at release */
        }
        rmQuiet(aside);
        continue;
      }
      rmQuiet(aside);
      recovered = true;
      previousOwner = holder;
      continue;
    }
    if (Date.now() - start > opts.timeoutMs) {
      const who = holder ? `pid ${holder.pid} on ${holder.host} since ${new Date(holder.time).toISOString()}` : 'an unknown process';
      throw new StorageError(
        'STORAGE_LOCK_TIMEOUT',
        `Timed out after ${opts.timeoutMs} ms waiting for the lock ${lockFile}, held by ${who}.`,
        { file: lockFile, promptId: owner.promptId },
      );
    }
    await sleep(delay + Math.random() * delay);
    delay = Math.min(delay * 2, 4);
  }
}
