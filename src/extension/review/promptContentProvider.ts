import * as vscode from 'vscode';
import { PROMPT_SCHEME } from '../constants';

/**
 * Read-only virtual documents (scheme `promptopt:`) holding decoded prompt texts — what the model
 * reads, not YAML escapes — for the diff editors. Texts are registered before a diff opens.
 */
export class PromptContentProvider implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly texts = new Map<string, string>();
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;

  /**
   * Registers `text` under a URI built from `segments` (e.g. ['proposal','p1','proposed']) and a
   * readable file name shown in the tab; returns the URI.
   */
  put(segments: string[], label: string, text: string): vscode.Uri {
    const name = label.replace(/[\\/:*?"<>|#?%\r\n]+/g, ' ').trim().slice(0, 80) || 'prompt';
    const uri = vscode.Uri.from({ scheme: PROMPT_SCHEME, path: `/${segments.map(encodeURIComponent).join('/')}/${name}.md` });
    const key = uri.toString();
    const changed = this.texts.has(key) && this.texts.get(key) !== text;
    this.texts.set(key, text);
    if (changed) this.emitter.fire(uri);
    return uri;
  }

  /** Forgets the texts registered under `segments` (e.g. a decided proposal's two sides). */
  drop(segments: string[]): void {
    const prefix = vscode.Uri.from({ scheme: PROMPT_SCHEME, path: `/${segments.map(encodeURIComponent).join('/')}/` }).toString();
    for (const k of [...this.texts.keys()]) if (k.startsWith(prefix)) this.texts.delete(k);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '';
  }

  /** The first path segment after the scheme, e.g. 'proposal', and the second (the id). */
  static parse(uri: vscode.Uri): { kind: string; id: string; side: string } | undefined {
    if (uri.scheme !== PROMPT_SCHEME) return undefined;
    const [kind, id, side] = uri.path.split('/').filter(Boolean).map(decodeURIComponent);
    return kind && id ? { kind, id, side: side ?? '' } : undefined;
  }

  dispose(): void {
    this.emitter.dispose();
  }
}
