import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { sameVariables } from '../../core/dsl';
import { CancelledError, toOptimizerError } from '../../core/errors';
import type { OptimizerReport } from '../../core/optimizers/types';
import { costTableWith } from '../../core/llm/cost';
import { backendSetting, clientFor, describeBackend, resolveBackend, type Backend } from '../services/llmBackend';
import { llmCacheDir, loadEngineConfig } from '../../core/service/workspace';
import { Commands } from '../constants';
import type { Proposal } from '../review/proposals';
import { engineOverrides } from '../services/settings';
import { workflowOf } from '../services/stores';
import type { CommandDef, Services } from '../services/types';
import { targetDocument, targetPrompt } from './target';

type Training = typeof import('../trainingEntry');

/** Loads `dist/training.js` on first use (a computed path: esbuild leaves it to the runtime; the clients load from dist/llm.js through llmBackend). */
function loadTraining(): Training {
  return require(path.join(__dirname, 'training.js')) as Training;
}

/** The button (and confirmation) that resumes a run. */
const RESUME = 'Resume';

const OPTIMIZERS = [
  { id: 'copro', label: 'COPRO', detail: 'Search for a better instruction (proposals scored on train, chosen on validation).' },
  { id: 'knn', label: 'KNN few-shot', detail: 'Pick the examples that best cover your inputs and add them as demos.' },
  { id: 'gepa', label: 'GEPA', detail: 'Evolve the instruction from feedback on the answers it gets wrong (reflection, Pareto front).' },
  { id: 'ensemble', label: 'Ensemble', detail: 'Run COPRO, KNN and GEPA together, each with a share of the budget, and keep the best on validation.' },
] as const;

/** Why KNN cannot run on an editor model (said before anything runs). */
const KNN_NEEDS_EMBEDDINGS =
  'KNN few-shot picks its demos by embedding your inputs, and editor models (VS Code\'s Language Model API) offer no embeddings';

/**
 * What a backend cannot run, said before the run: KNN alone is refused on an editor model
 * (message); an Ensemble there runs COPRO and GEPA only (members and a note). Undefined: as asked.
 */
function editorModelPlan(
  backend: Backend,
  optimizer: DatasetRunOptions['optimizer'],
  members: DatasetRunOptions['members'],
): { refuse?: string; members?: Array<'copro' | 'knn' | 'gepa'>; note?: string } {
  if (backend.kind !== 'editor') return {};
  const model = backend.model.name;
  if (optimizer === 'knn') return { refuse: `${KNN_NEEDS_EMBEDDINGS}, so it cannot run on ${model}. Choose COPRO or GEPA, or pick an endpoint or a local server with embeddings in Select Model.` };
  if (optimizer !== 'ensemble') return {};
  const asked = members ?? ['copro', 'knn', 'gepa'];
  const kept = asked.filter((m) => m !== 'knn');
  if (kept.length === asked.length) return {};
  if (kept.length === 0) return { refuse: `${KNN_NEEDS_EMBEDDINGS}, so this Ensemble (KNN only) cannot run on ${model}.` };
  return { members: kept, note: `${KNN_NEEDS_EMBEDDINGS}, so the Ensemble runs ${kept.map((m) => m.toUpperCase()).join(' and ')} without KNN on ${model}.` };
}

const GEPA_PRESETS = [
  { id: 'light', label: 'Light', detail: 'Up to 6 new instructions: a quick search.' },
  { id: 'medium', label: 'Medium', detail: 'Up to 12 new instructions.' },
  { id: 'heavy', label: 'Heavy', detail: 'Up to 18 new instructions: the most calls.' },
] as const;
type GepaPreset = (typeof GEPA_PRESETS)[number]['id'];

export interface DatasetRunOptions {
  /** Dataset path (absolute, or relative to the workspace root); skips the picker. */
  dataset?: string;
  optimizer?: 'copro' | 'knn' | 'gepa' | 'ensemble';
  /** GEPA's budget preset (GEPA alone: asked when not given; in an Ensemble: light). */
  auto?: GepaPreset;
  /** Ensemble members (default all three). */
  members?: Array<'copro' | 'knn' | 'gepa'>;
  /** Skip the confirmation of the estimate (tests). */
  confirmed?: boolean;
  /** COPRO breadth/depth for quick runs. */
  breadth?: number;
  depth?: number;
  /**
   * Resume this run (an id from an earlier result or the Resume button): results its run log
   * holds are reused. Refused when it has no run log, or when the prompt or the dataset has
   * changed since it started.
   */
  runId?: string;
}

