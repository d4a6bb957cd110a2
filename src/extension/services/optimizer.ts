import * as path from 'node:path';
import * as vscode from 'vscode';
import { rewritable } from '../../core/dsl/kinds';
import { isLlmStrategy, type EngineConfig } from '../../core/engine/config';
import type { EngineEvent } from '../../core/engine/events';
import { CancelledError, toOptimizerError } from '../../core/errors';
import type { LlmClient } from '../../core/llm/types';
import type { CredentialStore } from '../../core/dify/types';
import { optimizeDocument, type OptimizeDocumentOutcome } from '../../core/service/optimize';
import { estimateOptimizeDocument } from '../../core/service/estimate';
import { formatRunEstimate, type RunEstimate } from '../../core/engine/estimate';
import { costTableWith, unpricedNotes } from '../../core/llm/cost';
import { llmCacheDir, loadEngineConfig } from '../../core/service/workspace';
import type { StrategyName } from '../../core/strategies/types';
import { unprovenLabel, withUnproven } from '../../core/engine/unproven';
import { Commands, ContextKeys } from '../constants';
import type { Proposal, ProposalQueue } from '../review/proposals';
import type { ApiKeyStore } from './apiKey';
import type { DocumentCache } from './documentCache';
import type { Logger } from './logger';
import type { RunStatusTrace } from './trace';
import { confirmAboveCalls, endpointSettings, engineOverrides } from './settings';
import { clientFor, describeBackend, resolveBackend, type Backend } from './llmBackend';
import { workflowOf, type StoreManager } from './stores';

/** What to optimize. */
export interface RunRequest {
  document: vscode.TextDocument;
  /** Only these prompts (default: all of the file). */
  promptIds?: string[];
  /** Optimize even prompts already at or above the threshold (explicit single-prompt request). */
  force?: boolean;
  /** Strategies for this run only (e.g. a quick fix's rule strategy). */
  strategies?: StrategyName[];
  /** Without promptIds: also rewrite labels (the promptOptimizer.includeLabels setting). */
  includeLabels?: boolean;
  /**
   * The answer to the estimate's question, instead of the modal (callers that cannot click,
   * e.g. tests): 'Run' or 'Cancel'. The question is still recorded in the summary.
   */
  estimateAnswer?: 'Run' | 'Cancel';
}

/** What a run produced (returned by the commands; tests read it). */
export interface RunSummary {
  proposals: Proposal[];
  notes: string[];
  /** promptId → why it was left as is. */
  skipped: Record<string, string>;
  failures: Array<{ promptId: string; message: string }>;
  cancelled: boolean;
  /** Whether versions were recorded under .optimizer/. */
  recorded: boolean;
  /** Whether an LLM client was used. */
  usedLlm: boolean;
  /** What the run was estimated to send before it started (runs with a model). */
  estimate?: RunEstimate;
  /** The question asked before spending (above promptOptimizer.confirmAboveCalls), and the answer. */
  asked?: { message: string; answer: 'Run' | 'Cancel' };
  /** Candidates their test cases refused (worse, or an unreliable judge), each with its report (absolute path). */
  refused: Array<{ promptId: string; nodeTitle: string; strategy: string; verdict: string; winRate: number; cases: number; reportFile: string }>;
}

type EvidenceBundle = typeof import('../evidenceEntry');

/** Loads `dist/evidence.js` (test cases, checklist, judge) on first use. */
export function loadEvidence(): EvidenceBundle {
  return require(path.join(__dirname, 'evidence.js')) as EvidenceBundle;
}

/**
 * Runs the engine for a document with progress (per-prompt steps, Cancel aborts requests in
 * flight), a status bar item while active, and turns kept results into proposals for review.
 */
export class OptimizationRunner implements vscode.Disposable {
  private controller: AbortController | undefined;
  private status: vscode.StatusBarItem | undefined;

  /** Dify sign-ins (SecretStorage), for `evidence.runtime: dify`; set by activate. */
  difySessions?: CredentialStore;

