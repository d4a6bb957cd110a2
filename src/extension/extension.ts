import * as vscode from 'vscode';
import { ALL_COMMANDS } from './commands';
import { ContextKeys, PACKAGE_EDITOR, PACKAGE_SCHEME, PROMPT_SCHEME, Views } from './constants';
import { isOnDisk, PackageEditorRedirect, PackageFileSystemProvider } from './providers/packageFileSystem';
import { PromptCodeActionProvider } from './providers/promptCodeActions';
import { PromptCodeLensProvider } from './providers/promptCodeLensProvider';
import { PromptDiagnostics } from './providers/promptDiagnostics';
import { PromptContentProvider } from './review/promptContentProvider';
import { ProposalQueue, summarize, type ProposalSummary } from './review/proposals';
import { ReviewController } from './review/reviewController';
import { ApiKeyStore } from './services/apiKey';
import { DocumentCache } from './services/documentCache';
import { Logger } from './services/logger';
import { OptimizationRunner } from './services/optimizer';
import { difySessions } from './services/difySessions';
import { StoreManager } from './services/stores';
import { UiTrace, type ModelPickTrace, type PromptPickTrace, type RunStatusTrace } from './services/trace';
import type { Services } from './services/types';
import { VersionsTreeProvider, type VersionsTreeNode } from './views/versionsTreeProvider';

/** Set by the bundle's first and last lines (scripts/build.mjs banner/footer): when its evaluation started and ended. */
declare const __promptOptLoadStart: number | undefined;
declare const __promptOptLoadEnd: number | undefined;

export interface ExtensionApi {
  /** Command ids this activation registered (used by tests to compare with package.json). */
  registeredCommands: readonly string[];
  /** Time from the start of activate() to its return, ms (wall clock: includes time the host was not scheduled). */
  activationMs: number;
  /** CPU time of the extension host process from the start of activate() to its return, ms (what activation itself costs). */
  activationCpuMs: number;
  /** Time to evaluate dist/extension.js (its first to its last line), ms. */
  moduleLoadMs?: number;
  /** The last lines of the "Prompt Optimizer" log (redacted, as written). */
  logLines(): string[];
  /** Proposals waiting for review, in queue order. */
  proposals(): ProposalSummary[];
  /** Recomputes and returns the diagnostics of a document. */
  refreshDiagnostics(doc: vscode.TextDocument): Promise<readonly vscode.Diagnostic[]>;
  /** The Prompt Versions tree's data provider. */
  versionsTree: vscode.TreeDataProvider<VersionsTreeNode>;
  /** The last "Optimize which prompt?" quick pick: its items (with scores) and the active one. */
  lastPromptPick(): PromptPickTrace | undefined;
  /** The last Select Model quick pick: its items (choice ids) and the active one. */
  lastModelPick(): ModelPickTrace | undefined;
  /** The status bar item of optimization runs: visible while a run is active. */
  runStatus(): RunStatusTrace;
  /** The extension's log folder (`ExtensionContext.logUri`), where VS Code writes the "Prompt Optimizer" log file. */
  logDir: string;
}

