/**
 * File-system errors in plain words. A system error (`ENOSPC`, `EACCES`, …) is not a bug: it is
 * reported as a typed I/O error naming the file and the cause ("disk full"), never as an
 * internal error. No imports, so `errors.ts` can use it too.
 */

const CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EMFILE: 'too many open files in this process',
  ENFILE: 'too many open files on this system',
  EISDIR: 'a folder stands where a file should be',
  ENOTDIR: 'a file stands where a folder should be',
  ELOOP: 'a loop of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  ENOENT: 'no such file or folder',
  EEXIST: 'it already exists',
  EIO: 'input/output error (the disk failed)',
  EBUSY: 'the file or device is busy',
  ETXTBSY: 'the file is busy',
  EXDEV: 'it is on another device',
  EAGAIN: 'the resource is temporarily unavailable',
  ENXIO: 'no such device (a FIFO or socket with no other end)',
  ENODEV: 'no such device',
  ESTALE: 'stale network file handle',
  ENOTEMPTY: 'the folder is not empty',
  EINVAL: 'invalid argument',
  EBADF: 'bad file descriptor',
  ENOTREG: 'not a regular file',
};

/** What a system error says, when `e` is one: its code, the cause in words and the path it names (if any). */
export interface FsCause {
  code: string;
  cause: string;
  path?: string;
  syscall?: string;
}

/** The file-system error in `e`, or undefined when `e` is not one (a bug, a typed error). */
export function fsCauseOf(e: unknown): FsCause | undefined {
  if (!(e instanceof Error)) return undefined;
  const x = e as NodeJS.ErrnoException;
  const code = typeof x.code === 'string' ? x.code : undefined;
  if (!code || !(code in CAUSES)) return undefined;
  // Only system errors (they carry errno or syscall), not a library's error that reuses a code.
  if (typeof x.errno !== 'number' && typeof x.syscall !== 'string') return undefined;
  const k = (e as { kind?: unknown }).kind;
  const size = (e as { size?: unknown }).size;
  const max = (e as { maxBytes?: unknown }).maxBytes;
  const kind =
    code === 'ENOTREG' && typeof k === 'string'
      ? `${k}, not a regular file`
      : code === 'EFBIG' && typeof size === 'number' && typeof max === 'number'
        ? `file too large: ${(size / 1048576).toFixed(1)} MB, over the limit of ${(max / 1048576).toFixed(0)} MB`
        : undefined;
  return { code, cause: kind ?? CAUSES[code]!, ...(typeof x.path === 'string' ? { path: x.path } : {}), ...(typeof x.syscall === 'string' ? { syscall: x.syscall } : {}) };
}

/** `disk full (ENOSPC)`; the raw message when `e` is not a file-system error. */
export function fsCauseText(e: unknown): string {
  const c = fsCauseOf(e);
  if (c) return `${c.cause} (${c.code})`;
  return e instanceof Error ? e.message : String(e);
}
