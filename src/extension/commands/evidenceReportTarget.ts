import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Services } from '../services/types';

/** A report to show: its markdown file (absolute; the JSON sits beside it) and a title. */
export interface ReportTarget {
  reportFile: string;
  title: string;
}

const isReportPath = (s: string) => /\.(md|json)$/i.test(s) && path.isAbsolute(s);
const mdOf = (f: string) => f.replace(/\.json$/i, '.md');

/** The reports under `.optimizer/evidence/` of the workspace folders, newest first. */
async function reportsOnDisk(): Promise<ReportTarget[]> {
  const out: Array<ReportTarget & { mtime: number }> = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    const dir = path.join(folder.uri.fsPath, '.optimizer', 'evidence');
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const n of names.filter((x) => x.endsWith('.json'))) {
      const file = path.join(dir, n);
      const st = await fs.stat(file).catch(() => undefined);
      if (st?.isFile()) out.push({ reportFile: mdOf(file), title: n.replace(/\.json$/, ''), mtime: st.mtimeMs });
    }
  }
  return out.sort((a, b) => b.mtime - a.mtime);
}

async function pick(items: ReportTarget[], placeHolder: string): Promise<ReportTarget | undefined> {
  if (items.length <= 1) return items[0];
  const chosen = await vscode.window.showQuickPick(
    items.map((t) => ({ label: t.title, description: vscode.workspace.asRelativePath(t.reportFile), t })),
    { placeHolder },
  );
  return chosen?.t;
}

/**
 * The report a command is about: a proposal id, a report path (`.md` or `.json`), a versions-tree
 * version node, a list of `{reportFile, label}` (a pick), else the proposal under review, else
 * the first pending one with evidence, else a pick among the reports on disk.
 */
export async function resolveReport(s: Services, arg: unknown): Promise<ReportTarget | undefined> {
  if (typeof arg === 'string' && isReportPath(arg)) return { reportFile: mdOf(arg), title: path.basename(arg).replace(/\.(md|json)$/i, '') };
  if (arg instanceof vscode.Uri && isReportPath(arg.fsPath)) return { reportFile: mdOf(arg.fsPath), title: path.basename(arg.fsPath).replace(/\.(md|json)$/i, '') };
  if (Array.isArray(arg)) {
    const items = arg.filter((x): x is { reportFile: string; label?: string } => !!x && typeof (x as { reportFile?: unknown }).reportFile === 'string' && isReportPath((x as { reportFile: string }).reportFile));
    return pick(items.map((x) => ({ reportFile: mdOf(x.reportFile), title: x.label ?? path.basename(x.reportFile) })), 'Which evidence report?');
  }
  const node = arg as { type?: unknown; root?: unknown; title?: unknown; version?: { version?: unknown; metadata?: { evidence?: { reportFile?: unknown } } } } | undefined;
  if (node?.type === 'version' && typeof node.root === 'string') {
    const rel = node.version?.metadata?.evidence?.reportFile;
    if (typeof rel !== 'string') {
      void vscode.window.showInformationMessage('This version has no evidence report (it was not decided on test cases).');
      return undefined;
    }
    return { reportFile: path.join(node.root, ...rel.split('/')), title: `${String(node.title ?? '')} v${String(node.version?.version ?? '')}` };
  }
  const all = s.queue.all();
  const p = (typeof arg === 'string' ? all.find((x) => x.id === arg) : undefined) ?? s.review.active() ?? all.find((x) => x.evidence);
  if (p?.evidence) return { reportFile: p.evidence.reportFile, title: `${p.nodeTitle} · ${p.strategy}${p.unproven ? ' · unproven' : ''}` };
  const onDisk = await reportsOnDisk();
  if (onDisk.length === 0) {
    void vscode.window.showInformationMessage('No evidence report yet. Evidence is gathered when an LLM strategy runs with a model (setting promptOptimizer.evidence.mode).');
    return undefined;
  }
  return pick(onDisk, 'Which evidence report? (the proposals under review have none)');
}
