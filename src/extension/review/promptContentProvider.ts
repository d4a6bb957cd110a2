import * as vscode from 'vscode';
import { PROMPT_SCHEME } from '../constants';

interface Entry {
  text: string;
  writable: boolean;
  mtime: number;
  ctime: number;
}

/**
 * The in-memory file system (scheme `promptopt:`) holding decoded prompt texts — what the model
 * reads, not YAML escapes — for the diff editors. Texts are registered before a diff opens.
 * Every file is read-only except the proposed side of a proposal ({@link putEditable}): the user
 * edits it in the diff, and Accept takes the edited text. Nothing here is ever written to disk.
 */
export class PromptContentProvider implements vscode.FileSystemProvider, vscode.Disposable {
  private readonly files = new Map<string, Entry>();
  private readonly emitter = new vscode.EventEmitter<vscode.FileChangeEvent[]>();
  readonly onDidChangeFile = this.emitter.event;
  private clock = 0;

  /** The URI of the text registered under `segments` with this label (see {@link put}). */
  static uriOf(segments: string[], label: string): vscode.Uri {
    const name = label.replace(/[\\/:*?"<>|#?%\r\n]+/g, ' ').trim().slice(0, 80) || 'prompt';
    return vscode.Uri.from({ scheme: PROMPT_SCHEME, path: `/${segments.map(encodeURIComponent).join('/')}/${name}.md` });
  }

  /** Strictly increasing modification times, so VS Code always sees a change as new. */
  private now(): number {
    this.clock = Math.max(Date.now(), this.clock + 1);
    return this.clock;
  }

  /**
   * Registers `text` (read-only) under a URI built from `segments` (e.g. ['proposal','p1','original'])
   * and a readable file name shown in the tab; returns the URI. A new text for a registered URI
   * updates the documents showing it.
   */
  put(segments: string[], label: string, text: string): vscode.Uri {
    return this.set(PromptContentProvider.uriOf(segments, label), text, false, true);
  }

  /**
   * Registers an editable text: only the first call sets it; later calls keep what the user
   * wrote (saved into this file system) and return the same URI.
   */
  putEditable(segments: string[], label: string, text: string): vscode.Uri {
    return this.set(PromptContentProvider.uriOf(segments, label), text, true, false);
  }

  private set(uri: vscode.Uri, text: string, writable: boolean, replace: boolean): vscode.Uri {
    const key = uri.toString();
    const old = this.files.get(key);
    if (old && (!replace || old.text === text)) return uri;
    const t = this.now();
    this.files.set(key, { text, writable, mtime: t, ctime: old?.ctime ?? t });
    this.emitter.fire([{ type: old ? vscode.FileChangeType.Changed : vscode.FileChangeType.Created, uri }]);
    return uri;
  }

  /** The stored text of a URI (what was registered, or what the user last saved there). */
  text(uri: vscode.Uri): string | undefined {
    return this.files.get(uri.toString())?.text;
  }

  /** Forgets the texts registered under `segments` (e.g. a decided proposal's two sides). */
  drop(segments: string[]): void {
    const prefix = vscode.Uri.from({ scheme: PROMPT_SCHEME, path: `/${segments.map(encodeURIComponent).join('/')}/` }).toString();
    for (const k of [...this.files.keys()]) if (k.startsWith(prefix)) this.files.delete(k);
  }

  /** The first path segment after the scheme, e.g. 'proposal', the second (the id) and the third (the side). */
  static parse(uri: vscode.Uri): { kind: string; id: string; side: string } | undefined {
    if (uri.scheme !== PROMPT_SCHEME) return undefined;
    const [kind, id, side] = uri.path.split('/').filter(Boolean).map(decodeURIComponent);
    return kind && id ? { kind, id, side: side ?? '' } : undefined;
  }

  // ------------------------------------------------------------ vscode.FileSystemProvider

  watch(): vscode.Disposable {
    return new vscode.Disposable(() => undefined); // every change is fired by put / writeFile
  }

  stat(uri: vscode.Uri): vscode.FileStat {
    const f = this.files.get(uri.toString());
    if (f) {
      return {
        type: vscode.FileType.File,
        ctime: f.ctime,
        mtime: f.mtime,
        size: Buffer.byteLength(f.text, 'utf8'),
        permissions: f.writable ? undefined : vscode.FilePermission.Readonly,
      };
    }
    const dir = uri.toString().replace(/\/?$/, '/');
    if (uri.path === '/' || [...this.files.keys()].some((k) => k.startsWith(dir))) {
      return { type: vscode.FileType.Directory, ctime: 0, mtime: 0, size: 0, permissions: vscode.FilePermission.Readonly };
    }
    throw vscode.FileSystemError.FileNotFound(uri);
  }

  readDirectory(): [string, vscode.FileType][] {
    return []; // never listed: the files are opened by URI only
  }

  readFile(uri: vscode.Uri): Uint8Array {
    const f = this.files.get(uri.toString());
    if (!f) throw vscode.FileSystemError.FileNotFound(uri);
    return Buffer.from(f.text, 'utf8');
  }

  /** Saving the proposed side of a diff keeps the edit here (in memory); every other file is read-only. */
  writeFile(uri: vscode.Uri, content: Uint8Array): void {
    const key = uri.toString();
    const f = this.files.get(key);
    if (!f) throw vscode.FileSystemError.FileNotFound(uri);
    if (!f.writable) throw vscode.FileSystemError.NoPermissions(uri);
    this.files.set(key, { ...f, text: Buffer.from(content).toString('utf8'), mtime: this.now() });
    this.emitter.fire([{ type: vscode.FileChangeType.Changed, uri }]);
  }

  createDirectory(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  delete(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  rename(uri: vscode.Uri): void {
    throw vscode.FileSystemError.NoPermissions(uri);
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
