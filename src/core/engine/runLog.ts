import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

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
    await fs.mkdir(path.dirname(file), { recursive: true });
    const handle = await fs.open(file, 'a');
    return new RunLog(file, handle);
  }

  append(record: object): void {
    const line = `${JSON.stringify(record)}\n`;
    this.chain = this.chain.then(async () => {
      if (this.failed) return;
      try {
        await this.handle.appendFile(line, 'utf8');
      } catch (e) {
        this.failed = e;
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

/** Reads a run log, skipping a truncated or corrupt line (reported through onBadLine). */
export async function readRunLog<T = unknown>(file: string, onBadLine?: (line: number) => void): Promise<T[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
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
