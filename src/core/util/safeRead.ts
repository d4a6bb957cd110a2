import * as fs from 'node:fs';

/**
 * Reads of workspace state (`.optimizer/`, datasets, cases) that can never block: only regular
 * files are read. The file is opened with O_NONBLOCK (opening a FIFO then returns at once instead
 * of waiting for a writer) and, for files the store owns, O_NOFOLLOW (a symbolic link is refused,
 * not followed); then fstat on the open descriptor checks it is a regular file, so even a file
 * swapped between a check and the read cannot block. Anything else (FIFO, socket, device, folder,
 * link) fails with code ENOTREG (or the system's ELOOP / EISDIR), which callers report once and skip.
 *
 * Windows has neither flag (the constants are undefined there); FIFOs cannot appear in a folder
 * on Windows either, and the fstat check still holds.
 */

const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;
const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;

export interface SafeReadOptions {
  /** Refuse a symbolic link (default false: follow it, then check the target is a regular file). */
  noFollow?: boolean;
  /** Refuse a file larger than this many bytes (FileTooLargeError, code EFBIG) before reading it. */
  maxBytes?: number;
}

/** The error for a regular file over a read's `maxBytes`: `code` EFBIG. */
export class FileTooLargeError extends Error {
  readonly code = 'EFBIG';
  readonly syscall = 'read';
  constructor(
    readonly path: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`${path} is ${(size / 1048576).toFixed(1)} MB, over the limit of ${(maxBytes / 1048576).toFixed(0)} MB`);
  }
}

/** The error for a path that is not a regular file: `code` ENOTREG, `path` the file. */
export class NotRegularFileError extends Error {
  /** ENOTREG; EISDIR for a folder (as reading one would say). */
  readonly code: string;
  readonly syscall = 'open';
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(`${path} is ${kind}, not a regular file`);
    this.code = kind === 'a folder' ? 'EISDIR' : 'ENOTREG';
  }
}

export function isNotRegular(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  // ELOOP: O_NOFOLLOW met a link (or a loop); EISDIR: a folder; ENXIO: a socket.
  return code === 'ENOTREG' || code === 'ELOOP' || code === 'EISDIR' || code === 'ENXIO';
}

/** What `st` is, in words ("a FIFO"). */
export function kindOf(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isCharacterDevice() || st.isBlockDevice()) return 'a device';
  return 'not a regular file';
}

function flags(opts: SafeReadOptions): number {
  return fs.constants.O_RDONLY | O_NONBLOCK | (opts.noFollow ? O_NOFOLLOW : 0);
}

/** Reads `file` whole when it is a regular file; see the module comment. */
export function readRegularFileSync(file: string, opts: SafeReadOptions = {}): Buffer {
  const fd = fs.openSync(file, flags(opts));
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new NotRegularFileError(file, kindOf(st));
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) throw new FileTooLargeError(file, st.size, opts.maxBytes);
    return fs.readFileSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function readRegularTextSync(file: string, opts: SafeReadOptions = {}): string {
  return readRegularFileSync(file, opts).toString('utf8');
}

/** Async {@link readRegularFileSync}. */
export async function readRegularFile(file: string, opts: SafeReadOptions = {}): Promise<Buffer> {
  const fh = await fs.promises.open(file, flags(opts));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFileError(file, kindOf(st));
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) throw new FileTooLargeError(file, st.size, opts.maxBytes);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

export async function readRegularText(file: string, opts: SafeReadOptions = {}): Promise<string> {
  return (await readRegularFile(file, opts)).toString('utf8');
}

/**
 * Reads a file the user named (an export, a candidate file), which may also be a pipe or a
 * device (`<(…)`, `/dev/stdin`): at most `maxBytes`, never more. A regular file larger than that
 * is refused from its size before any read; anything else is read in chunks and stops at the
 * first byte past the limit (`/dev/zero` ends there instead of filling the memory).
 * `over` is true when the limit was passed (`bytes` is then not the whole content).
 */
export async function readUpTo(file: string, maxBytes: number): Promise<{ bytes: Buffer; regular: boolean; over: boolean; size: number }> {
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY);
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new NotRegularFileError(file, 'a folder');
    if (st.isFile()) {
      if (st.size > maxBytes) return { bytes: Buffer.alloc(0), regular: true, over: true, size: st.size };
      const bytes = await fh.readFile();
      // A file that grew past the limit between the stat and the read.
      return { bytes, regular: true, over: bytes.length > maxBytes, size: bytes.length };
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) return { bytes: Buffer.concat(chunks), regular: false, over: true, size: total };
    }
    return { bytes: Buffer.concat(chunks), regular: false, over: false, size: total };
  } finally {
    await fh.close();
  }
}
