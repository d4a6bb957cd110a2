import * as path from 'node:path';
import { analyzePrompt } from '../analysis';
import type { EngineConfig } from '../engine/config';
import { OptimizationEngine } from '../engine/engine';
import type { OptimizationResult, RunOutcome } from '../engine/result';
import { fanOut, type EngineEventSink } from '../engine/events';
import { RunLog, newRunId } from '../engine/runLog';
import { planStrategies } from '../engine/strategies';
import { isLabel, parseDify, type DifyDocument } from '../dsl';
import type { PromptRecord } from '../dsl/types';
import { DslError } from '../errors';
import type { LlmClient } from '../llm/types';
import { workflowKey, type PromptVersion, type VersionStore } from '../storage';
import { runsDir } from './workspace';
import { isLlmStrategy } from '../engine/config';
import type { EvidenceGateFactory } from './gateFactory';

export interface OptimizeDocumentOptions {
  /** Absolute path of the workflow file (used for messages, the store key and the run log). */
  file: string;
  /** The file's text (the editor's, possibly unsaved). */
  text: string;
  workspaceRoot: string;
  config: EngineConfig;
  /** Only these prompt ids (each must exist); default: every prompt of the file. */
  promptIds?: string[];
  /** Optimize even prompts already at or above the score threshold (explicit single-prompt requests). */
  force?: boolean;
  /**
   * Without `promptIds`, also rewrite labels (class names, parameter descriptions, structured
   * output descriptions: a rewrite changes routing or extraction). Default false: they are
   * skipped, with a note. Prompts named in `promptIds` are always optimized.
   */
  includeLabels?: boolean;
  llm?: LlmClient;
  /** Where baselines and proposals are recorded; absent in Restricted Mode or dry runs. */
  store?: VersionStore;
  /** Status given to recorded results: 'proposed' (review pending) or 'accepted' (CLI --write). */
  recordAs?: 'proposed' | 'accepted';
  /** Append the events to `.optimizer/runs/<run>.jsonl` (needs a writable workspace). Default: when a store is given. */
  runLog?: boolean;
  events?: EngineEventSink;
  signal?: AbortSignal;
  /**
   * Builds the evidence gate for LLM proposals (service/gateFactory's createEvidenceGate; the
   * extension loads it lazily). Absent: the heuristic alone decides, whatever `config.evidence` says.
   */
  evidenceGate?: EvidenceGateFactory;
  /** The model requests without a model of their own go to (the endpoint's or editor model's), for the judge choice. */
  defaultModel?: string;
}

export interface RecordedVersions {
  baseline: PromptVersion;
  proposal?: PromptVersion;
}

export interface OptimizeDocumentOutcome extends RunOutcome {
  doc: DifyDocument;
  /** Plain-words notes for the user (e.g. rule fallback without a key). */
  notes: string[];
  strategies: string[];
  /** promptId → versions written for it. */
  versions: Map<string, RecordedVersions>;
  runLogFile?: string;
}

/** The prompts a run optimizes (named ones, or every prompt but labels unless asked), with a note on the labels left out. */
export function selectPrompts(doc: DifyDocument, rel: string, opts: Pick<OptimizeDocumentOptions, 'promptIds' | 'includeLabels'>): { prompts: PromptRecord[]; notes: string[] } {
  let prompts = doc.prompts;
  const notes: string[] = [];
  if (!opts.promptIds?.length && !opts.includeLabels) {
    const labels = prompts.filter((p) => isLabel(p)).length;
    if (labels) {
      prompts = prompts.filter((p) => !isLabel(p));
      notes.push(
        `${labels} label${labels === 1 ? '' : 's'} (class names, parameter descriptions, structured-output descriptions) left as ${labels === 1 ? 'it is' : 'they are'}: rewriting a label changes routing or extraction. Turn on the setting promptOptimizer.includeLabels (CLI: --include-labels) to rewrite them.`,
      );
    }
  }
  if (opts.promptIds?.length) {
    const byId = new Map(prompts.map((p) => [p.id, p]));
    prompts = opts.promptIds.map((id) => {
      const p = byId.get(id);
      if (!p) throw new DslError('DSL_UNKNOWN_PROMPT', `no prompt with id '${id}' in this file`, { file: rel, promptId: id });
      return p;
    });
  }
  return { prompts, notes };
}

/**
 * Optimizes the prompts of one workflow document: parse → plan strategies → engine → record
 * baselines and results as versions → events to the caller and the run log. One failing prompt
 * never stops the others; cancel stops at once (no partial version is written for a cancelled prompt).
 */
