import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { encodeName } from './names';
import type { PromptIndex } from './promptIndex';
import { optimizerDir } from './workspace';

/** `.optimizer/.gitignore`: local caches stay out of git; versions/, datasets/ and config.yaml are committed. */
export const OPTIMIZER_GITIGNORE = [
  '# Written by Prompt Optimizer. Local, rebuildable data: never commit it.',
  '# Keep versions/, datasets/ and config.yaml under version control.',
  'index/',
  'locks/',
  'tmp/',
  'quarantine/',
  'cache/',
  'runs/',
  '',
].join('\n');

/**
 * Where the version store keeps what, under `<workspace>/.optimizer/`:
 * - `versions/<workflow>/<prompt>/<major.minor.patch>.json`: one file per version (commit it);
 *   directory names come from `encodeName`.
 * - `index/<hash>.jsonl`: per-prompt index log; `locks/<hash>.lock`: per-prompt lock;
 *   `tmp/`, `quarantine/`: local, git-ignored.
 */
export class StoreLayout {
  readonly root: string;
  readonly versionsDir: string;
  readonly indexDir: string;
  readonly lockDir: string;
  readonly tmpDir: string;
  readonly quarantineDir: string;

  constructor(workspaceRoot: string) {
    this.root = optimizerDir(workspaceRoot);
    this.versionsDir = path.join(this.root, 'versions');
    this.indexDir = path.join(this.root, 'index');
    this.lockDir = path.join(this.root, 'locks');
    this.tmpDir = path.join(this.root, 'tmp');
    this.quarantineDir = path.join(this.root, 'quarantine');
  }

  /** Creates the store's folders and, when it is missing, its `.gitignore` (a writable store, at open). */
  prepare(): void {
    for (const d of [this.versionsDir, this.indexDir, this.lockDir, this.tmpDir]) fs.mkdirSync(d, { recursive: true });
    const gi = path.join(this.root, '.gitignore');
    if (!fs.existsSync(gi)) fs.writeFileSync(gi, OPTIMIZER_GITIGNORE);
  }

  promptKey(workflow: string, promptId: string): string {
    return `${encodeName(workflow, 'workflow')}/${encodeName(promptId, 'prompt id')}`;
  }

  promptDir(workflow: string, promptId: string): string {
    return path.join(this.versionsDir, encodeName(workflow, 'workflow'), encodeName(promptId, 'prompt id'));
  }

  /** The prompt's version directory (computed once per prompt: encoding names is not free). */
  dirOf(idx: PromptIndex): string {
    return (idx.dir ??= this.promptDir(idx.workflow, idx.promptId));
  }

  versionFile(idx: PromptIndex, version: string): string {
    return `${this.dirOf(idx)}${path.sep}${version}.json`;
  }

  hashName(idx: PromptIndex): string {
    return (idx.hash ??= createHash('sha256').update(this.promptKey(idx.workflow, idx.promptId)).digest('hex').slice(0, 32));
  }

  logFile(idx: PromptIndex): string {
    return path.join(this.indexDir, `${this.hashName(idx)}.jsonl`);
  }

  lockFile(idx: PromptIndex): string {
    return path.join(this.lockDir, `${this.hashName(idx)}.lock`);
  }
}
