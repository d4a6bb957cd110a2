import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { EVENT_ID, getScalarValue, parseEvents, type Event } from 'js-yaml';
import { DEFAULT_MAX_BYTES } from '../dsl/parse';
import { DslError } from '../errors';
import {
  DSL_MAX_SIZE,
  MANIFEST_PATH,
  PACKAGE_APP_MODES,
  PACKAGE_MAX_BYTES,
  PACKAGE_MAX_COMPRESSION_RATIO,
  PACKAGE_MAX_ENTRIES,
  PACKAGE_MAX_MANIFEST_BYTES,
} from './limits';
import { checkAppManifest, editManifest, manifestFormat, parseManifestYaml, type Manifest } from './manifest';
import { inflateEntry, readZip, rewriteZip, type ZipArchive, type ZipEntry } from './zip';

/**
 * Dify's `.ifpkg` app packages: a ZIP of `manifest.yaml` and the app DSL (`app.yaml`), plus the
 * agent resources the manifest lists. {@link readPackage} refuses what Dify's
 * `AppPackageService.read_package` refuses (langgenius/dify `api/services/app_package_service.py`,
 * with the bounded reader of `api/services/agent/roster_package_reader.py`), each with its own
 * DslError code; {@link writePackageApp} gives the package with a new DSL, every other member
 * byte-identical and the manifest's `size` and `sha256` edited in place.
 */

export const PACKAGE_EXTENSION = '.ifpkg';

export function isPackagePath(file: string): boolean {
  return file.toLowerCase().endsWith(PACKAGE_EXTENSION);
}

/**
 * The most bytes a workflow file may have: the DSL limit of an export, or the package limit for
 * `.ifpkg` (what every reader of a workflow file on disk applies: writers, push, the editor).
 */
export function workflowMaxBytes(file: string): number {
  return isPackagePath(file) ? PACKAGE_MAX_BYTES : DEFAULT_MAX_BYTES;
}

/** How a position inside a package is named: `app.ifpkg!/app.yaml`. */
export function packageMemberName(file: string, member = 'app.yaml'): string {
  return `${file}!/${member}`;
}

export interface AppPackage {
  zip: ZipArchive;
  manifest: Manifest;
  manifestEntry: ZipEntry;
  appEntry: ZipEntry;
  /** The DSL member's bytes and text (UTF-8, as Dify decodes it). */
  appBytes: Buffer;
  appText: string;
  /** Skill members Dify would import with a warning (integrity failures), in words. */
  warnings: string[];
}

function refuse(code: ConstructorParameters<typeof DslError>[0], file: string, message: string): DslError {
  return new DslError(code, message, { file });
}

const CONTROL = /[\u0000-\u001f]/;

/** Dify's `_validate_member_info`: root-level, plain, unencrypted, stored/deflated, a sane ratio. */
function checkMember(e: ZipEntry, file: string): void {
  const n = e.name;
  const shown = JSON.stringify(n);
  if (n.endsWith('/')) throw refuse('PACKAGE_UNSAFE_PATH', file, `member ${shown} is a directory; a package holds root-level files only.`);
  if (n.includes('\\') || CONTROL.test(n)) throw refuse('PACKAGE_UNSAFE_PATH', file, `member ${shown} has an unsafe name (backslash or control character).`);
  if (n.startsWith('/') || /^[A-Za-z]:/.test(n)) throw refuse('PACKAGE_UNSAFE_PATH', file, `member ${shown} has an absolute path.`);
  if (n.split('/').some((s) => s === '..')) throw refuse('PACKAGE_UNSAFE_PATH', file, `member ${shown} has a ".." in its path.`);
  if (path.posix.normalize(n) !== n || n === '' || n === '.' || n.includes('/')) throw refuse('PACKAGE_UNSAFE_PATH', file, `member ${shown} is not a root-level file name.`);
  if ((e.unixMode & 0o170000) === 0o120000) throw refuse('PACKAGE_UNSAFE_PATH', file, `member ${shown} is a symbolic link.`);
  if (e.flags & 0x1) throw refuse('PACKAGE_ENCRYPTED', file, `member ${shown} is encrypted; Dify refuses encrypted members.`);
  if (e.method !== 0 && e.method !== 8) throw refuse('PACKAGE_UNSUPPORTED', file, `member ${shown} uses compression method ${e.method}; only stored and deflated members are allowed.`);
  if (e.size && (e.compressedSize === 0 || e.size / e.compressedSize > PACKAGE_MAX_COMPRESSION_RATIO)) {
    throw refuse('PACKAGE_TOO_LARGE', file, `member ${shown} declares a compression ratio over ${PACKAGE_MAX_COMPRESSION_RATIO}:1 (a zip bomb?); it is not read.`);
  }
}