export async function optimizeDocument(opts: OptimizeDocumentOptions): Promise<OptimizeDocumentOutcome> {
  const rel = workflowKey(opts.workspaceRoot, opts.file);
  const doc = parseDify(opts.text, { file: rel });
  const { prompts, notes: labelNotes } = selectPrompts(doc, rel, opts);
  const plan = planStrategies(opts.config.strategies, opts.llm, {
    model: opts.config.model.name,
    temperature: opts.config.model.temperature,
  });
  const config = { ...opts.config, strategies: plan.strategies };
  const runId = newRunId();
  let log: RunLog | undefined;
  if (opts.runLog ?? !!opts.store) {
    log = await RunLog.open(path.join(runsDir(opts.workspaceRoot), `${runId}.jsonl`));
    log.append({ type: 'run_start', runId, workflow: rel, time: Date.now(), strategies: plan.strategies, prompts: prompts.length });
  }
  // With a model, LLM proposals must show evidence on the prompt's test cases (see engine/gate).
  const gate =
    opts.llm && opts.evidenceGate && config.evidence.mode !== 'off' && plan.strategies.some(isLlmStrategy)
      ? opts.evidenceGate({ root: opts.workspaceRoot, workflowFile: opts.file, doc, client: opts.llm, settings: config.evidence, ...judgeModels(opts) })
      : undefined;
  const engine = new OptimizationEngine({
    analyze: analyzePrompt,
    strategy: plan.resolve,
    evidence: gate,
    events: fanOut(opts.events, log ? (e) => log!.append(e) : undefined),
  });
  let outcome: RunOutcome;
  try {
    outcome = await engine.optimizeAll(prompts, config, { runId, signal: opts.signal, force: opts.force });
  } finally {
    if (log) {
      log.append({ type: 'run_end', runId, time: Date.now(), cancelled: !!opts.signal?.aborted });
      await log.close().catch(() => undefined);
    }
  }
  const versions = new Map<string, RecordedVersions>();
  if (opts.store) {
    for (const r of outcome.results) {
      versions.set(r.promptId, await recordResult(opts.store, rel, r, opts.recordAs ?? 'proposed'));
    }
  }
  return { ...outcome, doc, notes: [...labelNotes, ...plan.notes], strategies: plan.strategies, versions, runLogFile: log?.file };
}

/**
 * Saves the baseline (once per distinct original text) and, for an accepted result, the proposal;
 * for a result whose best candidate was inconclusive on its cases, that candidate as a proposal
 * marked `unproven` (the cases, answers and judgements spent on it stay in use).
 */
export async function recordResult(
  store: VersionStore,
  workflow: string,
  r: OptimizationResult,
  status: 'proposed' | 'accepted',
): Promise<RecordedVersions> {
  // The file's current text is often a version we already hold (an accepted proposal, a restore):
  // then that version is the parent and no new baseline is written.
  const latest = await store.latest(workflow, r.promptId);
  const baseline =
    latest && latest.text === r.original && latest.status !== 'rejected' && latest.status !== 'proposed'
      ? latest
      : await store.ensureBaseline(workflow, r.promptId, r.original, { ...r.before });
  const u = !r.accepted ? r.unproven : undefined;
  if (!r.accepted && !u) return { baseline };
  const p = u
    ? { text: u.text, after: u.after, strategy: u.strategy, improvement: u.improvement, confidence: u.confidence, rationale: u.rationale, iterations: u.iterations, changes: u.changes, evidence: u.evidence }
    : { text: r.optimized, after: r.after, strategy: r.strategy ?? 'none', improvement: r.improvement, confidence: r.confidence, rationale: r.rationale, iterations: r.iterations, changes: r.changes, evidence: r.evidence };
  const proposal = await store.save({
    workflow,
    promptId: r.promptId,
    text: p.text,
    analysis: { ...p.after },
    parentVersion: baseline.version,
    status,
    ...(u ? { unproven: true } : {}),
    optimization: {
      strategy: p.strategy,
      before: { ...r.before },
      after: { ...p.after },
      improvement: p.improvement,
      confidence: p.confidence,
      rationale: p.rationale,
      cost: { ...r.cost },
      iterations: p.iterations,
    },
    metadata: {
      nodeTitle: r.nodeTitle,
      kind: r.kind,
      role: r.role,
      changes: p.changes,
      ...(p.evidence ? { evidence: { ...p.evidence } } : {}),
      ...(r.evidenceNote && !u ? { evidenceNote: r.evidenceNote } : {}),
    },
  });
  return { baseline, proposal };
}

/** What the gate's judge choice needs: the default model and the configured ones (a judge other than the task model when there is one). */
export function judgeModels(o: { defaultModel?: string; config: EngineConfig }): { defaultModel?: string; models: string[] } {
  return { ...(o.defaultModel ? { defaultModel: o.defaultModel } : {}), models: [o.config.model.name].filter((m): m is string => !!m) };
}