export function activate(context: vscode.ExtensionContext): ExtensionApi {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const moduleLoadMs =
    typeof __promptOptLoadStart === 'number' && typeof __promptOptLoadEnd === 'number' ? __promptOptLoadEnd - __promptOptLoadStart : undefined;
  const log = new Logger();
  const cache = new DocumentCache();
  const stores = new StoreManager(log);
  const keys = new ApiKeyStore(context.secrets, log);
  const queue = new ProposalQueue();
  const content = new PromptContentProvider();
  const review = new ReviewController(queue, content, cache, stores, log);
  const runner = new OptimizationRunner(cache, stores, keys, queue, log);
  runner.difySessions = difySessions(context, log);
  const diagnostics = new PromptDiagnostics(cache);
  const versions = new VersionsTreeProvider(stores);
  const versionsView = vscode.window.createTreeView(Views.versions, { treeDataProvider: versions, showCollapseAll: true });
  const codeLens = new PromptCodeLensProvider(cache, stores, queue);
  context.subscriptions.push(log, cache, stores, queue, content, review, runner, diagnostics, versions, versionsView, codeLens);
  // Also re-read when the view is shown (covers a file watcher that missed an external write).
  context.subscriptions.push(versionsView.onDidChangeVisibility((e) => e.visible && versions.refresh()));

  const selector: vscode.DocumentSelector = [
    { language: 'yaml', scheme: 'file' },
    { language: 'yaml', scheme: 'untitled' },
    { language: 'json', scheme: 'file' },
    { scheme: PACKAGE_SCHEME },
  ];
  const packages = new PackageFileSystemProvider();
  context.subscriptions.push(
    packages,
    vscode.workspace.registerFileSystemProvider(PACKAGE_SCHEME, packages, { isCaseSensitive: true }),
    vscode.window.registerCustomEditorProvider(PACKAGE_EDITOR, new PackageEditorRedirect()),
  );
  context.subscriptions.push(
    vscode.workspace.registerFileSystemProvider(PROMPT_SCHEME, content, { isCaseSensitive: true }),
    vscode.languages.registerCodeLensProvider(selector, codeLens),
    vscode.languages.registerCodeActionsProvider(selector, new PromptCodeActionProvider(cache, diagnostics, queue), {
      providedCodeActionKinds: PromptCodeActionProvider.kinds,
    }),
  );

  const trace = new UiTrace();
  const services: Services = { context, log, cache, stores, keys, queue, content, review, runner, diagnostics, versions, versionsView, trace };
  const registered: string[] = [];
  for (const cmd of ALL_COMMANDS) {
    context.subscriptions.push(vscode.commands.registerCommand(cmd.id, (...args: unknown[]) => cmd.run(services, ...args)));
    registered.push(cmd.id);
  }

  // Follow writes by the CLI / other windows while versions are on screen (tree or CodeLens).
  const updatePolling = () =>
    stores.setPolling(versionsView.visible || vscode.window.visibleTextEditors.some((e) => isOnDisk(e.document.uri) && cache.isDifyExport(e.document)));
  context.subscriptions.push(versionsView.onDidChangeVisibility(updatePolling), vscode.window.onDidChangeVisibleTextEditors(updatePolling));
  setTimeout(updatePolling, 0);

  // The "is a Dify export" context key follows the active editor (content check, no parse).
  const updateContext = () => {
    const doc = vscode.window.activeTextEditor?.document;
    void vscode.commands.executeCommand('setContext', ContextKeys.isDifyExport, !!doc && cache.isDifyExport(doc));
  };
  context.subscriptions.push(
    vscode.window.onDidChangeActiveTextEditor(updateContext),
    cache.onDidSettle((d) => {
      if (d === vscode.window.activeTextEditor?.document) updateContext();
    }),
    context.secrets.onDidChange(() => void keys.refreshContext()),
  );
  updateContext();
  void keys.refreshContext();

  const activationMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const activationCpuMs = (cpu.user + cpu.system) / 1000;
  log.info(`Prompt Optimizer activated in ${activationMs.toFixed(1)} ms (CPU ${activationCpuMs.toFixed(1)} ms, module load ${moduleLoadMs?.toFixed(1) ?? '?'} ms, workspace ${vscode.workspace.isTrusted ? 'trusted' : 'in Restricted Mode'})`);
  return {
    registeredCommands: registered,
    activationMs,
    activationCpuMs,
    moduleLoadMs,
    logLines: () => log.lines(),
    proposals: () => queue.all().map(summarize),
    refreshDiagnostics: (doc) => diagnostics.refresh(doc),
    versionsTree: versions,
    lastPromptPick: () => trace.promptPick && { ...trace.promptPick, items: [...trace.promptPick.items] },
    lastModelPick: () => trace.modelPick && { ...trace.modelPick, items: [...trace.modelPick.items] },
    runStatus: () => runner.statusTrace(),
    logDir: context.logUri.fsPath,
  };
}

export function deactivate(): void {}