function sha256(b: Buffer | string): string {
  return createHash('sha256').update(b).digest('hex');
}

/**
 * Reads and checks a package. Throws DslError with a PACKAGE_* code naming what is wrong:
 * PACKAGE_NOT_ZIP, PACKAGE_UNSUPPORTED, PACKAGE_ENCRYPTED, PACKAGE_UNSAFE_PATH,
 * PACKAGE_TOO_LARGE, PACKAGE_INTEGRITY, PACKAGE_MANIFEST_INVALID, PACKAGE_MEMBERS_MISMATCH,
 * PACKAGE_DSL_INVALID, PACKAGE_ROSTER_AGENT.
 */
export function readPackage(bytes: Buffer, file: string): AppPackage {
  if (bytes.length > PACKAGE_MAX_BYTES) throw refuse('PACKAGE_TOO_LARGE', file, `the package is ${bytes.length} bytes, over the limit of ${PACKAGE_MAX_BYTES}.`);
  const zip = readZip(bytes, file);
  if (!zip.entries.length) throw refuse('PACKAGE_MANIFEST_INVALID', file, 'the package is empty.');
  if (zip.entries.length > PACKAGE_MAX_ENTRIES) throw refuse('PACKAGE_TOO_LARGE', file, `the package has ${zip.entries.length} members, over Dify's limit of ${PACKAGE_MAX_ENTRIES}.`);
  const byName = new Map<string, ZipEntry>();
  const folded = new Set<string>();
  let declared = 0;
  for (const e of zip.entries) {
    checkMember(e, file);
    if (byName.has(e.name) || folded.has(e.name.toLowerCase())) throw refuse('PACKAGE_MEMBERS_MISMATCH', file, `member ${JSON.stringify(e.name)} appears twice.`);
    byName.set(e.name, e);
    folded.add(e.name.toLowerCase());
    declared += e.size;
  }
  if (declared > PACKAGE_MAX_BYTES) throw refuse('PACKAGE_TOO_LARGE', file, `the members declare ${declared} bytes uncompressed, over the limit of ${PACKAGE_MAX_BYTES}.`);

  const manifestEntry = byName.get(MANIFEST_PATH);
  if (!manifestEntry) throw refuse('PACKAGE_MANIFEST_INVALID', file, 'the package has no manifest.yaml.');
  if (manifestEntry.size > PACKAGE_MAX_MANIFEST_BYTES) throw refuse('PACKAGE_TOO_LARGE', file, `manifest.yaml declares ${manifestEntry.size} bytes, over the limit of ${PACKAGE_MAX_MANIFEST_BYTES}.`);
  const manifestBytes = inflateEntry(zip, manifestEntry, PACKAGE_MAX_MANIFEST_BYTES, file, 'the manifest limit');
  const manifestText = decodeUtf8(manifestBytes, file, MANIFEST_PATH, 'PACKAGE_MANIFEST_INVALID');
  const doc = parseManifestYaml(manifestText, file);
  const format = manifestFormat(doc);
  if (format === 'dify.roster-agent') {
    throw refuse('PACKAGE_ROSTER_AGENT', file, 'this package is a Dify roster agent (format: dify.roster-agent), not an app; it has no app DSL to optimize.');
  }
  const manifest = checkAppManifest(doc, manifestText, file);

  const expected = new Set([MANIFEST_PATH, manifest.app.path, ...manifest.resources.map((r) => r.path)]);
  const extra = [...byName.keys()].filter((n) => !expected.has(n));
  const missing = [...expected].filter((n) => !byName.has(n));
  if (extra.length || missing.length) {
    const parts = [missing.length ? `missing ${missing.map((n) => JSON.stringify(n)).join(', ')}` : '', extra.length ? `not in the manifest: ${extra.map((n) => JSON.stringify(n)).join(', ')}` : ''].filter(Boolean);
    throw refuse('PACKAGE_MEMBERS_MISMATCH', file, `the members do not match the manifest (${parts.join('; ')}).`);
  }

  const appEntry = byName.get(manifest.app.path) as ZipEntry;
  if (appEntry.size > DSL_MAX_SIZE) throw refuse('PACKAGE_TOO_LARGE', file, `${manifest.app.path} declares ${appEntry.size} bytes, over Dify's DSL_MAX_SIZE (${DSL_MAX_SIZE}).`);
  const appBytes = inflateEntry(zip, appEntry, DSL_MAX_SIZE, file, "Dify's DSL_MAX_SIZE");
  if (appBytes.length !== manifest.app.size) {
    throw refuse('PACKAGE_INTEGRITY', file, `${manifest.app.path} is ${appBytes.length} bytes but the manifest says ${manifest.app.size}.`);
  }
  if (sha256(appBytes) !== manifest.app.sha256) throw refuse('PACKAGE_INTEGRITY', file, `${manifest.app.path} does not match the sha256 in the manifest.`);
  const appText = decodeUtf8(appBytes, file, manifest.app.path, 'PACKAGE_DSL_INVALID');
  checkAppDsl(appText, file, manifest.app.path);

  const warnings: string[] = [];
  let streamed = manifestBytes.length + appBytes.length;
  for (const r of manifest.resources) {
    const e = byName.get(r.path) as ZipEntry;
    let data: Buffer;
    try {
      data = inflateEntry(zip, e, Math.min(PACKAGE_MAX_BYTES - streamed, r.size), file, 'its manifest size');
    } catch (err) {
      // Dify imports a skill whose archive fails its checks with a warning (invalid_skills); a file it refuses.
      if (r.kind === 'skill' && err instanceof DslError && err.code === 'PACKAGE_INTEGRITY') {
        warnings.push(`${r.path}: ${err.message}`);
        continue;
      }
      if (err instanceof DslError && err.code === 'PACKAGE_TOO_LARGE' && e.size > r.size) {
        throw refuse('PACKAGE_INTEGRITY', file, `${r.path} is larger than the ${r.size} bytes the manifest says.`);
      }
      throw err;
    }
    streamed += data.length;
    if (data.length !== r.size || sha256(data) !== r.sha256) {
      if (r.kind === 'skill') {
        warnings.push(`${r.path} does not match its size or sha256 in the manifest; Dify would skip this skill.`);
        continue;
      }
      throw refuse('PACKAGE_INTEGRITY', file, `${r.path} does not match its size or sha256 in the manifest.`);
    }
  }
  return { zip, manifest, manifestEntry, appEntry, appBytes, appText, warnings };
}

