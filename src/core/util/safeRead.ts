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
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

export async function readRegularText(file: string, opts: SafeReadOptions = {}): Promise<string> {
  return (await readRegularFile(file, opts)).toString('utf8');
}
