import { promises as fs, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

export interface AtomicWriteOptions {
  /** fsync the file before the rename and the directory after it (durable across power loss). Default true. */
  durable?: boolean;
  /** File mode for a new file; an existing file keeps its mode. */
  mode?: number;
}

/**
 * Writes `data` to `file` so that a reader (or a crash at any moment) sees either the old
 * content or the new one, never a mix: write a temp file beside it, fsync, rename over, fsync
 * the directory. Temp names start with `.<name>.tmp-` so leftovers can be found and cleaned.
 */
export async function atomicWriteFile(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  let mode = opts.mode;
  if (mode === undefined) {
    try {
      mode = (await fs.stat(file)).mode & 0o7777;
    } catch {
      mode = 0o644;
    }
  }
  const fh = await fs.open(tmp, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, mode);
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await fs.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
  if (durable) await fsyncDir(dir);
}

/** fsync a directory so a rename or create inside it is durable. No-op where the platform refuses (Windows). */
export async function fsyncDir(dir: string): Promise<void> {
  let dh: fs.FileHandle | undefined;
  try {
    dh = await fs.open(dir, fsc.O_RDONLY);
    await dh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw e;
  } finally {
    await dh?.close();
  }
}
