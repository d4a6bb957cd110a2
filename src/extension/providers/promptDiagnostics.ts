import * as vscode from 'vscode';
import type { PromptIssue } from '../../core/analysis';
import { sourceOffsetOf, type DslWarning } from '../../core/dsl';
import type { OptimizerError } from '../../core/errors';
import { DIAGNOSTIC_SOURCE } from '../constants';
import { isCandidate, type DocumentCache } from '../services/documentCache';
import { diagnosticsEnabled } from '../services/settings';

/** One diagnostic with the issue and prompt it came from (for code actions). */
export interface IssueDiagnostic {
  diagnostic: vscode.Diagnostic;
  promptId: string;
  issue: PromptIssue;
}

const SEVERITY: Record<PromptIssue['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/** Prompts analysed between two yields to the event loop (large files never block the host). */
const CHUNK = 25;

/**
 * Analysis issues as diagnostics in the Problems panel, with ranges inside the YAML value
 * (decoded offsets mapped back to the file, escaped double-quoted scalars included). Refreshed
 * when a document is opened and ~300 ms after the last edit; long files are done in chunks.
 */
export class PromptDiagnostics implements vscode.Disposable {
  readonly collection = vscode.languages.createDiagnosticCollection('promptOptimizer');
  private readonly entries = new Map<string, { version: number; items: IssueDiagnostic[] }>();
  private readonly disposables: vscode.Disposable[] = [this.collection];

  constructor(private readonly cache: DocumentCache) {
    this.disposables.push(
      cache.onDidSettle((d) => void this.refresh(d)),
      vscode.workspace.onDidCloseTextDocument((d) => {
        this.collection.delete(d.uri);
        this.entries.delete(d.uri.toString());
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('promptOptimizer.diagnostics')) for (const d of vscode.workspace.textDocuments) void this.refresh(d);
      }),
    );
    // Documents already open: after activation returns (never on the activation path).
    const t = setTimeout(() => {
      for (const d of vscode.workspace.textDocuments) void this.refresh(d);
    }, 0);
    this.disposables.push({ dispose: () => clearTimeout(t) });
  }

  /** Recomputes the diagnostics of `doc` (abandons the work when the document changes meanwhile). */
  async refresh(doc: vscode.TextDocument): Promise<readonly vscode.Diagnostic[]> {
    if (!isCandidate(doc) || !diagnosticsEnabled()) {
      this.collection.delete(doc.uri);
      this.entries.delete(doc.uri.toString());
      return [];
    }
    const version = doc.version;
    const parsed = this.cache.get(doc);
    const items: IssueDiagnostic[] = [];
    if (parsed.doc && !parsed.doc.app.wrapped) {
      const text = parsed.doc.text;
      let n = 0;
      for (const rec of parsed.doc.prompts) {
        if (!rec.range) continue;
        if (++n % CHUNK === 0) {
          await new Promise((r) => setImmediate(r));
          if (doc.isClosed || doc.version !== version) return this.collection.get(doc.uri) ?? [];
        }
        for (const issue of this.cache.analysis(rec).issues) {
          const start = sourceOffsetOf(rec, text, issue.start).offset;
          const end = Math.max(start, sourceOffsetOf(rec, text, issue.end).offset);
          const range = new vscode.Range(doc.positionAt(start), doc.positionAt(end));
          const d = new vscode.Diagnostic(range, `${rec.nodeTitle}: ${issue.message}${issue.suggestion ? ` ${issue.suggestion}` : ''}`, SEVERITY[issue.severity]);
          d.source = DIAGNOSTIC_SOURCE;
          d.code = issue.kind;
          items.push({ diagnostic: d, promptId: rec.id, issue });
        }
      }
    }
    if (doc.isClosed || doc.version !== version) return this.collection.get(doc.uri) ?? [];
    this.entries.set(doc.uri.toString(), { version, items });
    const diags = items.map((i) => i.diagnostic);
    // A document that looks like an export but cannot be read (broken YAML, a duplicate key, a
    // missing field): say why, where, instead of silently showing no CodeLens.
    if (parsed.error) diags.push(readErrorDiagnostic(doc, parsed.error));
    // Odd fields the reader skipped (a list where text belongs, a message without a role…).
    if (parsed.doc && !parsed.doc.app.wrapped) for (const w of parsed.doc.warnings) diags.push(fieldWarningDiagnostic(doc, w));
    this.collection.set(doc.uri, diags);
    return diags;
  }

  /** Our diagnostics of `doc` (current version only) with their issues. */
  itemsFor(doc: vscode.TextDocument): IssueDiagnostic[] {
    const e = this.entries.get(doc.uri.toString());
    return e && e.version === doc.version ? e.items : [];
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

/** A field the reader skipped, as a Warning at the field (to the end of its line). */
function fieldWarningDiagnostic(doc: vscode.TextDocument, w: DslWarning): vscode.Diagnostic {
  const start = doc.positionAt(w.offset ?? 0);
  const d = new vscode.Diagnostic(new vscode.Range(start, doc.lineAt(start.line).range.end), `Prompt Optimizer skipped a field: ${w.message}`, vscode.DiagnosticSeverity.Warning);
  d.source = DIAGNOSTIC_SOURCE;
  d.code = w.code;
  return d;
}

/** The reason a Dify export cannot be read, at its line:column (the first line when unknown). */
function readErrorDiagnostic(doc: vscode.TextDocument, err: OptimizerError): vscode.Diagnostic {
  const line = Math.min(Math.max(0, (err.location.line ?? 1) - 1), doc.lineCount - 1);
  const text = doc.lineAt(line);
  const col = err.location.column !== undefined ? Math.min(err.location.column - 1, text.text.length) : text.firstNonWhitespaceCharacterIndex;
  const d = new vscode.Diagnostic(
    new vscode.Range(new vscode.Position(line, col), text.range.end),
    `Prompt Optimizer cannot read this Dify export: ${err.message}`,
    vscode.DiagnosticSeverity.Error,
  );
  d.source = DIAGNOSTIC_SOURCE;
  d.code = err.code;
  return d;
}
