import { promises as fs, watch, type FSWatcher } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { isOptimizerError } from '../../core/errors';
import { isPackagePath, PACKAGE_MAX_BYTES, readPackage } from '../../core/package/index';
import { readRegularFile } from '../../core/util/safeRead';
import { updateWorkflowFile } from '../../core/service/fileWriter';
import { PACKAGE_SCHEME } from '../constants';

/**
 * The `ifpkg:` file system: `ifpkg:/abs/path/app.ifpkg` is the package's `app.yaml` as an
 * editable text document. Reading checks the package as Dify does (core/package); saving writes
 * the text back into the package through `updateWorkflowFile` (the lock and conflict checks of
 * a YAML export; the manifest's size and sha256 updated; every other member byte-identical).
 * The URI's path is the package's own path, so the version history is the package's, as in the CLI.
 */
export function packageUri(file: vscode.Uri | string): vscode.Uri {
  const p = typeof file === 'string' ? vscode.Uri.file(file).path : file.path;
  return vscode.Uri.from({ scheme: PACKAGE_SCHEME, path: p });
}

/** The URI a workflow file is edited under: `ifpkg:` for a package, else the file itself. */
export function workflowUri(file: string): vscode.Uri {
  return isPackagePath(file) ? packageUri(file) : vscode.Uri.file(file);
}

/** Documents that are workflow files on disk (a file, or a package's app.yaml). */
export function isOnDisk(uri: vscode.Uri): boolean {
  return uri.scheme === 'file' || uri.scheme === PACKAGE_SCHEME;
}

function toFsError(e: unknown, uri: vscode.Uri): vscode.FileSystemError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return vscode.FileSystemError.FileNotFound(uri);
  const msg = isOptimizerError(e) ? `${e.message} [${e.code}]` : (e as Error).message;
  return vscode.FileSystemError.Unavailable(msg);
}

export class PackageFileSystemProvider implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  private readonly watchers = new Set<FSWatcher>();

  watch(uri: vscode.Uri): vscode.Disposable {
    let w: FSWatcher | undefined;
    try {
      w = watch(uri.fsPath, () => this.emitter.fire([{ type: vscode.FileChangeType.Changed, uri }]));
      this.watchers.add(w);
    } catch {
      /* not there yet: nothing to watch */
    }
    return new vscode.Disposable(() => {
      if (w) {
        w.close();
        this.watchers.delete(w);
      }
    });
  }

  async stat(uri: vscode.Uri): Promise<vscode.FileStat> {
    try {
      const st = await fs.stat(uri.fsPath);
      return { type: vscode.FileType.File, ctime: st.ctimeMs, mtime: st.mtimeMs, size: st.size };
    } catch (e) {
      throw toFsError(e, uri);
    }
  }

  async readFile(uri: vscode.Uri): Promise<Uint8Array> {
    try {
      return readPackage(await readRegularFile(uri.fsPath, { maxBytes: PACKAGE_MAX_BYTES }), path.basename(uri.fsPath)).appBytes;
    } catch (e) {
      throw toFsError(e, uri);
    }
  }

  async writeFile(uri: vscode.Uri, content: Uint8Array, options: { create: boolean; overwrite: boolean }): Promise<void> {
    void options;
    const text = Buffer.from(content).toString('utf8');
    try {
      await updateWorkflowFile(uri.fsPath, () => text, { displayName: path.basename(uri.fsPath), what: 'saving its app.yaml' });
    } catch (e) {
      throw toFsError(e, uri);
    }
    this.emitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
  }

  readDirectory(): [string, vscode.FileType][] {
    throw vscode.FileSystemError.NoPermissions('a package opens as its app.yaml only');
  }
  createDirectory(): void {
    throw vscode.FileSystemError.NoPermissions('a package opens as its app.yaml only');
  }
  delete(): void {
    throw vscode.FileSystemError.NoPermissions('a package opens as its app.yaml only');
  }
  rename(): void {
    throw vscode.FileSystemError.NoPermissions('a package opens as its app.yaml only');
  }

  dispose(): void {
    for (const w of this.watchers) w.close();
    this.watchers.clear();
    this.emitter.dispose();
  }
}

/**
 * The editor VS Code picks for `*.ifpkg` opened from the explorer: it opens the package's
 * `app.yaml` (`ifpkg:` document, YAML) in the same column and closes itself, so the user lands
 * on the text with every feature of a YAML export.
 */
export class PackageEditorRedirect implements vscode.CustomReadonlyEditorProvider {
  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => undefined };
  }

  async resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): Promise<void> {
    panel.webview.html = `<!DOCTYPE html><html><body><p>Opening app.yaml of ${escapeHtml(path.basename(document.uri.fsPath))}…</p></body></html>`;
    await openPackage(document.uri, panel.viewColumn);
    panel.dispose();
  }
}

/** Opens a package's app.yaml as a YAML text editor. */
export async function openPackage(file: vscode.Uri, column?: vscode.ViewColumn): Promise<vscode.TextEditor> {
  let doc = await vscode.workspace.openTextDocument(packageUri(file));
  if (doc.languageId !== 'yaml') doc = await vscode.languages.setTextDocumentLanguage(doc, 'yaml');
  return vscode.window.showTextDocument(doc, { viewColumn: column, preview: false });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
