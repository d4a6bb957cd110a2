import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import { parse as parseYaml } from 'yaml';
import { DifyError, UsageError } from '../errors';
import { atomicWriteFile } from '../util/atomicWrite';
import { fsCauseText } from '../util/fsCause';
import { readRegularFile } from '../util/safeRead';
import { workflowMaxBytes } from '../package/index';
import type { DifyClient } from './client';
import { getRemote, putRemote, readBase, sha256, type RemoteRecord } from './remotes';
import type { DifyAppSummary, DifyExport, DifyImport, DslImportWarning, PluginDependency } from './types';

/**
 * Pull and push, losing nothing. The rules come from langgenius/dify
 * api/services/app_dsl_service.py `import_app`: with an `app_id` only workflow and advanced-chat
 * apps are overwritten ("Only workflow or advanced chat apps can be overwritten"); a DSL whose
 * version needs a confirmation answers `pending` (kept 10 minutes for `confirm`).
 */
export const OVERWRITABLE_MODES = new Set(['workflow', 'advanced-chat']);

/** Finds one app by id, or by name (exact, case-insensitive, else the only one containing it). */
export async function resolveApp(client: DifyClient, sel: { appId?: string; name?: string }, signal?: AbortSignal): Promise<DifyAppSummary> {
  if (sel.appId) {
    const app = await client.getApp(sel.appId, signal);
    if (!app) throw new DifyError('DIFY_APP_NOT_FOUND', `${client.server} has no app ${sel.appId}.`);
    return app;
  }
  const name = sel.name?.trim();
  if (!name) throw new UsageError('USAGE', 'Give the app: --app <id> or --name <text>.');
  const apps = await client.listApps({ name, signal });
  const exact = apps.filter((a) => a.name.toLowerCase() === name.toLowerCase());
  const hits = exact.length ? exact : apps.filter((a) => a.name.toLowerCase().includes(name.toLowerCase()));
  if (hits.length === 1) return hits[0];
  if (!hits.length) throw new DifyError('DIFY_APP_NOT_FOUND', `${client.server} has no app named like "${name}".`);
  throw new DifyError('DIFY_APP_NOT_FOUND', `Several apps on ${client.server} match "${name}": ${hits.map((a) => `${a.name} (${a.id})`).join(', ')}. Pass --app <id>.`);
}

