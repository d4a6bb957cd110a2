import { promises as fs, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fsIoError } from '../util/fsError';
import { NotRegularFileError, kindOf, readRegularText } from '../util/safeRead';

const O_NONBLOCK = fsc.O_NONBLOCK ?? 0;
const O_NOFOLLOW = fsc.O_NOFOLLOW ?? 0;

/** A new run id: sortable by time, unique across processes. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/**
 * Appends JSON records, one per line, to `.optimizer/runs/<run>.jsonl`. Each record goes out in
 * a single append write, in order; a crash can at worst leave a truncated last line, which
 * `readRunLog` skips.
 */
export class RunLog {
  private chain: Promise<void> = Promise.resolve();
  private failed: unknown;
  private constructor(
    readonly file: string,
    private readonly handle: fs.FileHandle,
  ) {}

  static async open(file: string): Promise<RunLog> {
    try {
      await fs.mkdir(path.dirname(file), { recursive: true });
      const handle = await fs.open(file, fsc.O_WRONLY | fsc.O_APPEND | fsc.O_CREAT | O_NONBLOCK | O_NOFOLLOW, 0o644);
      try {
        const st = await handle.stat();
        if (!st.isFile()) throw new NotRegularFileError(file, kindOf(st));
        // A last line cut by a crash: end it, so the next record starts a line of its own (else both are lost).
        if (st.size > 0) {
          const last = Buffer.alloc(1);
          const rh = await fs.open(file, fsc.O_RDONLY | O_NONBLOCK | O_NOFOLLOW);
          try {
            await rh.read(last, 0, 1, st.size - 1);
          } finally {
            await rh.close();
          }
          if (last[0] !== 0x0a) await handle.appendFile('\n', 'utf8');
        }
      } catch (e) {
        await handle.close();
        throw e;
      }
      return new RunLog(file, handle);
    } catch (e) {
      throw fsIoError(e, file, 'open the run log');
    }
  }

  append(record: object): void {
    const line = `${JSON.stringify(record)}\n`;
    this.chain = this.chain.then(async () => {
      if (this.failed) return;
      try {
        await this.handle.appendFile(line, 'utf8');
      } catch (e) {
        this.failed = fsIoError(e, this.file, 'append to the run log');
      }
    });
  }

  /** Waits for pending writes; rejects if any failed. */
  async flush(): Promise<void> {
    await this.chain;
    if (this.failed) throw this.failed;
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.handle.close();
    }
  }
}

/** Reads a run log, skipping a truncated or corrupt line (reported through onBadLine). Only a regular file is read (never blocks). */
export async function readRunLog<T = unknown>(file: string, onBadLine?: (line: number) => void): Promise<T[]> {
  let text: string;
  try {
    text = await readRegularText(file, { noFollow: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: T[] = [];
  const lines = text.split('\n');
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    try {
      out.push(JSON.parse(l) as T);
    } catch {
      onBadLine?.(i + 1);
    }
  });
  return out;
}