/** What the command returns (tests read it). */
export interface DatasetRunResult {
  ran: boolean;
  cancelled?: boolean;
  /** The run's id (to resume it with the `runId` option), once prepared. */
  runId?: string;
  /** Whether the result offers to resume the run (after a cancel or a budget stop). */
  resumable?: boolean;
  estimateCalls?: number;
  /** Results of earlier attempts the estimate leaves out (resumed runs). */
  reusedResults?: number;
  report?: Pick<OptimizerReport, 'runId' | 'optimizer' | 'accepted' | 'improvement' | 'usage' | 'stoppedReason' | 'reusedResults'> & {
    baselineValidation?: number;
    bestValidation?: number;
    /** The best candidate's prompt text (demos included as an examples block). */
    bestText: string;
    candidates: number;
  };
  proposal?: string;
  reportText?: string;
  message?: string;
  /** The model the run used, as logged (never a key). */
  backend?: string;
  /** What the run said before it started (e.g. KNN left out of an Ensemble on an editor model). */
  notes?: string[];
}

async function pickDataset(root: string): Promise<string | undefined> {
  const dir = path.join(root, '.optimizer', 'datasets');
  let files: string[] = [];
  try {
    files = fs.readdirSync(dir).filter((f) => /\.(jsonl|ya?ml|csv)$/i.test(f));
  } catch {
    // no datasets folder yet
  }
  const browse = { label: '$(folder-opened) Browse…', path: '' };
  const picked = await vscode.window.showQuickPick(
    [...files.map((f) => ({ label: f, description: '.optimizer/datasets', path: path.join(dir, f) })), browse],
    { title: 'Dataset of examples (JSONL, YAML or CSV)', placeHolder: files.length ? 'Pick a dataset' : 'No dataset in .optimizer/datasets/ yet: browse for one' },
  );
  if (!picked) return undefined;
  if (picked.path) return picked.path;
  const uris = await vscode.window.showOpenDialog({
    canSelectMany: false,
    defaultUri: vscode.Uri.file(root),
    filters: { Datasets: ['jsonl', 'yaml', 'yml', 'csv'] },
    openLabel: 'Use this dataset',
  });
  return uris?.[0]?.fsPath;
}

/**
 * Optimize Prompt with Dataset…: runs COPRO, KNN, GEPA or Ensemble on the prompt under the cursor with
 * a dataset of examples, after showing the estimate (calls, tokens, cost) for confirmation; the
 * report (train and validation scores per candidate) opens beside the file, and the best
 * candidate, when it beats the current prompt on validation, goes into the usual review flow.
 * Cancelled (progress notification or Cancel Optimization) or stopped by the budget, it offers
 * Resume: the same prompt, dataset and optimizer under the same run id, reusing what the run log
 * recorded (the core refuses when the prompt, the dataset or the node's request has changed). `options.runId` resumes
 * directly.
 */
