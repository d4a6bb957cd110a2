import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { DslError } from '../errors';

/**
 * A small ZIP reader and writer on node:zlib, made for Dify's `.ifpkg` packages. Why not a
 * library: a write-back must keep every member it does not change byte-identical (local header,
 * compressed data, data descriptor, central record), which means copying those bytes raw; the
 * ZIP libraries at hand (jszip) re-encode every member. Only what Python's `zipfile` writes and
 * reads without ZIP64 is supported: stored and deflated members, one disk, no encryption (the
 * package checks refuse the rest with a clear error).
 */

export interface ZipEntry {
  /** Member name as Python's zipfile decodes it (UTF-8 when flag bit 11 is set, else cp437). */
  name: string;
  /** Position of the entry in the central directory. */
  index: number;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  /** Upper 16 bits of the external attributes: the Unix mode, when the creator was Unix. */
  unixMode: number;
  localOffset: number;
  /** Where the compressed data starts and ends (after the local header; before any data descriptor). */
  dataStart: number;
  dataEnd: number;
  /** Bytes of the entry's central directory record, from the archive. */
  centralStart: number;
  centralEnd: number;
}

export interface ZipArchive {
  bytes: Buffer;
  /** In central directory order. */
  entries: ZipEntry[];
  centralStart: number;
  centralEnd: number;
  eocdStart: number;
}

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;

function notZip(file: string, why: string): DslError {
  return new DslError('PACKAGE_NOT_ZIP', `this is not a valid ZIP package: ${why}.`, { file });
}

// cp437, bytes 0x80..0xff (what Python's zipfile uses for names without the UTF-8 flag).
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function decodeName(raw: Buffer, utf8: boolean): string {
  if (utf8) return raw.toString('utf8');
  let s = '';
  for (const b of raw) s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
  return s;
}

/** Reads the central directory and checks each local header against it (as zipfile does). Does not inflate. */
export function readZip(bytes: Buffer, file: string): ZipArchive {
  if (bytes.length < 22) throw notZip(file, 'it is too short');
  const minEocd = Math.max(0, bytes.length - 22 - 0xffff);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= minEocd; i--) {
    if (bytes.readUInt32LE(i) === EOCD_SIG && i + 22 + bytes.readUInt16LE(i + 20) === bytes.length) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw notZip(file, 'no end-of-central-directory record');
  if (eocd >= 20 && bytes.readUInt32LE(eocd - 20) === ZIP64_LOCATOR_SIG) {
    throw new DslError('PACKAGE_UNSUPPORTED', 'the package uses ZIP64, which Dify never writes for an app package; it is not read.', { file });
  }
  const diskNo = bytes.readUInt16LE(eocd + 4);
  const cdDisk = bytes.readUInt16LE(eocd + 6);
  const count = bytes.readUInt16LE(eocd + 10);
  const cdSize = bytes.readUInt32LE(eocd + 12);
  const cdOffset = bytes.readUInt32LE(eocd + 16);
  if (diskNo !== 0 || cdDisk !== 0 || bytes.readUInt16LE(eocd + 8) !== count) throw notZip(file, 'multi-disk archives are not supported');
  if (cdOffset + cdSize !== eocd) throw notZip(file, 'the central directory is not where the end record says (data before or after the archive)');
  const entries: ZipEntry[] = [];
  let p = cdOffset;
  for (let index = 0; index < count; index++) {
    if (p + 46 > eocd || bytes.readUInt32LE(p) !== CENTRAL_SIG) throw notZip(file, `central directory entry ${index + 1} is damaged`);
    const flags = bytes.readUInt16LE(p + 8);
    const method = bytes.readUInt16LE(p + 10);
    const crc = bytes.readUInt32LE(p + 16);
    const compressedSize = bytes.readUInt32LE(p + 20);
    const size = bytes.readUInt32LE(p + 24);
    const nlen = bytes.readUInt16LE(p + 28);
    const xlen = bytes.readUInt16LE(p + 30);
    const clen = bytes.readUInt16LE(p + 32);
    const unixMode = bytes.readUInt16LE(p + 40);
    const localOffset = bytes.readUInt32LE(p + 42);
    const end = p + 46 + nlen + xlen + clen;
    if (end > eocd) throw notZip(file, `central directory entry ${index + 1} is damaged`);
    const rawName = bytes.subarray(p + 46, p + 46 + nlen);
    const name = decodeName(rawName, (flags & 0x800) !== 0);
    if (compressedSize === 0xffffffff || size === 0xffffffff || localOffset === 0xffffffff) {
      throw new DslError('PACKAGE_UNSUPPORTED', `member ${JSON.stringify(name)} uses ZIP64 sizes; it is not read.`, { file });
    }
    if (localOffset + 30 > cdOffset || bytes.readUInt32LE(localOffset) !== LOCAL_SIG) throw notZip(file, `the local header of ${JSON.stringify(name)} is missing`);
    const lnlen = bytes.readUInt16LE(localOffset + 26);
    const lxlen = bytes.readUInt16LE(localOffset + 28);
    const localName = bytes.subarray(localOffset + 30, localOffset + 30 + lnlen);
    if (!localName.equals(rawName)) throw notZip(file, `the name in the local header of ${JSON.stringify(name)} differs from the directory`);
    const dataStart = localOffset + 30 + lnlen + lxlen;
    const dataEnd = dataStart + compressedSize;
    if (dataEnd > cdOffset) throw notZip(file, `the data of ${JSON.stringify(name)} runs past the central directory`);
    entries.push({ name, index, flags, method, crc, compressedSize, size, unixMode, localOffset, dataStart, dataEnd, centralStart: p, centralEnd: end });
    p = end;
  }
  if (p !== eocd) throw notZip(file, 'the central directory has trailing bytes');
  // Overlapping members (one compressed stream shared by several names) are a known zip-bomb trick.
  const byOffset = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  for (let i = 1; i < byOffset.length; i++) {
    if (byOffset[i].localOffset < byOffset[i - 1].dataEnd) throw notZip(file, `members ${JSON.stringify(byOffset[i - 1].name)} and ${JSON.stringify(byOffset[i].name)} overlap`);
  }
  return { bytes, entries, centralStart: cdOffset, centralEnd: eocd, eocdStart: eocd };
}

