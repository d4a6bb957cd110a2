import * as path from 'node:path';
import { readRegularTextSync } from '../util/safeRead';
import { readdirOrEmpty } from './fsutil';
import { VERSION_FILE } from './indexLog';
import { assertValidId, decodeName, encodeName } from './names';
import { versionFileSchema } from './schema';

/** Reports a folder skipped while listing. */
export type OnSkip = (dir: string, why: string) => void;

/**
 * Prompt ids of a workflow that have at least one version file under `versionsDir`, sorted.
 * A directory whose name does not decode (e.g. a long id stored hashed) is named by the ids
 * inside its first readable version file.
 */
export function listPromptIds(versionsDir: string, workflow: string, skipped: OnSkip): string[] {
  assertValidId(workflow, 'workflow');
  const wfDir = path.join(versionsDir, encodeName(workflow, 'workflow'));
  const out: string[] = [];
  for (const name of readdirOrEmpty(wfDir, skipped)) {
    const files = readdirOrEmpty(path.join(wfDir, name), skipped).filter((f) => VERSION_FILE.test(f));
    if (files.length === 0) continue;
    const id = decodeName(name) ?? idFromFiles(path.join(wfDir, name), files)?.promptId;
    if (id !== undefined) out.push(id);
  }
  return out.sort();
}

/** Workflow keys that have stored versions under `versionsDir`, sorted. */
export function listWorkflowKeys(versionsDir: string, skipped: OnSkip): string[] {
  const out: string[] = [];
  for (const name of readdirOrEmpty(versionsDir, skipped)) {
    const wfDir = path.join(versionsDir, name);
    let id = decodeName(name);
    if (id === undefined) {
      for (const p of readdirOrEmpty(wfDir, skipped)) {
        const files = readdirOrEmpty(path.join(wfDir, p), skipped).filter((f) => VERSION_FILE.test(f));
        id = idFromFiles(path.join(wfDir, p), files)?.workflow;
        if (id !== undefined) break;
      }
    }
    if (id !== undefined && readdirOrEmpty(wfDir, skipped).length > 0) out.push(id);
  }
  return out.sort();
}

function idFromFiles(dir: string, files: string[]): { workflow: string; promptId: string } | undefined {
  for (const f of files) {
    try {
      const r = versionFileSchema.safeParse(JSON.parse(readRegularTextSync(path.join(dir, f), { noFollow: true })));
      if (r.success) return { workflow: r.data.workflow, promptId: r.data.promptId };
    } catch {
      /* try the next */
    }
  }
  return undefined;
}
