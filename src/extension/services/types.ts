import type * as vscode from 'vscode';
import type { PromptDiagnostics } from '../providers/promptDiagnostics';
import type { PromptContentProvider } from '../review/promptContentProvider';
import type { ProposalQueue } from '../review/proposals';
import type { ReviewController } from '../review/reviewController';
import type { VersionsTreeNode, VersionsTreeProvider } from '../views/versionsTreeProvider';
import type { ApiKeyStore } from './apiKey';
import type { DocumentCache } from './documentCache';
import type { Logger } from './logger';
import type { OptimizationRunner } from './optimizer';
import type { StoreManager } from './stores';
import type { UiTrace } from './trace';

/** Everything commands work with, created once in activate(). */
export interface Services {
  context: vscode.ExtensionContext;
  log: Logger;
  cache: DocumentCache;
  stores: StoreManager;
  keys: ApiKeyStore;
  queue: ProposalQueue;
  content: PromptContentProvider;
  review: ReviewController;
  runner: OptimizationRunner;
  diagnostics: PromptDiagnostics;
  versions: VersionsTreeProvider;
  versionsView: vscode.TreeView<VersionsTreeNode>;
  trace: UiTrace;
}

/** A command: its id (declared in package.json) and its handler. */
export interface CommandDef {
  id: string;
  // Commands receive whatever VS Code or a caller passes; each handler checks its arguments.
  run(s: Services, ...args: unknown[]): unknown;
}