  constructor(
    private readonly cache: DocumentCache,
    private readonly stores: StoreManager,
    private readonly keys: ApiKeyStore,
    private readonly queue: ProposalQueue,
    private readonly log: Logger,
  ) {}

  /** The run's status bar item as last set (shown while a run is active). */
  statusTrace(): RunStatusTrace {
    return { visible: this.statusVisible, text: this.status?.text ?? '' };
  }
  private statusVisible = false;

  /** Other runs Cancel Optimization stops (dataset optimizations), while they last. */
  private readonly others = new Set<AbortController>();

  get running(): boolean {
    return !!this.controller || this.others.size > 0;
  }

  /** Aborts the runs in progress (requests in flight included). */
  cancel(): boolean {
    if (!this.running) return false;
    this.log.info('cancel requested');
    const reason = new CancelledError('Cancelled by the user.');
    this.controller?.abort(reason);
    for (const c of this.others) c.abort(reason);
    return true;
  }

  /** Lets Cancel Optimization stop another run (a dataset optimization) through `controller`, until disposed. */
  track(controller: AbortController): vscode.Disposable {
    this.others.add(controller);
    void vscode.commands.executeCommand('setContext', ContextKeys.running, true);
    return {
      dispose: () => {
        this.others.delete(controller);
        if (!this.running) void vscode.commands.executeCommand('setContext', ContextKeys.running, false);
      },
    };
  }

  private statusItem(): vscode.StatusBarItem {
    if (!this.status) {
      this.status = vscode.window.createStatusBarItem('promptOptimizer.run', vscode.StatusBarAlignment.Left, 50);
      this.status.name = 'Prompt Optimizer run';
      this.status.command = Commands.cancelOptimization;
      this.status.tooltip = 'Prompt Optimizer is optimizing prompts. Click to cancel.';
    }
    return this.status;
  }

  /**
   * A client for the chosen backend (endpoint with the stored key, a local server, or an editor
   * model) with the workspace's cache and budget, or undefined with the reason in `notes`.
   */
  async clientFor(root: string, config: EngineConfig, notes: string[]): Promise<LlmClient | undefined> {
    const backend: Backend = vscode.workspace.isTrusted ? await resolveBackend(this.keys) : { kind: 'none' };
    return this.llmFor(root, { ...config, strategies: ['llm_guided'] }, backend, notes);
  }

  private async llmFor(root: string, config: EngineConfig, backend: Backend, notes: string[]): Promise<LlmClient | undefined> {
    if (!config.strategies.some(isLlmStrategy)) return undefined;
    if (!vscode.workspace.isTrusted) {
      notes.push('Restricted Mode: no LLM request is made in an untrusted workspace, so the rule strategies ran instead. Trust the workspace to use the LLM strategies.');
      return undefined;
    }
    if (backend.kind === 'none') {
      if (backend.note) notes.push(backend.note);
      return undefined; // without a note of ours the engine falls back to rules and its note says how to set a key
    }
    this.log.info(`LLM ${describeBackend(backend)}`);
    const costTable = costTableWith(config.pricing);
    // A cost budget cannot limit a model without a price (editor models have none): say so.
    if (backend.kind === 'editor') notes.push(...unpricedNotes([backend.ref], config.budget.maxCostUsd, costTable));
    return clientFor(backend, {
      cacheDir: llmCacheDir(root),
      budget: config.budget,
      costTable,
      limits: config.model,
      logger: (level, msg) => this.log[level](`llm: ${msg}`),
    });
  }