/** A file name for an app: its name made safe, with the export's extension. */
export function defaultFileName(app: DifyAppSummary, format: DifyExport['format']): string {
  const base = app.name.normalize('NFKC').replace(/[\\/:*?"<>|\u0000-\u001f]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 80) || app.id;
  return `${base}.${format === 'ifpkg' ? 'ifpkg' : 'yml'}`;
}

export interface PullOptions {
  root: string;
  appId?: string;
  name?: string;
  /** Where to write; default `<app name>.yml` (or `.ifpkg`) in `dir`. */
  out?: string;
  dir?: string;
  /** Overwrite a local file that has changes of its own. */
  force?: boolean;
  signal?: AbortSignal;
}

export interface PullResult {
  file: string;
  app: DifyAppSummary;
  format: DifyExport['format'];
  sha256: string;
  unchanged: boolean;
}

export async function pull(client: DifyClient, o: PullOptions): Promise<PullResult> {
  const app = await resolveApp(client, { appId: o.appId, name: o.name }, o.signal);
  const exp = await client.exportApp(app.id, { signal: o.signal });
  let file = path.resolve(o.dir ?? o.root, o.out ?? defaultFileName(app, exp.format));
  if (exp.format === 'ifpkg' && !file.toLowerCase().endsWith('.ifpkg')) file = file.replace(/\.(ya?ml)$/i, '') + '.ifpkg';
  const rel = path.relative(o.root, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new UsageError('USAGE', `${file} is outside the workspace ${o.root}; pull into the workspace.`, { file });
  const bytes = exp.bytes;
  const sha = sha256(bytes);
  let current: Uint8Array | undefined;
  try {
    current = new Uint8Array(await readRegularFile(file, { maxBytes: workflowMaxBytes(file) }));
  } catch {
    current = undefined;
  }
  const unchanged = !!current && sha256(current) === sha;
  if (current && !unchanged && !o.force) {
    const rec = await getRemote(o.root, file);
    if (!rec || rec.localSha256 !== sha256(current)) {
      throw new DifyError('DIFY_CONFLICT', `${rel} has changes of its own that the pull would overwrite; nothing was written. Push it first, move it away, or pull with --force (or --out <other file>).`, { location: { file: rel } });
    }
  }
  if (!unchanged) {
    await fs.mkdir(path.dirname(file), { recursive: true });
    await atomicWriteFile(file, bytes);
  }
  const rec: RemoteRecord = { server: client.server, appId: app.id, appMode: app.mode, appName: app.name, format: exp.format, baseSha256: sha, localSha256: sha, pulledAt: new Date().toISOString() };
  await putRemote(o.root, file, rec, bytes);
  return { file, app, format: exp.format, sha256: sha, unchanged };
}

/** The three-way difference shown when Dify's draft changed since the pull: base→Dify and base→ours. */
export function threeWayDiff(rel: string, base: string | undefined, theirs: string, ours: string): string {
  const parts: string[] = [];
  if (base === undefined) {
    parts.push(`(the pulled base of ${rel} is not kept under .optimizer/dify-base; showing Dify's draft against ours)\n`);
    parts.push(createTwoFilesPatch(`dify-draft/${rel}`, `ours/${rel}`, theirs, ours, 'Dify draft now', 'this file', { context: 3 }));
  } else {
    parts.push(`=== changed in Dify since the pull (base → Dify's draft) ===\n`);
    parts.push(createTwoFilesPatch(`base/${rel}`, `dify-draft/${rel}`, base, theirs, 'pulled base', 'Dify draft now', { context: 3 }));
    parts.push(`=== changed here since the pull (base → ours) ===\n`);
    parts.push(createTwoFilesPatch(`base/${rel}`, `ours/${rel}`, base, ours, 'pulled base', 'this file', { context: 3 }));
  }
  return parts.join('');
}

export interface PushOptions {
  root: string;
  file: string;
  /** Import as a new app (no app_id), e.g. for modes Dify does not overwrite. */
  asNew?: boolean;
  /** Name of the new app (asNew). */
  name?: string;
  /** Asked when Dify answers 202 pending (a DSL version mismatch); yes → confirm. */
  confirmVersion: (q: { current: string; imported: string; importId: string }) => Promise<boolean>;
  publish?: boolean;
  signal?: AbortSignal;
}

export type PushResult =
  | { status: 'conflict'; file: string; diff: string; baseSha256: string; draftSha256: string }
  | { status: 'declined'; file: string; import: DifyImport }
  | {
      status: 'pushed';
      file: string;
      appId: string;
      appMode: string;
      asNew: boolean;
      import: DifyImport;
      warnings: DslImportWarning[];
      leakedDependencies: PluginDependency[];
      sha256: string;
      published?: { version_id: string };
      confirmed: boolean;
    };

function modeOfYaml(text: string): string | undefined {
  try {
    const doc = parseYaml(text) as { app?: { mode?: unknown } } | null;
    return typeof doc?.app?.mode === 'string' ? doc.app.mode : undefined;
  } catch {
    return undefined;
  }
}

export async function push(client: DifyClient, o: PushOptions): Promise<PushResult> {
  const file = path.resolve(o.root, o.file);
  const rel = path.relative(o.root, file).split(path.sep).join('/');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readRegularFile(file, { maxBytes: workflowMaxBytes(file) }));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError('FILE_NOT_FOUND', `${rel}: no such file.`, { file: rel });
    throw new UsageError('FILE_IO', `${rel}: cannot read it: ${fsCauseText(e)}.`, { file: rel }, e);
  }
  const format: 'yaml' | 'ifpkg' = file.toLowerCase().endsWith('.ifpkg') ? 'ifpkg' : 'yaml';
  const text = format === 'yaml' ? Buffer.from(bytes).toString('utf8') : undefined;
  const ours = sha256(bytes);
  const rec = await getRemote(o.root, file);
  if (o.publish && client.session.kind !== 'openapi') {
    throw new DifyError('DIFY_UNSUPPORTED', `--publish goes through the OpenAPI ":publish" of ${client.server}, which takes a device-flow sign-in (promptopt dify login ${client.server} --device). Nothing was pushed or published.`);
  }
  if (!o.asNew) {
    if (!rec) throw new UsageError('USAGE', `${rel} was not pulled from Dify (no entry in .optimizer/remotes.json). Pull it first, or push it as a new app with --as-new.`, { file: rel });
    if (rec.server !== client.server) throw new UsageError('USAGE', `${rel} was pulled from ${rec.server}, not ${client.server}. Push it there, or as a new app with --as-new.`, { file: rel });
    const mode = (text && modeOfYaml(text)) || rec.appMode;
    if (!OVERWRITABLE_MODES.has(rec.appMode) || !OVERWRITABLE_MODES.has(mode)) {
      throw new DifyError('DIFY_UNSUPPORTED', `Dify overwrites only workflow and advanced-chat drafts by import; "${rec.appName ?? rec.appId}" is a ${rec.appMode} app. Nothing was pushed. Push it as a new app instead (--as-new, or "Import as New App").`, { location: { file: rel } });
    }
    // Conflict check: Dify's draft now against the base pulled (or last pushed) from here.
    const now = await client.exportApp(rec.appId, { format: rec.format, signal: o.signal });
    const draftSha = sha256(now.bytes);
    if (draftSha !== rec.baseSha256 && draftSha !== ours) {
      const baseBytes = await readBase(o.root, rec.baseSha256);
      const diff =
        format === 'yaml' && now.format === 'yaml'
          ? threeWayDiff(rel, baseBytes ? Buffer.from(baseBytes).toString('utf8') : undefined, now.text, text ?? '')
          : `${rel}: the package in Dify (sha256 ${draftSha}) is no longer the one pulled (sha256 ${rec.baseSha256}).\n`;
      return { status: 'conflict', file, diff, baseSha256: rec.baseSha256, draftSha256: draftSha };
    }
  }
  const appId = o.asNew ? undefined : rec!.appId;
  const src = format === 'yaml' ? { yaml: text! } : { ifpkg: bytes, filename: path.basename(file) };
  let imp = await client.importApp(src, { appId, name: o.asNew ? o.name : undefined, signal: o.signal });
  let confirmed = false;
  if (imp.status === 'pending') {
    const ok = await o.confirmVersion({ current: imp.current_dsl_version ?? '?', imported: imp.imported_dsl_version ?? '?', importId: imp.id });
    if (!ok) return { status: 'declined', file, import: imp };
    imp = await client.confirmImport(imp.id, o.signal);
    confirmed = true;
  }
  if (imp.status === 'failed') {
    throw new DifyError('DIFY_IMPORT_FAILED', `Dify refused the import of ${rel}: ${imp.error || 'no reason given'}. Nothing was changed in Dify.`, { status: imp.httpStatus, location: { file: rel } });
  }
  const newAppId = imp.app_id ?? appId;
  if (!newAppId) throw new DifyError('DIFY_BAD_RESPONSE', `Dify answered the import of ${rel} without an app id.`);
  const leaked = await client.checkDependencies(newAppId, o.signal).catch(() => [] as PluginDependency[]);
  // The new base is what Dify now holds (its own serialization of what we sent).
  const after = await client.exportApp(newAppId, { format: rec?.format ?? format, signal: o.signal });
  const mode = imp.app_mode ?? rec?.appMode ?? (text && modeOfYaml(text)) ?? '';
  const newRec: RemoteRecord = {
    server: client.server,
    appId: newAppId,
    appMode: mode,
    appName: rec && !o.asNew ? rec.appName : o.name ?? rec?.appName,
    format,
    baseSha256: sha256(after.bytes),
    localSha256: ours,
    pushedSha256: ours,
    pulledAt: rec?.pulledAt,
    pushedAt: new Date().toISOString(),
  };
  await putRemote(o.root, file, newRec, after.bytes);
  let published: { version_id: string } | undefined;
  if (o.publish) published = await client.publish(newAppId, { signal: o.signal });
  return { status: 'pushed', file, appId: newAppId, appMode: mode, asNew: !!o.asNew, import: imp, warnings: imp.warnings ?? [], leakedDependencies: leaked, sha256: ours, published, confirmed };
}

/** One line per warning and missing plugin, for people. */
export function describePushNotes(r: Extract<PushResult, { status: 'pushed' }>): string[] {
  const out: string[] = [];
  if (r.import.status === 'completed-with-warnings') out.push(`Dify imported with warnings (DSL ${r.import.imported_dsl_version ?? '?'} into ${r.import.current_dsl_version ?? '?'}).`);
  for (const w of r.warnings) out.push(`warning ${w.code} at ${w.path}: ${w.message}`);
  for (const d of r.leakedDependencies) {
    const v = d.value as Record<string, unknown>;
    const id = d.current_identifier ?? v.plugin_unique_identifier ?? v.marketplace_plugin_unique_identifier ?? v.github_plugin_unique_identifier ?? v.repo ?? JSON.stringify(v);
    out.push(`missing plugin (${d.type}): ${String(id)} — install it in the workspace before running the app.`);
  }
  return out;
}
