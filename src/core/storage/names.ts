import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { StorageError } from '../errors';

/**
 * Reversible, safe file-name encoding of ids (workflow paths, prompt ids).
 *
 * - Kept as is: ASCII letters and digits, `-`, `_`, `.`, and non-ASCII letters/digits.
 *   Everything else (`/`, `\`, `%`, `~`, `:`, spaces, NUL, control characters, …) becomes `%xx`
 *   per UTF-8 byte, lowercase hex, so the result never contains a path separator.
 * - A leading `.` (so `.` / `..` / hidden names) and a trailing `.` are escaped; Windows
 *   reserved device names (CON, PRN, AUX, NUL, COM0-9, LPT0-9, with any extension, any case)
 *   get their first letter escaped.
 * - When the id holds anything a case-insensitive or normalising file system could fold
 *   (an uppercase letter or any non-ASCII character), `~h<10 hex of sha256(id)>` is appended, so
 *   `Foo` and `foo` (or NFC and NFD forms) never land in the same directory.
 * - Names longer than MAX_NAME_BYTES are cut and end with `~t<10 hex>` instead; only these are
 *   not decodable from the name alone (the id is read back from the files inside).
 */
export const MAX_NAME_BYTES = 120;

const SAFE_ASCII = /[A-Za-z0-9_.-]/;
const RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i;
const FOLD_RISK = /[A-Z]|[^\x00-\x7f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function hash10(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 10);
}

function escapeChar(ch: string): string {
  let out = '';
  for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).padStart(2, '0')}`;
  return out;
}

function isSafeChar(ch: string): boolean {
  if (ch.length === 1 && ch.charCodeAt(0) < 0x80) return SAFE_ASCII.test(ch);
  // Non-ASCII: keep letters, marks and digits; escape separators, controls, format chars.
  return /^[\p{L}\p{M}\p{N}]$/u.test(ch);
}

/** Throws STORAGE_INVALID_ID for ids that cannot be stored (empty, lone surrogates). */
export function assertValidId(id: string, what: string): void {
  if (typeof id !== 'string' || id.length === 0) {
    throw new StorageError('STORAGE_INVALID_ID', `The ${what} must be a non-empty string.`);
  }
  if (LONE_SURROGATE.test(id)) {
    throw new StorageError('STORAGE_INVALID_ID', `The ${what} ${JSON.stringify(id)} is not valid Unicode (lone surrogate).`);
  }
}

/** Encodes an id into one safe path component. Distinct ids give distinct names, also after case folding. */
export function encodeName(id: string, what = 'id'): string {
  assertValidId(id, what);
  const chars = Array.from(id);
  const parts = chars.map((ch) => (isSafeChar(ch) ? ch : escapeChar(ch)));
  if (parts[0] === '.') parts[0] = '%2e';
  const last = parts.length - 1;
  if (parts[last] === '.') parts[last] = '%2e';
  let name = parts.join('');
  if (RESERVED.test(name)) name = escapeChar(name[0]!) + name.slice(1);
  const suffix = FOLD_RISK.test(id) ? `~h${hash10(id)}` : '';
  if (Buffer.byteLength(name + suffix, 'utf8') <= MAX_NAME_BYTES) return name + suffix;
  // Too long: cut at a part boundary and mark as truncated.
  const budget = MAX_NAME_BYTES - 12;
  let cut = '';
  let bytes = 0;
  for (const p of parts) {
    const b = Buffer.byteLength(p, 'utf8');
    if (bytes + b > budget) break;
    cut += p;
    bytes += b;
  }
  if (RESERVED.test(cut)) cut = escapeChar(cut[0]!) + cut.slice(1);
  return `${cut}~t${hash10(id)}`;
}

/**
 * Decodes a name made by `encodeName`. Returns undefined for truncated names (and for names
 * this encoding cannot have produced).
 */
export function decodeName(name: string): string | undefined {
  let body = name;
  const m = /~([ht])([0-9a-f]{10})$/.exec(name);
  if (m) {
    if (m[1] === 't') return undefined;
    body = name.slice(0, -12);
  }
  if (body.includes('~')) return undefined;
  let id: string;
  try {
    const bytes: number[] = [];
    for (let i = 0; i < body.length; ) {
      if (body[i] === '%') {
        const hex = body.slice(i + 1, i + 3);
        if (!/^[0-9a-f]{2}$/.test(hex)) return undefined;
        bytes.push(parseInt(hex, 16));
        i += 3;
      } else {
        const cp = body.codePointAt(i)!;
        const ch = String.fromCodePoint(cp);
        bytes.push(...Buffer.from(ch, 'utf8'));
        i += ch.length;
      }
    }
    id = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
  return encodeName(id) === name ? id : undefined;
}

/** The workflow key of `file`: its path relative to the workspace root, with forward slashes. */
export function workflowKey(workspaceRoot: string, file: string): string {
  const rel = path.relative(path.resolve(workspaceRoot), path.resolve(file));
  return rel.split(path.sep).join('/');
}