/**
 * Inflates one member with the output bounded by `maxBytes` (the inflater stops there: a bomb
 * is never inflated whole), then checks the inflated size against the declared one and the
 * CRC-32. `tooLarge` names the limit in the error.
 */
export function inflateEntry(zip: ZipArchive, e: ZipEntry, maxBytes: number, file: string, limitName: string): Buffer {
  const data = zip.bytes.subarray(e.dataStart, e.dataEnd);
  const bound = Math.min(maxBytes, e.size);
  let out: Buffer;
  let over = false;
  if (e.method === 0) {
    out = data;
  } else if (e.method === 8) {
    try {
      out = inflateRawSync(data, { maxOutputLength: bound + 1 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        over = true;
        out = data.subarray(0, 0);
      } else {
        throw notZip(file, `member ${JSON.stringify(e.name)} does not inflate (${(err as Error).message})`);
      }
    }
  } else {
    throw new DslError('PACKAGE_UNSUPPORTED', `member ${JSON.stringify(e.name)} uses compression method ${e.method}; only stored and deflated members are read.`, { file });
  }
  const inflated = over ? bound + 1 : out.length;
  if (inflated > maxBytes) {
    throw new DslError('PACKAGE_TOO_LARGE', `member ${JSON.stringify(e.name)} inflates to more than ${limitName} (${maxBytes} bytes); it is not read.`, { file });
  }
  if (inflated !== e.size) {
    throw new DslError('PACKAGE_INTEGRITY', `member ${JSON.stringify(e.name)} inflates to ${inflated > e.size ? 'more' : 'fewer'} bytes than its header declares (${e.size}).`, { file });
  }
  if (crc32(out) >>> 0 !== e.crc) throw new DslError('PACKAGE_INTEGRITY', `member ${JSON.stringify(e.name)} fails its CRC-32 check.`, { file });
  return out;
}

/**
 * A new archive in which the members named in `replace` hold new content, compressed with the
 * member's own method (deflate at zlib's default level, as Python's zipfile does); every other
 * member's bytes (local header, data, data descriptor) and central record are copied raw, only
 * their offsets moved. Member order, names, times, extra fields, attributes and the archive
 * comment are kept.
 */
export function rewriteZip(zip: ZipArchive, replace: ReadonlyMap<string, Buffer>): Buffer {
  const { bytes } = zip;
  const byOffset = [...zip.entries].sort((a, b) => a.localOffset - b.localOffset);
  const spanEnd = new Map<ZipEntry, number>();
  byOffset.forEach((e, i) => spanEnd.set(e, i + 1 < byOffset.length ? byOffset[i + 1].localOffset : zip.centralStart));
  const parts: Buffer[] = [];
  if (byOffset.length && byOffset[0].localOffset > 0) parts.push(bytes.subarray(0, byOffset[0].localOffset));
  let pos = parts.length ? parts[0].length : 0;
  const newOffset = new Map<ZipEntry, number>();
  const newSizes = new Map<ZipEntry, { crc: number; csize: number; size: number; flags: number }>();
  for (const e of byOffset) {
    newOffset.set(e, pos);
    const content = replace.get(e.name);
    if (!content) {
      const raw = bytes.subarray(e.localOffset, spanEnd.get(e));
      parts.push(raw);
      pos += raw.length;
      continue;
    }
    const data = e.method === 8 ? deflateRawSync(content) : content;
    const crc = crc32(content) >>> 0;
    const flags = e.flags & ~0x8; // sizes are in the header now: no data descriptor
    const head = Buffer.from(bytes.subarray(e.localOffset, e.dataStart));
    head.writeUInt16LE(flags, 6);
    head.writeUInt32LE(crc, 14);
    head.writeUInt32LE(data.length, 18);
    head.writeUInt32LE(content.length, 22);
    parts.push(head, data);
    pos += head.length + data.length;
    newSizes.set(e, { crc, csize: data.length, size: content.length, flags });
  }
  const cdStart = pos;
  for (const e of zip.entries) {
    const rec = Buffer.from(bytes.subarray(e.centralStart, e.centralEnd));
    rec.writeUInt32LE(newOffset.get(e) as number, 42);
    const s = newSizes.get(e);
    if (s) {
      rec.writeUInt16LE(s.flags, 8);
      rec.writeUInt32LE(s.crc, 16);
      rec.writeUInt32LE(s.csize, 20);
      rec.writeUInt32LE(s.size, 24);
    }
    parts.push(rec);
    pos += rec.length;
  }
  const eocd = Buffer.from(bytes.subarray(zip.eocdStart));
  eocd.writeUInt32LE(pos - cdStart, 12);
  eocd.writeUInt32LE(cdStart, 16);
  parts.push(eocd);
  return Buffer.concat(parts);
}