  /** Optimizes; never throws (errors are shown once and returned as failures). */
  async run(req: RunRequest): Promise<RunSummary> {
    const summary: RunSummary = { proposals: [], notes: [], skipped: {}, failures: [], cancelled: false, recorded: false, usedLlm: false, refused: [] };
    if (this.controller) {
      const msg = 'An optimization is already running; wait for it or cancel it first.';
      void vscode.window.showWarningMessage(msg);
      summary.notes.push(msg);
      return summary;
    }
    const doc = req.document;
    const name = vscode.workspace.asRelativePath(doc.uri, false);
    const parsed = this.cache.get(doc);
    if (!parsed.doc) {
      const msg = parsed.error ? parsed.error.message : `${name} is not a Dify app export.`;
      void vscode.window.showErrorMessage(msg);
      summary.failures.push({ promptId: '', message: msg });
      return summary;
    }
    const { root, workflow } = workflowOf(doc.uri);
    const trusted = vscode.workspace.isTrusted;
    const controller = new AbortController();
    this.controller = controller;
    void vscode.commands.executeCommand('setContext', ContextKeys.running, true);
    const status = this.statusItem();
    const total = req.promptIds?.length ?? (req.includeLabels ? parsed.doc.prompts : rewritable(parsed.doc.prompts, false)).length;
    let done = 0;
    status.text = `$(sync~spin) Optimizing prompts 0/${total}`;
    status.show();
    this.statusVisible = true;
    const text = doc.getText();
    try {
      const backend: Backend = trusted ? await resolveBackend(this.keys) : { kind: 'none' };
      const overrides = engineOverrides(doc.uri);
      // An editor model answers every request itself: the run (and what it records) names it, not the endpoint's model setting.
      if (backend.kind === 'editor') overrides.model = { ...overrides.model, name: backend.ref };
      const config = await loadEngineConfig(root, [overrides, req.strategies ? { strategies: req.strategies } : undefined], { modelAvailable: backend.kind !== 'none' });
      const llm = await this.llmFor(root, config, backend, summary.notes);
      summary.usedLlm = !!llm;
      const store = trusted ? await this.stores.writer(root, 'Recording versions') : undefined;
      if (!trusted) summary.notes.push('Restricted Mode: proposals are shown for review but no version is recorded in .optimizer/.');
      this.log.info(`optimize ${workflow}: ${req.promptIds?.join(', ') ?? 'all prompts'} (strategies: ${config.strategies.join(', ')}${llm ? '' : ', no LLM'})`);
      let evidenceGate = llm && config.evidence.mode !== 'off' ? loadEvidence().createEvidenceGate : undefined;
      const sessions = this.difySessions;
      if (llm && evidenceGate && config.evidence.runtime === 'dify' && trusted && sessions) {
        // The prompts run on temporary copies of the app on Dify, deleted after each comparison (cancel and error included).
        const { createEvidenceGate, openDifyRuntime } = loadEvidence();
        const open = (p: { root: string; workflowFile: string; doc: typeof parsed.doc; client: NonNullable<typeof llm> }) =>
          openDifyRuntime({ root: p.root, workflowFile: p.workflowFile, doc: p.doc, llm: p.client, budget: config.budget, credentials: sessions, concurrency: config.evidence.difyConcurrency, log: (line) => this.log.info(line) });
        // A missing sign-in, or an app Dify cannot run, stops the run here, before the estimate (opening calls no Dify):
        // never a silent fall-back to the heuristic score.
        await (await open({ root, workflowFile: doc.uri.fsPath, doc: parsed.doc, client: llm })).close();
        evidenceGate = (p) => createEvidenceGate({ ...p, runtime: () => open(p) });
        summary.notes.push('The evidence runs on Dify: temporary copies of the app, deleted afterwards.');
      }
      if (llm && !(await this.confirmSpend(summary, req, { file: doc.uri.fsPath, text, root, config, llm, evidenceGate, backend, signal: controller.signal }))) {
        // Declined: nothing was sent or written (the finally below ends the run).
        summary.cancelled = true;
        this.log.info('not run: the estimate was declined');
        return summary;
      }
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Prompt Optimizer', cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => this.cancel());
          progress.report({ message: `optimizing ${total} prompt${total === 1 ? '' : 's'} in ${path.basename(doc.uri.fsPath)}…` });
          const onEvent = (e: EngineEvent) => {
            if (e.type === 'optimization_start') {
              progress.report({ message: `${e.nodeTitle} (${done + 1}/${total}): score ${Math.round(e.scores.overall)}, trying ${e.strategies.join(', ')}` });
              this.log.info(`start ${e.promptId} "${e.nodeTitle}" score ${e.scores.overall}`);
            } else if (e.type === 'candidate_evaluated') {
              this.log.debug(`candidate ${e.promptId} ${e.strategy}#${e.iteration}: ${e.kept ? 'kept' : `not kept (${e.reason ?? ''})`}${e.score !== undefined ? ` score ${e.score}` : ''}`);
            } else if (e.type === 'optimization_complete') {
              done++;
              status.text = `$(sync~spin) Optimizing prompts ${done}/${total}`;
              progress.report({ increment: 100 / Math.max(1, total), message: `${done}/${total} done` });
              this.log.info(`done ${e.promptId}: ${e.accepted ? `${e.scoreBefore} → ${e.scoreAfter} (${e.strategy})` : `unchanged (${e.skippedReason ?? 'no improvement'})`} in ${e.durationMs} ms`);
            } else if (e.type === 'candidate_evidence') {
              progress.report({ message: `${e.strategy}: ${e.verdict ? `evidence ${e.verdict}` : 'no evidence'}` });
              this.log.info(`evidence ${e.promptId} ${e.strategy}: ${e.kept ? 'kept' : 'not kept'}${e.verdict ? `, ${e.verdict}, win rate ${e.winRate?.toFixed(2)} (lower bound ${e.lowerBound?.toFixed(2)}) on ${e.cases} cases of ${e.casesFile}` : ''}${e.reason ? ` — ${e.reason}` : ''}`);
            } else if (e.type === 'optimization_error') {
              // A budget the user set running out is an outcome, not a fault of the extension.
              if (e.code === 'LLM_BUDGET_EXCEEDED') this.log.warn(`stopped ${e.promptId}: ${e.code} ${e.message}`);
              else this.log.error(`failed ${e.promptId}: ${e.code} ${e.message}`);
            }
          };
          return optimizeDocument({
            file: doc.uri.fsPath,
            text,
            workspaceRoot: root,
            config,
            promptIds: req.promptIds,
            force: req.force,
            includeLabels: req.includeLabels,
            llm,
            defaultModel: backend.kind === 'editor' ? backend.ref : (config.model.name ?? endpointSettings().model),
            store,
            recordAs: 'proposed',
            // Only a run with a model gathers evidence: only then is the evidence bundle loaded.
            evidenceGate,
            events: onEvent,
            signal: controller.signal,
          });
        },
      );
      this.collect(outcome, doc, root, workflow, summary);
      summary.recorded = !!store;
      if (store) this.stores.invalidate();
    } catch (e) {
      const err = toOptimizerError(e);
      if (err instanceof CancelledError || controller.signal.aborted) {
        summary.cancelled = true;
      } else {
        summary.failures.push({ promptId: '', message: err.message });
        this.log.failure(err);
        void vscode.window.showErrorMessage(`Prompt Optimizer: ${err.message}`);
      }
    } finally {
      this.controller = undefined;
      status.hide();
      this.statusVisible = false;
      if (!this.running) void vscode.commands.executeCommand('setContext', ContextKeys.running, false);
    }
    if (summary.cancelled) {
      this.log.info('optimization cancelled');
      void vscode.window.showInformationMessage('Optimization cancelled; nothing was changed.');
    }
    for (const n of summary.notes) this.log.info(`note: ${n}`);
    return summary;
  }

  /**
   * The estimate of a run with a model (see core/engine/estimate) and, when it is above
   * promptOptimizer.confirmAboveCalls (0: any call), a modal Run / Cancel. False: not to run.
   */
  private async confirmSpend(
    summary: RunSummary,
    req: RunRequest,
    o: { file: string; text: string; root: string; config: EngineConfig; llm: LlmClient; evidenceGate: ReturnType<typeof loadEvidence>['createEvidenceGate'] | undefined; backend: Backend; signal: AbortSignal },
  ): Promise<boolean> {
    const model = o.backend.kind === 'editor' ? o.backend.ref : (o.config.model.name ?? endpointSettings().model);
    const estimate = await estimateOptimizeDocument({
      file: o.file,
      text: o.text,
      workspaceRoot: o.root,
      config: o.config,
      promptIds: req.promptIds,
      force: req.force,
      includeLabels: req.includeLabels,
      llm: o.llm,
      evidenceGate: o.evidenceGate,
      defaultModel: model,
      model,
      costTable: costTableWith(o.config.pricing),
      signal: o.signal,
    });
    if (!estimate) return true;
    summary.estimate = estimate;
    const message = formatRunEstimate(estimate);
    this.log.info(message);
    const threshold = confirmAboveCalls();
    if (estimate.calls === 0 || (threshold > 0 && estimate.calls <= threshold)) return true;
    let answer: 'Run' | 'Cancel';
    if (req.estimateAnswer) answer = req.estimateAnswer;
    else {
      const pick = await vscode.window.showWarningMessage(
        `Optimize with ${model}: at most ${estimate.calls} call(s) to the model (an estimate).`,
        { modal: true, detail: `${message}\nAsked because it is above promptOptimizer.confirmAboveCalls (${threshold}); budgets (promptOptimizer.budget.*) stay the hard limit.` },
        'Run',
      );
      answer = pick === 'Run' ? 'Run' : 'Cancel';
    }
    summary.asked = { message, answer };
    return answer === 'Run';
  }

  private collect(outcome: OptimizeDocumentOutcome, doc: vscode.TextDocument, root: string, workflow: string, summary: RunSummary): void {
    summary.cancelled = outcome.cancelled;
    const notes = vscode.workspace.isTrusted ? outcome.notes : outcome.notes.filter((n) => !/No API key is set/.test(n));
    summary.notes.push(...notes);
    for (const f of outcome.failures) {
      summary.failures.push({ promptId: f.promptId, message: f.error.message });
    }
    for (const x of outcome.results) {
      for (const f of x.refused ?? []) {
        const reportFile = path.join(root, f.evidence.reportFile);
        summary.refused.push({ promptId: x.promptId, nodeTitle: x.nodeTitle, strategy: f.strategy, verdict: f.verdict, winRate: f.evidence.winRate, cases: f.evidence.cases, reportFile });
        this.log.info(`refused ${x.promptId} ${f.strategy}: ${f.verdict} on ${f.evidence.cases} test cases (win rate ${f.evidence.winRate.toFixed(2)}); report ${reportFile} (command: Prompt Optimizer: Show Evidence Report)`);
      }
      // An inconclusive candidate still goes to review, marked unproven (its cases were paid for).
      const unproven = !x.accepted && !!x.unproven;
      if (!x.accepted) summary.skipped[x.promptId] = x.skippedReason ?? 'no improvement found';
      if (!x.accepted && !unproven) continue;
      if (unproven) this.log.info(`unproven ${x.promptId} ${x.unproven!.strategy}: ${unprovenLabel(x.unproven!.evidence)}; queued for review, marked unproven`);
      const r = withUnproven(x);
      summary.proposals.push({
        id: this.queue.nextId(),
        uri: doc.uri,
        root,
        workflow,
        promptId: r.promptId,
        nodeTitle: r.nodeTitle,
        kind: r.kind,
        role: r.role,
        original: r.original,
        proposed: r.optimized,
        strategy: r.strategy ?? 'none',
        scoreBefore: r.before.overall,
        scoreAfter: r.after.overall,
        confidence: r.confidence,
        rationale: r.rationale,
        version: outcome.versions.get(r.promptId)?.proposal?.version,
        ...(r.evidence
          ? { evidence: { verdict: r.evidence.verdict, winRate: r.evidence.winRate, lowerBound: r.evidence.lowerBound, upperBound: r.evidence.upperBound, cases: r.evidence.cases, reportFile: path.join(root, r.evidence.reportFile) } }
          : {}),
        ...(unproven ? { unproven: true } : {}),
      });
      if (r.evidenceNote) summary.notes.push(`${r.nodeTitle}: ${r.evidenceNote}`);
    }
    if (summary.failures.length) {
      void vscode.window.showErrorMessage(`Prompt Optimizer: ${summary.failures.length} prompt(s) failed: ${summary.failures[0].message}`);
    }
  }

  dispose(): void {
    this.controller?.abort();
    for (const c of this.others) c.abort();
    this.status?.dispose();
  }
}
