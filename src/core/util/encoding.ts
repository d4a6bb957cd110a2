import { DslError } from '../errors';

/** Where a file stops being valid UTF-8: the first bad byte, 1-based line and column (in characters). */
export interface EncodingProblem {
  /** Byte offset of the first byte that is not part of a valid UTF-8 sequence. */
  offset: number;
  byte: number;
  line: number;
  column: number;
}

export interface DecodedText {
  text: string;
  /** Set when the bytes are not valid UTF-8; `text` then holds U+FFFD in place of the bad bytes. */
  problem?: EncodingProblem;
}

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** 'le' / 'be' when the bytes look like UTF-16 (a BOM, or NUL bytes in every other place of the first characters). */
export function utf16Kind(buf: Uint8Array): 'le' | 'be' | undefined {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return 'le';
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) return 'be';
  const n = Math.min(buf.length - (buf.length % 2), 64);
  if (n < 4) return undefined;
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < n; i += 2) {
    if (buf[i] === 0) evenNul++;
    if (buf[i + 1] === 0) oddNul++;
  }
  const pairs = n / 2;
  if (oddNul >= pairs * 0.75 && evenNul === 0) return 'le';
  if (evenNul >= pairs * 0.75 && oddNul === 0) return 'be';
  return undefined;
}

/** Offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(buf: Uint8Array): number {
  const n = buf.length;
  for (let i = 0; i < n; ) {
    const b = buf[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [len, min] = [2, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [len, min] = [3, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [len, min] = [4, 0x10000];
    else return i;
    if (i + len > n) return i;
    let cp = b & (len === 2 ? 0x1f : len === 3 ? 0x0f : 0x07);
    for (let k = 1; k < len; k++) {
      const c = buf[i + k]!;
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return -1;
}

function locate(buf: Buffer, offset: number): EncodingProblem {
  let line = 1;
  let lineStart = 0;
  for (let i = buf.indexOf(0x0a); i !== -1 && i < offset; i = buf.indexOf(0x0a, i + 1)) {
    line++;
    lineStart = i + 1;
  }
  const column = [...buf.subarray(lineStart, offset).toString('utf8')].length + 1;
  return { offset, byte: buf[offset]!, line, column };
}

/**
 * Decodes a file's bytes as UTF-8 (a UTF-8 BOM is kept, as `fs.readFile(…, 'utf8')` does). Bytes
 * that are not UTF-8 are decoded as U+FFFD and reported in `problem`, so a reader can warn and go
 * on while a writer refuses (see {@link assertWritableEncoding}). UTF-16 is refused outright
 * (DSL_ENCODING): Dify exports are UTF-8, and such a file would read as NUL bytes.
 */
export function decodeFileText(bytes: Uint8Array, file: string): DecodedText {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = utf16Kind(buf);
  if (u16) {
    throw new DslError(
      'DSL_ENCODING',
      `the file is encoded as UTF-16 (${u16 === 'le' ? 'little' : 'big'}-endian), not UTF-8 as Dify exports are. Save it as UTF-8 and try again.`,
      { file },
    );
  }
  const text = buf.toString('utf8');
  try {
    fatal.decode(buf);
    return { text };
  } catch {
    const offset = firstInvalidUtf8(buf);
    return offset < 0 ? { text } : { text, problem: locate(buf, offset) };
  }
}

/** Plain words for a problem, for a warning when reading. */
export function describeEncodingProblem(p: EncodingProblem): string {
  return `the file is not valid UTF-8: byte 0x${p.byte.toString(16).toUpperCase().padStart(2, '0')} at line ${p.line}, column ${p.column} (a GBK or Latin-1 file?) was read as U+FFFD`;
}

/** Throws DSL_ENCODING (naming the first bad byte) when the file's bytes are not UTF-8: writing it back would replace such bytes. */
export function assertWritableEncoding(decoded: DecodedText, file: string): void {
  const p = decoded.problem;
  if (!p) return;
  throw new DslError(
    'DSL_ENCODING',
    `${describeEncodingProblem(p)}; writing it would replace every such byte, so nothing was written. Convert the file to UTF-8 first.`,
    { file, line: p.line, column: p.column },
  );
}