function decodeUtf8(b: Buffer, file: string, member: string, code: 'PACKAGE_MANIFEST_INVALID' | 'PACKAGE_DSL_INVALID'): string {
  // Python's bytes.decode("utf-8") keeps a BOM as U+FEFF; so does toString.
  if (!isUtf8(b)) throw refuse(code, file, `${member} is not UTF-8 text.`);
  return b.toString('utf8');
}

/**
 * Dify's check of the package's DSL: a YAML mapping with `kind: app` and `app.mode` one of
 * Dify's modes, read by its strict loader (no aliases). One pass over the YAML events, without
 * building the document. A file js-yaml cannot parse is left to the DSL parser, which reads it
 * the way PyYAML does or reports the line:column.
 */
export function checkAppDsl(text: string, file: string, member = 'app.yaml'): void {
  if (blockStyleAppOk(text)) return;
  let events: Event[];
  try {
    events = parseEvents(text, {});
  } catch {
    return;
  }
  const bad = (why: string) => refuse('PACKAGE_DSL_INVALID', file, `${member} is not a Dify app DSL Dify would import: ${why}.`);
  let depth = 0;
  let kind: string | undefined;
  let mode: string | undefined;
  let rootIsMap = false;
  let topKey: string | undefined;
  let appKey: string | undefined;
  let expectKey = false; // at depth 1 (root map) or 2 (the app map): the next scalar is a key
  let inApp = false;
  for (let i = 0; i < events.length; i++) {
    const ev = events[i];
    switch (ev.type) {
      case EVENT_ID.ALIAS:
        throw bad('it uses a YAML alias, which Dify refuses in a package');
      case EVENT_ID.DOCUMENT:
        break;
      case EVENT_ID.MAPPING:
      case EVENT_ID.SEQUENCE:
        if (depth === 0) {
          rootIsMap = ev.type === EVENT_ID.MAPPING;
          expectKey = true;
        } else if (depth === 1) {
          inApp = topKey === 'app' && ev.type === EVENT_ID.MAPPING;
          expectKey = inApp;
          topKey = undefined;
        } else if (depth === 2 && inApp) {
          appKey = undefined;
        }
        depth++;
        break;
      case EVENT_ID.POP:
        depth--;
        if (depth === 1) {
          inApp = false;
          expectKey = true;
        } else if (depth === 2 && inApp) {
          expectKey = true;
        }
        break;
      case EVENT_ID.SCALAR: {
        if (depth === 1 && rootIsMap) {
          if (expectKey) {
            topKey = getScalarValue(text, ev);
            expectKey = false;
          } else {
            if (topKey === 'kind') kind = getScalarValue(text, ev);
            topKey = undefined;
            expectKey = true;
          }
        } else if (depth === 2 && inApp) {
          if (expectKey) {
            appKey = getScalarValue(text, ev);
            expectKey = false;
          } else {
            if (appKey === 'mode') mode = getScalarValue(text, ev);
            appKey = undefined;
            expectKey = true;
          }
        }
        break;
      }
    }
  }
  if (!rootIsMap) throw bad('the top level is not a mapping');
  if (kind !== 'app') throw bad(kind === undefined ? '`kind: app` is missing' : `\`kind\` is ${JSON.stringify(kind)}, not "app"`);
  if (mode === undefined || !PACKAGE_APP_MODES.has(mode)) throw bad(mode === undefined ? '`app.mode` is missing' : `\`app.mode\` ${JSON.stringify(mode)} is not one of Dify's modes`);
}

