import * as vscode from 'vscode';
import { analysisInput, analyzePrompt, type Analysis } from '../../core/analysis';
import { looksLikeDifyExport, parseDify, type DifyDocument, type PromptRecord } from '../../core/dsl';
import { toOptimizerError, type OptimizerError } from '../../core/errors';
import { PACKAGE_SCHEME } from '../constants';

/** What we know about one version of one document. */
export interface ParsedDocument {
  uri: string;
  version: number;
  /** The parsed export, or undefined when the text is not a valid Dify export. */
  doc?: DifyDocument;
  error?: OptimizerError;
}

const DEBOUNCE_MS = 300;

/**
 * Parse and analysis results keyed by document URI and version, so each edit is parsed once
 * and each prompt analysed once, whoever asks (CodeLens, diagnostics, code actions, commands).
 * Edits are debounced ({@link onDidSettle} fires ~300 ms after the last change): nothing
 * heavy runs on the typing path.
 */
export class DocumentCache implements vscode.Disposable {
  private readonly parsed = new Map<string, ParsedDocument>();
  private readonly analyses = new WeakMap<PromptRecord, Analysis>();
  /** The classes of each classifier node of a parse, keyed by node id (built once per parse, on the first class analysed). */
  private readonly classes = new WeakMap<DifyDocument, Map<string, PromptRecord[]>>();
  private readonly docOf = new WeakMap<PromptRecord, DifyDocument>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly emitter = new vscode.EventEmitter<vscode.TextDocument>();
  private readonly disposables: vscode.Disposable[] = [];
  /** Fires once a document's edits have settled (debounced), or when it is opened. */
  readonly onDidSettle = this.emitter.event;

  constructor() {
    this.disposables.push(
      this.emitter,
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.contentChanges.length === 0) return;
        this.schedule(e.document);
      }),
      vscode.workspace.onDidOpenTextDocument((d) => this.schedule(d, 0)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        const key = d.uri.toString();
        this.parsed.delete(key);
        const t = this.timers.get(key);
        if (t) clearTimeout(t);
        this.timers.delete(key);
      }),
    );
  }

  private schedule(doc: vscode.TextDocument, delay = DEBOUNCE_MS): void {
    if (!isCandidate(doc)) return;
    const key = doc.uri.toString();
    const prev = this.timers.get(key);
    if (prev) clearTimeout(prev);
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        if (!doc.isClosed) this.emitter.fire(doc);
      }, delay),
    );
  }

  /** Cheap content check (no parse): a YAML/JSON document that looks like a Dify export. */
  isDifyExport(doc: vscode.TextDocument): boolean {
    if (!isCandidate(doc)) return false;
    const hit = this.parsed.get(doc.uri.toString());
    if (hit && hit.version === doc.version) return !!hit.doc;
    return looksLikeDifyExport(doc.getText());
  }

  /** The parse of the document's current version (parsed now if needed, then cached). */
  get(doc: vscode.TextDocument): ParsedDocument {
    const key = doc.uri.toString();
    const hit = this.parsed.get(key);
    if (hit && hit.version === doc.version) return hit;
    const entry: ParsedDocument = { uri: key, version: doc.version };
    const text = doc.getText();
    if (isCandidate(doc) && looksLikeDifyExport(text)) {
      try {
        entry.doc = parseDify(text, { file: vscode.workspace.asRelativePath(doc.uri, false) });
        for (const p of entry.doc.prompts) if (p.kind === 'classifier-class') this.docOf.set(p, entry.doc);
      } catch (e) {
        entry.error = toOptimizerError(e);
      }
    }
    this.parsed.set(key, entry);
    return entry;
  }

  /** The analysis of a prompt record (computed once per record, i.e. once per document version). */
  analysis(rec: PromptRecord): Analysis {
    let a = this.analyses.get(rec);
    if (!a) {
      // A class name is judged against the other classes of its node.
      a = analyzePrompt(analysisInput(rec, rec.kind === 'classifier-class' ? this.classesOf(rec) : [rec]));
      this.analyses.set(rec, a);
    }
    return a;
  }

  /** The classes of `rec`'s classifier node in its parse (just `rec` for a record we did not parse). */
  private classesOf(rec: PromptRecord): readonly PromptRecord[] {
    const doc = this.docOf.get(rec);
    if (!doc) return [rec];
    let byNode = this.classes.get(doc);
    if (!byNode) {
      byNode = new Map();
      for (const p of doc.prompts) {
        if (p.kind !== 'classifier-class') continue;
        const list = byNode.get(p.nodeId);
        if (list) list.push(p);
        else byNode.set(p.nodeId, [p]);
      }
      this.classes.set(doc, byNode);
    }
    return byNode.get(rec.nodeId) ?? [rec];
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const d of this.disposables) d.dispose();
  }
}

/** Documents we look at: files (or untitled) in YAML or JSON. */
export function isCandidate(doc: vscode.TextDocument): boolean {
  if (doc.uri.scheme === PACKAGE_SCHEME) return true;
  if (doc.uri.scheme !== 'file' && doc.uri.scheme !== 'untitled') return false;
  return doc.languageId === 'yaml' || doc.languageId === 'json' || /\.(ya?ml|json)$/i.test(doc.uri.path);
}

/** The prompt whose value range contains `offset` (file offset), if any. */
export function promptAt(doc: DifyDocument, offset: number): PromptRecord | undefined {
  if (doc.app.wrapped) return undefined;
  return doc.prompts.find((p) => p.range && p.range.start.offset <= offset && offset <= p.range.end.offset);
}
