import * as path from 'node:path';
import { StorageError, isOptimizerError } from '../errors';
import { breakIfStale, cleanDeadClaims } from '../util/lockFile';
import { pidAlive, pidOfTempName, readdirOrEmpty, rmQuiet, statOrUndefined } from './fsutil';
import type { StoreLayout } from './layout';
import { acquireLock, isStale, readLockInfo, type HeldLock, type LockInfo } from './lock';
import type { PromptIndex } from './promptIndex';
import { fsCauseText } from '../util/fsCause';

const TEMP_MAX_AGE_MS = 60 * 60 * 1000;

export interface PromptLockOptions {
  lockTimeoutMs: number;
  staleLockMs: number;
  onWarning: (msg: string) => void;
}

/**
 * The store's write serialisation: an in-process mutex per prompt (so one process queues its
 * own writers) around the prompt's cross-process lock file (`lock.ts`). A lock taken over from a
 * dead writer is reported and `onRecovered` repairs what it may have left half done.
 */
export class PromptLocks {
  private readonly mutex = new Map<string, Promise<unknown>>();

  constructor(
    private readonly layout: StoreLayout,
    private readonly opts: PromptLockOptions,
  ) {}

  /** Runs `fn` holding the prompt's mutex and lock file; `ready` runs first (e.g. a closed-store check). */
  run<T>(idx: PromptIndex, ready: () => void, onRecovered: () => void, fn: () => Promise<T>): Promise<T> {
    const key = `${idx.workflow.length}:${idx.workflow}\0${idx.promptId}`;
    const prev = this.mutex.get(key) ?? Promise.resolve();
    const run = prev.then(async () => {
      ready();
      let lock: HeldLock;
      try {
        lock = await acquireLock(this.layout.lockFile(idx), this.layout.tmpDir, { workflow: idx.workflow, promptId: idx.promptId }, {
          timeoutMs: this.opts.lockTimeoutMs,
          staleMs: this.opts.staleLockMs,
          onWarning: this.opts.onWarning,
        });
      } catch (e) {
        if (isOptimizerError(e)) throw e;
        throw new StorageError('STORAGE_IO', `Could not lock prompt ${idx.promptId}: ${fsCauseText(e)}`, { promptId: idx.promptId }, e);
      }
      try {
        if (lock.recovered) {
          const who = lock.previousOwner ? `pid ${lock.previousOwner.pid}` : 'an unknown process';
          this.opts.onWarning(`Recovered the lock of prompt ${idx.promptId} in ${idx.workflow} left by ${who}; its index was rebuilt.`);
          onRecovered();
        }
        return await fn();
      } finally {
        lock.release();
      }
    });
    const tail = run.catch(() => undefined);
    this.mutex.set(key, tail);
    void tail.then(() => {
      if (this.mutex.get(key) === tail) this.mutex.delete(key);
    });
    return run;
  }

  /** Resolves when every write in flight has ended. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.mutex.values()]);
  }

  /** Removes temp files in `tmp/` whose writer is dead (or that are older than an hour). */
  cleanTemps(): void {
    const now = Date.now();
    for (const name of readdirOrEmpty(this.layout.tmpDir)) {
      const file = path.join(this.layout.tmpDir, name);
      const pid = pidOfTempName(name);
      const st = statOrUndefined(file);
      if (!st) continue;
      if ((pid !== undefined && !pidAlive(pid)) || now - st.mtimeMs > TEMP_MAX_AGE_MS) rmQuiet(file);
    }
  }

  /**
   * Locks left by dead writers, with the prompt each guarded (to be repaired by taking the lock).
   * Unreadable stale locks and claims of dead breakers are removed here, under the claim rule.
   */
  staleLocks(): LockInfo[] {
    cleanDeadClaims(this.layout.lockDir, this.opts.staleLockMs, this.layout.tmpDir);
    const out: LockInfo[] = [];
    for (const name of readdirOrEmpty(this.layout.lockDir)) {
      if (!name.endsWith('.lock')) continue;
      const file = path.join(this.layout.lockDir, name);
      const st = statOrUndefined(file);
      if (!st) continue;
      const info = readLockInfo(file);
      if (!isStale(info, st.mtimeMs, this.opts.staleLockMs)) continue;
      if (info) out.push(info);
      else breakIfStale(file, this.opts.staleLockMs, this.layout.tmpDir);
    }
    return out;
  }
}
