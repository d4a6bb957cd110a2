/**
 * Temporary copies of an app on Dify, made to run one prompt version's draft and deleted
 * afterwards. A copy is imported as a new app (POST /console/api/apps/imports without `app_id`,
 * api/controllers/console/app/app_import.py; `name` and `description` are AppImportParams fields of
 * api/services/entities/dsl_entities.py), so the user's own app is never touched.
 *
 * Every copy is recognisable twice over: its name starts with "[promptopt tmp]" and its description
 * carries a marker with the run's id, this machine and process, and the time it was made. A run
 * that crashed leaves its copies behind; the next run lists the apps whose name has the prefix
 * (GET /console/api/apps?name=, a substring filter in api/services/app_service.py), keeps those
 * whose description has the marker, and deletes those made before it started — except the copies
 * of a run still going in this process, or in a live process of this machine.
 */
import * as os from 'node:os';
import { DifyError } from '../errors';
import type { DifyClient } from './client';
import type { DifyImport } from './types';

export const TEMP_NAME_PREFIX = '[promptopt tmp]';
const MARKER_RE = /promptopt-tmp run=([0-9a-z-]+) host=(\S+) pid=(\d+) at=(\d{4}-\d\d-\d\dT[0-9:.]+Z)/;

export interface TempMarker {
  runId: string;
  host: string;
  pid: number;
  /** When the copy was made (ms). */
  at: number;
}

export function markerText(m: TempMarker): string {
  return `Temporary copy made by Prompt Optimizer to run a prompt version; deleted when the run ends. promptopt-tmp run=${m.runId} host=${m.host} pid=${m.pid} at=${new Date(m.at).toISOString()}`;
}

export function parseMarker(description: string | undefined): TempMarker | undefined {
  const m = description ? MARKER_RE.exec(description) : null;
  if (!m) return undefined;
  const at = Date.parse(m[4]!);
  return Number.isNaN(at) ? undefined : { runId: m[1]!, host: m[2]!, pid: Number(m[3]), at };
}

/** "[promptopt tmp] <app name> <short hash>", within Dify's name length (the console form allows 40+; kept short). */
export function tempAppName(appName: string, shortHash: string): string {
  const name = appName.trim().replace(/\s+/g, ' ').slice(0, 48) || 'app';
  return `${TEMP_NAME_PREFIX} ${name} ${shortHash.slice(0, 8)}`;
}

/** Run ids with copies alive in this process (an extension host may run two gates at once). */
const liveRuns = new Set<string>();

export function markRunLive(runId: string, live: boolean): void {
  if (live) liveRuns.add(runId);
  else liveRuns.delete(runId);
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A copy made by a run that is over: from before `before`, not a live run of this process or of a live process here. */
export function isLeftover(m: TempMarker, before: number, host = os.hostname()): boolean {
  if (m.at >= before) return false;
  if (liveRuns.has(m.runId)) return false;
  if (m.host === host && m.pid !== process.pid && processAlive(m.pid)) return false;
  return true;
}

/** Deletes the temporary copies left by earlier runs; returns their ids. A copy that cannot be deleted is skipped (tried again next time). */
export async function deleteLeftovers(client: DifyClient, opts: { before: number; signal?: AbortSignal; host?: string }): Promise<string[]> {
  const apps = await client.listApps({ name: TEMP_NAME_PREFIX, signal: opts.signal });
  const gone: string[] = [];
  for (const a of apps) {
    if (!a.name.startsWith(TEMP_NAME_PREFIX)) continue;
    const m = parseMarker(a.description);
    if (!m || !isLeftover(m, opts.before, opts.host)) continue;
    try {
      await client.deleteApp(a.id, opts.signal);
      gone.push(a.id);
    } catch (e) {
      if (e instanceof DifyError && e.status === 404) gone.push(a.id);
    }
  }
  return gone;
}

export interface TempApp {
  id: string;
  name: string;
  mode: string;
  /** The server's DSL version (Import.current_dsl_version) and the one imported. */
  serverDslVersion?: string;
  importedDslVersion?: string;
}

/**
 * Imports `yaml` as a new app named and marked as a temporary copy. A pending import (the DSL is
 * newer than the server's, or of another major version: api/services/dsl_version.py) is confirmed,
 * as the user's own import of this file would need; a failed one throws DIFY_IMPORT_FAILED.
 */
export async function createTempApp(client: DifyClient, yaml: string, o: { name: string; marker: TempMarker; signal?: AbortSignal }): Promise<TempApp> {
  let imp: DifyImport = await client.importApp({ yaml }, { name: o.name, description: markerText(o.marker), signal: o.signal });
  if (imp.status === 'pending') imp = await client.confirmImport(imp.id, o.signal);
  if (imp.status === 'failed' || !imp.app_id) {
    throw new DifyError('DIFY_IMPORT_FAILED', `${client.server} refused the temporary copy "${o.name}": ${imp.error || `import ${imp.status}`}.`, { status: imp.httpStatus });
  }
  return { id: imp.app_id, name: o.name, mode: imp.app_mode ?? '', serverDslVersion: imp.current_dsl_version, importedDslVersion: imp.imported_dsl_version };
}
