import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { findWorkspaceRoot, VersionStore, workflowKey } from '../../core/storage';
import { PACKAGE_SCHEME } from '../constants';
import type { Logger } from './logger';

const POLL_MS = 2000;

/** Thrown (and shown) when an action needs a trusted workspace. */
export class RestrictedModeError extends Error {
  override readonly name = 'RestrictedModeError';
}

/** Message shown when something would write to `.optimizer/` in Restricted Mode. */
export function restrictedWriteMessage(what: string): string {
  return `${what} is not available in Restricted Mode: it would write to .optimizer/ in this workspace. Trust the workspace (Manage Workspace Trust) to record versions.`;
}

/** The workspace root a file's versions live under: its workspace folder, else the nearest .optimizer/.git. */
export function rootFor(uri: vscode.Uri): string {
  // A package's app.yaml (`ifpkg:`) lives under the folder of the package file itself.
  const folder = vscode.workspace.getWorkspaceFolder(uri.scheme === PACKAGE_SCHEME ? vscode.Uri.file(uri.fsPath) : uri);
  return folder ? folder.uri.fsPath : findWorkspaceRoot(uri.fsPath);
}

/** The store key of a workflow file. */
export function workflowOf(uri: vscode.Uri): { root: string; workflow: string } {
  const root = rootFor(uri);
  return { root, workflow: workflowKey(root, uri.fsPath) };
}

/**
 * Version stores per workspace root: read-only ones for views and CodeLens (never create
 * `.optimizer/`), writable ones only in a trusted workspace. Readers are reopened after any
 * change to `.optimizer/` (ours, the CLI's or another window's).
 */
export class StoreManager implements vscode.Disposable {
  private readonly readers = new Map<string, Promise<VersionStore>>();
  private readonly writers = new Map<string, Promise<VersionStore>>();
  private readonly emitter = new vscode.EventEmitter<void>();
  /** Fires (debounced) when versions changed on disk. */
  readonly onDidChange = this.emitter.event;
  private readonly disposables: vscode.Disposable[] = [this.emitter];
  private timer: NodeJS.Timeout | undefined;
  private diskEvents = 0;
  private lastChanged = '';

  constructor(private readonly log: Logger) {
    const w = vscode.workspace.createFileSystemWatcher('**/.optimizer/versions/**');
    const changed = (uri: vscode.Uri) => {
      this.diskEvents++;
      this.lastChanged = vscode.workspace.asRelativePath(uri);
      this.invalidate();
    };
    this.disposables.push(w, w.onDidChange(changed), w.onDidCreate(changed), w.onDidDelete(changed));
  }

  private pollTimer: NodeJS.Timeout | undefined;
  private signature = '';

  /**
   * Polls the index logs under `.optimizer/index/` (every write appends to one; a few stats)
   * while `active`: a file watcher can miss writes made right as a folder appears, and the
   * views must still follow the CLI and other windows.
   */
  setPolling(active: boolean): void {
    if (active && !this.pollTimer) {
      this.signature = this.computeSignature();
      this.pollTimer = setInterval(() => {
        const sig = this.computeSignature();
        if (sig !== this.signature) {
          this.signature = sig;
          this.diskEvents++;
          this.lastChanged = '.optimizer/index (poll)';
          this.invalidate();
        }
      }, POLL_MS);
    } else if (!active && this.pollTimer) {
      clearInterval(this.pollTimer);
      this.pollTimer = undefined;
    }
  }

  private computeSignature(): string {
    const parts: string[] = [];
    for (const folder of vscode.workspace.workspaceFolders ?? []) {
      const dir = path.join(folder.uri.fsPath, '.optimizer', 'index');
      let names: string[];
      try {
        names = fs.readdirSync(dir);
      } catch {
        continue;
      }
      for (const n of names) {
        try {
          const st = fs.statSync(path.join(dir, n));
          parts.push(`${n}:${st.size}:${st.mtimeMs}`);
        } catch {
          parts.push(`${n}:gone`);
        }
      }
    }
    return parts.join('|');
  }

  /** Drops cached readers and tells listeners (debounced 150 ms). */
  invalidate(): void {
    const old = [...this.readers.values()];
    this.readers.clear();
    for (const p of old) void p.then((s) => s.close()).catch(() => undefined);
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (this.diskEvents) this.log.info(`versions changed on disk (${this.diskEvents} file events, last ${this.lastChanged})`);
      this.diskEvents = 0;
      this.emitter.fire();
    }, 150);
  }

  async reader(root: string): Promise<VersionStore> {
    let p = this.readers.get(root);
    if (!p) {
      p = VersionStore.open(root, { readOnly: true, onWarning: (m) => this.log.warn(m) });
      this.readers.set(root, p);
      p.catch(() => this.readers.delete(root));
    }
    return p;
  }

  /** A writable store; throws RestrictedModeError in Restricted Mode. */
  async writer(root: string, what: string): Promise<VersionStore> {
    if (!vscode.workspace.isTrusted) throw new RestrictedModeError(restrictedWriteMessage(what));
    let p = this.writers.get(root);
    if (!p) {
      p = VersionStore.open(root, { onWarning: (m) => this.log.warn(m) });
      this.writers.set(root, p);
      p.catch(() => this.writers.delete(root));
    }
    return p;
  }

  /** Whether `root` has a version folder at all (cheap). */
  static hasVersions(root: string): boolean {
    return fs.existsSync(path.join(root, '.optimizer', 'versions'));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const p of [...this.readers.values(), ...this.writers.values()]) void p.then((s) => s.close()).catch(() => undefined);
    for (const d of this.disposables) d.dispose();
  }
}
