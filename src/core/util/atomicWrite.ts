import { promises as fs, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { pidAlive } from './pid';
import { fsIoError } from './fsError';

export interface AtomicWriteOptions {
  /** fsync the file before the rename and the directory after it (durable across power loss). Default true. */
  durable?: boolean;
  /** File mode for a new file; an existing file keeps its mode. */
  mode?: number;
  /** Remove temp files of dead writers first (default true; off when the caller just did). */
  cleanLeftovers?: boolean;
  /** The file as named in messages (default `file`). */
  displayName?: string;
}

/**
 * Bytes of the file's own name kept in its temp names. The rest of a temp name is at most
 * `.` + `.tmp-` + pid + `-` + 8 hex (~25 bytes), so a temp name fits NAME_MAX (255 bytes on
 * every common file system) whatever the length of the name the file system accepted.
 */
const TEMP_PREFIX_BYTES = 96;

/** The leading part of `name` kept in its temp names: at most TEMP_PREFIX_BYTES of UTF-8, cut on a character boundary. */
export function tempPrefix(name: string): string {
  if (Buffer.byteLength(name, 'utf8') <= TEMP_PREFIX_BYTES) return name;
  let out = '';
  let bytes = 0;
  for (const ch of name) {
    const b = Buffer.byteLength(ch, 'utf8');
    if (bytes + b > TEMP_PREFIX_BYTES) break;
    out += ch;
    bytes += b;
  }
  return out;
}

/** Temp name beside `file`: `.<name, cut to fit>.tmp-<pid>-<8 hex>`. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${tempPrefix(path.basename(file))}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

const TEMP_LEFTOVER_AGE_MS = 60 * 60 * 1000;

/**
 * Removes temp files of `file` left by a writer that died before its rename (kill -9, power
 * loss): `.<name>.tmp-<pid>-<hex>` whose pid is not running on this host, or older than an hour.
 * A live writer's temp file is never touched. Returns the names removed.
 */
export async function cleanTempLeftovers(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const head = `.${tempPrefix(path.basename(file))}.tmp-`;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(head)) continue;
    const m = /^(\d+)-[0-9a-f]+$/.exec(name.slice(head.length));
    if (!m) continue;
    const full = path.join(dir, name);
    let old = false;
    try {
      const st = await fs.lstat(full);
      if (!st.isFile()) continue;
      old = Date.now() - st.mtimeMs > TEMP_LEFTOVER_AGE_MS;
    } catch {
      continue;
    }
    if (!old && pidAlive(Number(m[1]))) continue;
    try {
      await fs.unlink(full);
      removed.push(name);
    } catch {
      /* gone already */
    }
  }
  return removed;
}

/**
 * The file a write to `file` must replace: `file` itself, or the final target when `file` is a
 * symbolic link (renaming over the link would turn it into a regular file and leave the real
 * target unchanged). A dangling link resolves to its (absent) target.
 */
export async function writeTargetOf(file: string): Promise<string> {
  let cur = path.resolve(file);
  for (let hops = 0; hops < 40; hops++) {
    let st;
    try {
      st = await fs.lstat(cur);
    } catch {
      return cur;
    }
    if (!st.isSymbolicLink()) return cur;
    const link = await fs.readlink(cur);
    cur = path.resolve(path.dirname(cur), link);
  }
  const err = new Error(`Too many levels of symbolic links at ${file}`) as NodeJS.ErrnoException;
  err.code = 'ELOOP';
  err.syscall = 'readlink';
  err.path = file;
  throw err;
}

/**
 * Writes `data` to `file` so that a reader (or a crash at any moment) sees either the old
 * content or the new one, never a mix: write a temp file beside it, fsync, rename over, fsync
 * the directory. A symbolic link is written through (its target is replaced, the link stays).
 * Temp names start with `.<name>.tmp-` (see {@link tempPathFor}); leftovers of dead writers are
 * removed before each write. A system error (disk full, permission denied, …) is thrown as a
 * typed STORAGE_IO error naming the file and the cause; the file is then left as it was.
 */
export async function atomicWriteFile(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  try {
    await atomicWriteRaw(file, data, opts);
  } catch (e) {
    throw fsIoError(e, opts.displayName ?? file, 'write');
  }
}

async function atomicWriteRaw(file: string, data: string | Uint8Array, opts: AtomicWriteOptions): Promise<void> {
  const durable = opts.durable ?? true;
  const target = await writeTargetOf(file);
  const dir = path.dirname(target);
  if (opts.cleanLeftovers ?? true) await cleanTempLeftovers(target);
  const tmp = tempPathFor(target);
  let mode = opts.mode;
  if (mode === undefined) {
    try {
      mode = (await fs.stat(target)).mode & 0o7777;
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
    await fs.rename(tmp, target);
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