export const optimizeWithDataset: CommandDef = {
  id: Commands.optimizeWithDataset,
  async run(s: Services, uri?: unknown, promptId?: unknown, options?: unknown): Promise<DatasetRunResult> {
    const opts = (options ?? {}) as DatasetRunOptions;
    if (!vscode.workspace.isTrusted) {
      const message =
        'Restricted Mode: optimizing with a dataset calls an LLM and writes its run log to .optimizer/, so it is off in an untrusted workspace. Trust the workspace to use it.';
      void vscode.window.showWarningMessage(message);
      return { ran: false, message };
    }
    const doc = await targetDocument(s, uri);
    if (!doc) return { ran: false, message: 'no Dify export' };
    const rec = await targetPrompt(s, doc, promptId);
    if (!rec) return { ran: false, message: 'no prompt' };
    // The same choice as Optimize: an API key's endpoint, a local server (no key), or an editor model.
    const backend = await resolveBackend(s.keys);
    if (backend.kind === 'none') {
      const message = `Optimizing with a dataset runs your prompt on the examples with a model. ${
        backend.reason ??
        (backendSetting() === 'endpoint'
          ? 'The endpoint needs an API key (a local server on this machine needs none): run "Prompt Optimizer: Set API Key", or choose a local server or an editor model with Select Model.'
          : 'No model is available: run "Prompt Optimizer: Set API Key", or choose a local server (no key) or an editor model with Select Model.')
      }`;
      void vscode.window.showWarningMessage(message, 'Select Model', 'Set API Key').then((a) => {
        if (a) void vscode.commands.executeCommand(a === 'Set API Key' ? Commands.setApiKey : Commands.selectModel);
      });
      return { ran: false, message };
    }
    const { root, workflow } = workflowOf(doc.uri);
    const datasetPath = opts.dataset ? path.resolve(root, opts.dataset) : await pickDataset(root);
    if (!datasetPath) return { ran: false, message: 'no dataset chosen' };
    const onEditor = backend.kind === 'editor';
    const optimizer =
      opts.optimizer ??
      (await vscode.window.showQuickPick(
        OPTIMIZERS.map((o) => ({
          ...o,
          ...(onEditor && o.id === 'knn' ? { description: `not on ${backend.model.name}: needs embeddings` } : {}),
          ...(onEditor && o.id === 'ensemble' ? { description: `COPRO and GEPA on ${backend.model.name} (KNN needs embeddings)` } : {}),
        })),
        { title: `Optimizer (model: ${onEditor ? `editor model ${backend.model.name}` : backend.model})` },
      ))?.id;
    if (!optimizer) return { ran: false, message: 'no optimizer chosen' };
    const plan = editorModelPlan(backend, optimizer, opts.members);
    if (plan.refuse) {
      void vscode.window.showWarningMessage(plan.refuse);
      return { ran: false, message: plan.refuse };
    }
    const members = plan.members ?? opts.members;
    const notes = plan.note ? [plan.note] : [];
    const auto =
      opts.auto ??
      (optimizer === 'gepa'
        ? (await vscode.window.showQuickPick(
            GEPA_PRESETS.map((p) => ({ ...p })),
            { title: 'GEPA budget' },
          ))?.id
        : 'light');
    if (!auto) return { ran: false, message: 'no GEPA budget chosen' };

    const parsed = s.cache.get(doc).doc;
    if (!parsed) return { ran: false, message: 'not a Dify export' };
    // Resume: the same prompt, dataset and optimizer under the same run id (the estimate is confirmed again).
    const resumeOptions = (runId: string): DatasetRunOptions => ({
      dataset: datasetPath,
      optimizer,
      ...(opts.breadth ? { breadth: opts.breadth } : {}),
      ...(opts.depth ? { depth: opts.depth } : {}),
      auto,
      ...(members ? { members } : {}),
      runId,
    });
    const offerResume = (message: string, runId: string, kind: 'info' | 'error' = 'info'): void => {
      const shown = kind === 'error' ? vscode.window.showErrorMessage(message, RESUME) : vscode.window.showInformationMessage(message, RESUME);
      void shown.then((a) => {
        if (a === RESUME) void vscode.commands.executeCommand(Commands.optimizeWithDataset, doc.uri, rec.id, resumeOptions(runId));
      });
    };
    let prepared: Awaited<ReturnType<Training['prepareTraining']>> | undefined;
    try {
      const T = loadTraining();
      const dataset = await T.loadDataset(datasetPath, { cwd: root });
      const config = await loadEngineConfig(root, [engineOverrides(doc.uri)]);
      const concurrency = (backend.kind === 'endpoint' ? backend.concurrency : undefined) ?? config.concurrency;
      const costTable = costTableWith(config.pricing);
      s.log.info(`LLM ${describeBackend(backend)}`);
      const client = clientFor(backend, {
        cacheDir: llmCacheDir(root),
        budget: config.budget,
        costTable,
        concurrency,
        limits: config.model,
        logger: (level, msg) => s.log[level](`llm: ${msg}`),
      })!;
      // An editor model answers every request itself: the task runs on it, not on the model the node names.
      const configuredModel = backend.kind === 'editor' ? backend.ref : backend.model;
      prepared = await T.prepareTraining({
        root,
        record: rec,
        messages: T.nodeMessagesOf(parsed.prompts, rec),
        // Every example runs with the node's full request as Dify builds it (the evidence gate's builder).
        spec: T.nodeSpecFor(parsed, rec),
        dataset,
        optimizer,
        // The write-back replaces prompt text only, so demos are measured as an examples block.
        deps: {
          copro: { ...(opts.breadth ? { breadth: opts.breadth } : {}), ...(opts.depth ? { depth: opts.depth } : {}) },
          knn: { modes: ['block'] },
          gepa: { auto },
          ...(members ? { ensemble: { members } } : {}),
        },
        client,
        budget: config.budget,
        costTable,
        configuredModel, // on an endpoint the task uses the node's own model when the export names one
        ...(backend.kind === 'editor' ? { taskModel: backend.ref } : {}),
        concurrency,
        ...(opts.runId ? { runId: opts.runId, resume: true } : {}),
      });
      const est = prepared.estimate;
      const runId = prepared.runId;
      const reusedResults = prepared.reuse.results;
      s.log.info(
        `dataset run ${runId} on ${workflow} ${rec.id}: ${optimizer}, ${dataset.examples.length} examples${opts.runId ? `, resumed (${reusedResults} recorded result(s) reused)` : ''}${notes.map((n) => `\n${n}`).join('')}\n${T.formatEstimate(est, config.budget)}`,
      );
      if (!opts.confirmed) {
        const action = opts.runId ? RESUME : 'Run';
        const go = await vscode.window.showInformationMessage(
          `${opts.runId ? `Resume run ${runId}: ` : 'Run '}${optimizer} on "${rec.nodeTitle}" with ${dataset.examples.length} examples (${prepared.split.train.length} train, ${prepared.split.validation.length} validation)?`,
          {
            modal: true,
            detail: `About ${est.calls} ${opts.runId ? 'more ' : ''}LLM calls, ${est.promptTokens + est.completionTokens} tokens, ${
              onEditor ? `on the editor model ${backend.model.name} (no price is known: cost unknown)` : `$${est.costUsd.toFixed(4)} at list prices`
            }.${[...notes, ...est.notes].length ? `\n${[...notes, ...est.notes].join('\n')}` : ''}`,
          },
          action,
        );
        if (go !== action) return { ran: false, runId, estimateCalls: est.calls, reusedResults, message: 'not confirmed', ...(notes.length ? { notes } : {}) };
      }
      const run = prepared;
      const report = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Prompt Optimizer: ${optimizer} on "${rec.nodeTitle}"`, cancellable: true },
        async (progress, token) => {
          const ac = new AbortController();
          token.onCancellationRequested(() => ac.abort(new CancelledError('Cancelled by the user.')));
          // Cancel Optimization (palette, tests) stops it too.
          const tracked = s.runner.track(ac);
          let last = 0;
          run.ctx.onProgress = (p) => {
            const pctDone = p.total ? Math.floor((100 * p.done) / p.total) : 0;
            progress.report({ increment: Math.max(0, pctDone - last), message: `${p.phase}: ${p.done}/${p.total} evaluations${p.bestValidation !== undefined ? `, best validation ${(p.bestValidation * 100).toFixed(0)}%` : ''}` });
            last = Math.max(last, pctDone);
          };
          try {
            return await run.run(ac.signal);
          } finally {
            tracked.dispose();
          }
        },
      );
      const reportText = T.formatReport(report, prepared.runFile);
      s.log.info(reportText);
      const reportDoc = await vscode.workspace.openTextDocument({ content: `# ${optimizer} on "${rec.nodeTitle}"\n\n\`\`\`text\n${reportText.trim()}\n\`\`\`\n`, language: 'markdown' });
      await vscode.window.showTextDocument(reportDoc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: true });
      const proposed = T.candidatePromptText(report.best);
      const budgetStop = report.stoppedReason === 'budget';
      const summary: DatasetRunResult = {
        ran: true,
        backend: describeBackend(backend),
        ...(notes.length ? { notes } : {}),
        runId,
        resumable: budgetStop,
        estimateCalls: est.calls,
        reusedResults,
        reportText,
        report: {
          runId: report.runId,
          optimizer: report.optimizer,
          accepted: report.accepted,
          improvement: report.improvement,
          usage: report.usage,
          ...(report.stoppedReason ? { stoppedReason: report.stoppedReason } : {}),
          reusedResults: report.reusedResults,
          baselineValidation: report.baseline.validationScore,
          bestValidation: report.best.validationScore,
          bestText: proposed,
          candidates: report.candidates.length,
        },
      };
      // A search the budget stopped can go on from its run log once the budget allows more.
      const budgetNote = `The search stopped early to stay within the budget. To go on, raise the budget (Prompt Optimizer settings or .optimizer/config.yaml) and choose ${RESUME}: run ${runId} continues where it stopped, reusing what it recorded.`;
      if (!report.accepted || proposed === rec.text) {
        const measured = report.candidates.some((c) => c.id !== report.baseline.id && c.validationScore !== undefined);
        // Not "no improvement" when the cause was the proposal calls: say that, as a warning.
        const unmeasured = !measured && report.failedProposals;
        const none = unmeasured
          ? `No candidate was measured: ${report.failedProposals!.count} proposal call(s) failed (${report.failedProposals!.message}); the report is open beside the file.`
          : 'No candidate beat the current prompt on the validation examples; the report is open beside the file.';
        if (budgetStop) offerResume(`${none} ${budgetNote}`, runId);
        else if (unmeasured) void vscode.window.showWarningMessage(none);
        else void vscode.window.showInformationMessage(none);
        return summary;
      }
      if (budgetStop) offerResume(`${budgetNote} Accepting its best candidate now changes the prompt, after which the run cannot be resumed.`, runId);
      if (!sameVariables(rec.text, proposed)) {
        summary.message = 'The best candidate changes the prompt variables; it is not proposed.';
        void vscode.window.showWarningMessage(summary.message);
        return summary;
      }
      const before = (report.baseline.validationScore ?? 0) * 100;
      const after = (report.best.validationScore ?? 0) * 100;
      const store = await s.stores.writer(root, 'Recording versions');
      const latest = await store.latest(workflow, rec.id);
      const parent = latest && latest.text === rec.text && latest.status !== 'proposed' && latest.status !== 'rejected' ? latest : await store.ensureBaseline(workflow, rec.id, rec.text);
      const version = await store.save({
        workflow,
        promptId: rec.id,
        text: proposed,
        parentVersion: parent.version,
        status: 'proposed',
        optimization: {
          strategy: `dataset:${optimizer}`,
          improvement: after - before,
          confidence: Math.min(1, Math.max(0, report.best.validationScore ?? 0)),
          rationale: `Validation score ${before.toFixed(1)} → ${after.toFixed(1)} on ${prepared.split.validation.length} held-out example(s) (${report.best.source}, round ${report.best.round}).`,
          cost: { calls: report.usage.calls, promptTokens: report.usage.promptTokens, completionTokens: report.usage.completionTokens, costUsd: report.usage.costUsd },
        },
        metadata: { runId: report.runId, trainScore: report.best.trainScore, validationScore: report.best.validationScore, demos: report.best.demos?.length ?? 0 },
      });
      s.stores.invalidate();
      const p: Proposal = {
        id: s.queue.nextId(),
        uri: doc.uri,
        root,
        workflow,
        promptId: rec.id,
        nodeTitle: rec.nodeTitle,
        kind: rec.kind,
        role: rec.role,
        original: rec.text,
        proposed,
        strategy: optimizer,
        scoreBefore: before,
        scoreAfter: after,
        confidence: report.best.validationScore ?? 0,
        rationale: `Validation score ${before.toFixed(1)} → ${after.toFixed(1)}`,
        version: version.version,
        // Remember what worked (so later searches start from similar prompts), once the user accepts it.
        onAccept: () => run.remember(report).then(
          (added) => s.log.info(`embedding index: ${added ? 'recorded' : 'did not record'} the accepted candidate of ${report.runId}`),
          (e: unknown) => s.log.warn(`embedding index: ${toOptimizerError(e).message}`),
        ),
      };
      s.queue.add([p]);
      await s.review.open(p);
      summary.proposal = p.id;
      return summary;
    } catch (e) {
      const err = toOptimizerError(e);
      const runId = prepared?.runId;
      if (err instanceof CancelledError) {
        if (!runId) return { ran: false, cancelled: true, message: err.message };
        s.log.info(`dataset run ${runId} cancelled`);
        offerResume(`Dataset optimization cancelled. Choose ${RESUME} to continue run ${runId} where it stopped: what it recorded is reused, not asked again.`, runId);
        return { ran: true, cancelled: true, runId, resumable: true };
      }
      s.log.failure(err);
      if (runId && err.code === 'LLM_BUDGET_EXCEEDED') {
        offerResume(`Prompt Optimizer: ${err.message} Raise the budget and choose ${RESUME} to continue run ${runId} where it stopped.`, runId, 'error');
        return { ran: false, runId, resumable: true, message: err.message };
      }
      void vscode.window.showErrorMessage(`Prompt Optimizer: ${err.message}`);
      return { ran: false, ...(runId ? { runId } : {}), message: err.message };
    } finally {
      await prepared?.close().catch(() => undefined);
    }
  },
};