/** Something that may be an anchor (`&name` after a space or an indicator); without one, no alias can be valid. */
const ANCHOR_LIKE = /(^|[\s[{,:?-])&[^\s[\]{},]/;

function unquote(v: string): string {
  const s = v.replace(/\s+#.*$/, '').trim();
  return s.length >= 2 && (s[0] === "'" || s[0] === '"') && s[s.length - 1] === s[0] ? s.slice(1, -1) : s;
}

/**
 * The fast path of {@link checkAppDsl} for a file laid out as Dify (PyYAML's block style) writes
 * it: no anchors, one top-level `kind: app` line, an `app:` block whose `mode:` is one of Dify's
 * modes. Anything else (flow style, anchors, several candidates) takes the full event scan. The
 * DSL parser then reads the whole file (duplicate keys, structure) as before.
 */
function blockStyleAppOk(text: string): boolean {
  if (ANCHOR_LIKE.test(text) || text.includes('\t')) return false;
  const kinds = text.match(/^kind:.*$/gm);
  if (!kinds || kinds.length !== 1 || unquote(kinds[0].slice(5)) !== 'app') return false;
  const app = /^app:[ ]*\r?$/m.exec(text);
  if (!app || /^app:/gm.exec(text.slice(app.index + 4))) return false;
  const rest = text.slice(app.index + app[0].length);
  const end = /^\S/m.exec(rest);
  const block = end ? rest.slice(0, end.index) : rest;
  const modes = block.match(/^  mode:.*$/gm);
  return !!modes && modes.length === 1 && PACKAGE_APP_MODES.has(unquote(modes[0].slice(7)));
}

/**
 * The package with its DSL member replaced by `appText`: the manifest's app `size` and `sha256`
 * edited in place (no other byte of it changes), every other member copied raw, names, order
 * and compression kept. Returns the same bytes when the text is unchanged.
 */
export function writePackageApp(pkg: AppPackage, appText: string, file: string): Buffer {
  const appBytes = Buffer.from(appText, 'utf8');
  if (appBytes.equals(pkg.appBytes)) return pkg.zip.bytes;
  if (appBytes.length > DSL_MAX_SIZE) {
    throw refuse('PACKAGE_TOO_LARGE', file, `the new ${pkg.manifest.app.path} is ${appBytes.length} bytes, over Dify's DSL_MAX_SIZE (${DSL_MAX_SIZE}); nothing was written.`);
  }
  const manifestText = editManifest(pkg.manifest, appBytes.length, sha256(appBytes));
  return rewriteZip(
    pkg.zip,
    new Map([
      [MANIFEST_PATH, Buffer.from(manifestText, 'utf8')],
      [pkg.manifest.app.path, appBytes],
    ]),
  );
}
