/**
 * `eval`: runs the current prompt and a candidate on the same cases, exactly as the node sends
 * them (runtime/: the node runner), and compares the answers — with the pairwise judge in both orders and the
 * requirement checklist, or, for labelled cases (`expected` / `labels`), with the existing
 * metrics. Every request goes through the client (cache, budget, concurrency), so a re-run
 * costs nothing and a cancelled run resumes where it stopped.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { PromptRecord } from '../dsl/types';
import { CancelledError, isAbortError, isOptimizerError } from '../errors';
import { createMetric, scoreOutput, type Metric } from '../evaluation/metrics';
import { isFatal } from '../evaluation/run';
import type { Example } from '../evaluation/types';
import type { LlmClient } from '../llm/types';
import { checkMechanically, checklistSha256, type Checklist, type Requirement } from './checklist';
import { judgeBothOrders } from './judge';
import { judgeTaskOf } from './judgeTask';
import { requestNoteOf } from '../runtime/request';
import { modelNodeRunner, type NodeRunner, type RuntimeInfo } from '../runtime/runner';
import { droppedRequirements, verdictOf, winStats, type RequirementRate, type Verdict, type WinStats } from './stats';
import { addUsage, countResponse, zeroUsage, type EvidenceUsage } from './usage';
import type { NodeSpec } from '../runtime/workflow';

export interface AnswerRun {
  output: string;
  /** Where this run differed from Dify's request (the runner says; e.g. tools the endpoint refused). */
  note?: string;
  /** Set when the task call failed (the answer is then empty). */
  error?: { code: string; message: string };
  /** Metric score (labelled cases only). */
  score?: number;
}

export interface CaseEvidence {
  id: string;
  kind?: string;
  note?: string;
  input: Record<string, string>;
  current: AnswerRun;
  candidate: AnswerRun;
  winner: 'candidate' | 'current' | 'tie';
  reason: string;
  /** The two judge orders (current as A first), when the judge decided. */
  orders?: Array<{ winner: 'A' | 'B' | 'tie'; reason: string; error?: string }>;
  /** Requirement id → met by each answer (null: could not be checked). */
  checks: Record<string, { current: boolean | null; candidate: boolean | null }>;
}

export interface EvidenceReport {
  promptId: string;
  /** How the cases were compared. */
  method: 'judge' | 'metrics';
  taskModel?: string;
  judgeModel?: string;
  candidateSha256: string;
  /** Content hash of the checklist the answers were checked against (none: no checklist). */
  checklistSha256?: string;
  /** Where the runs differ from what Dify sends (e.g. a function-call extractor run in prompt mode). */
  requestNote?: string;
  cases: CaseEvidence[];
  stats: WinStats;
  requirements: RequirementRate[];
  /** Requirements whose pass rate dropped (the gate refuses those). */
  dropped: string[];
  verdict: Verdict;
  usage: EvidenceUsage;
  /** Where the answers came from when not a model: Dify itself (server, version, app copies). */
  runtime?: RuntimeInfo;
}

export interface EvaluateOptions {
  client: LlmClient;
  /** Runs both prompts on each case (default: the node's request on a model through `client`). The judge always uses `client`. */
  runner?: NodeRunner;
  record: PromptRecord;
  spec?: NodeSpec;
  examples: readonly Example[];
  /** The candidate text for `record` (the current text is `record.text`). */
  candidate: string;
  checklist?: Checklist;
  /** Metrics for labelled examples; default exact match. */
  metrics?: Metric[];
  /** The model that runs the prompt: default the node's own model, else the client's. */
  taskModel?: string;
  judgeModel?: string;
  /** Kind and note of generated cases, by id (see cases.readCaseMeta). */
  caseMeta?: ReadonlyMap<string, { kind?: string; note?: string }>;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** The case's input as the judge sees it: one `key: value` block per variable. */
export function describeInput(vars: Record<string, string>): string {
  return Object.entries(vars)
    .map(([k, v]) => `${k}: ${v.includes('\n') ? `\n${v}` : v}`)
    .join('\n');
}

async function runTask(opts: EvaluateOptions, example: Example, text: string, usage: EvidenceUsage): Promise<AnswerRun> {
  const runner = opts.runner ?? modelNodeRunner(opts.client);
  try {
    const res = await runner.run({ record: opts.record, spec: opts.spec, text, example }, { model: opts.taskModel, signal: opts.signal, tag: 'evidence:task' });
    if (res.response) countResponse(usage, res.response);
    const note = res.note ? { note: res.note } : {};
    if (res.truncated) return { output: res.output, ...note, error: { code: 'LLM_TRUNCATED', message: 'the answer was cut off (finish_reason "length")' } };
    return { output: res.output, ...note };
  } catch (e) {
    if (isAbortError(e)) throw new CancelledError('The evaluation was cancelled.');
    if (isFatal(e)) throw e;
    return { output: '', error: isOptimizerError(e) ? { code: e.code, message: e.message } : { code: 'INTERNAL', message: String(e) } };
  }
}

const labelled = (e: Example) => e.expected !== undefined || (e.labels?.length ?? 0) > 0;

/** Runs current and candidate on every example and compares them. Throws CancelledError on cancel (what was answered is cached). */
export async function evaluateCandidate(opts: EvaluateOptions): Promise<EvidenceReport> {
  // Every case's requests listen on the one signal.
  if (opts.signal) setMaxListeners(0, opts.signal);
  const usage = zeroUsage();
  const reqs: Requirement[] = opts.checklist?.requirements ?? [];
  const task = judgeTaskOf(opts.record, opts.spec);
  const judged = reqs.filter((r) => r.check.type === 'judge');
  const method: EvidenceReport['method'] = opts.examples.length > 0 && opts.examples.every(labelled) ? 'metrics' : 'judge';
  const metrics = opts.metrics?.length ? opts.metrics : [createMetric({ type: 'exact' })];
  let done = 0;
  const total = opts.examples.length;
  const cases = await Promise.all(
    opts.examples.map(async (ex): Promise<CaseEvidence> => {
      const caseUsage = zeroUsage();
      const [current, candidate] = await Promise.all([runTask(opts, ex, opts.record.text, caseUsage), runTask(opts, ex, opts.candidate, caseUsage)]);
      const meta = opts.caseMeta?.get(ex.id);
      const base: Omit<CaseEvidence, 'winner' | 'reason' | 'checks'> = { id: ex.id, kind: meta?.kind, note: meta?.note, input: ex.vars, current, candidate };
      const checks: CaseEvidence['checks'] = {};
      for (const r of reqs) {
        checks[r.id] = {
          current: current.error ? false : (checkMechanically(r, current.output) ?? null),
          candidate: candidate.error ? false : (checkMechanically(r, candidate.output) ?? null),
        };
      }
      let out: CaseEvidence;
      if (current.error || candidate.error) {
        const winner = current.error && candidate.error ? 'tie' : current.error ? 'candidate' : 'current';
        const reason = [current.error ? `the current prompt's call failed: ${current.error.message}` : '', candidate.error ? `the candidate's call failed: ${candidate.error.message}` : ''].filter(Boolean).join('; ');
        out = { ...base, winner, reason, checks };
      } else if (method === 'metrics') {
        const ctx = { client: opts.client, judgeModel: opts.judgeModel, signal: opts.signal };
        const [a, b] = await Promise.all([scoreOutput(metrics, current.output, ex, ctx), scoreOutput(metrics, candidate.output, ex, ctx)]);
        current.score = a.score;
        candidate.score = b.score;
        const winner = b.score > a.score + 1e-9 ? 'candidate' : b.score < a.score - 1e-9 ? 'current' : 'tie';
        out = { ...base, winner, reason: `score ${a.score.toFixed(2)} → ${b.score.toFixed(2)} (${metrics.map((m) => m.name).join(', ')})`, checks };
      } else {
        const j = await judgeBothOrders(
          opts.client,
          { task, input: describeInput(ex.vars), current: current.output, candidate: candidate.output, requirements: judged },
          { model: opts.judgeModel, signal: opts.signal },
        );
        Object.assign(caseUsage, addUsage(caseUsage, j.usage));
        for (const r of judged) checks[r.id] = { current: j.meetsCurrent.includes(r.id), candidate: j.meetsCandidate.includes(r.id) };
        out = { ...base, winner: j.winner, reason: j.reason, orders: j.orders.map((o) => ({ winner: o.winner, reason: o.reason, ...(o.error ? { error: o.error } : {}) })), checks };
      }
      Object.assign(usage, addUsage(usage, caseUsage));
      done += 1;
      opts.onProgress?.(done, total);
      return out;
    }),
  );
  const stats = winStats({
    wins: cases.filter((c) => c.winner === 'candidate').length,
    ties: cases.filter((c) => c.winner === 'tie').length,
    losses: cases.filter((c) => c.winner === 'current').length,
  });
  const requirements: RequirementRate[] = reqs.map((r) => {
    const rows = cases.map((c) => c.checks[r.id]).filter((x): x is { current: boolean; candidate: boolean } => !!x && x.current !== null && x.candidate !== null);
    const rate = (k: 'current' | 'candidate') => (rows.length ? rows.filter((x) => x[k]).length / rows.length : 0);
    return { id: r.id, text: r.text, current: rate('current'), candidate: rate('candidate'), cases: rows.length };
  });
  const notes = new Set([requestNoteOf(opts.spec), ...cases.flatMap((c) => [c.current.note, c.candidate.note])].filter((n): n is string => !!n));
  const note = notes.size ? [...notes].join('; ') : undefined;
  return {
    promptId: opts.record.id,
    method,
    taskModel: opts.taskModel ?? opts.spec?.model,
    judgeModel: opts.judgeModel,
    candidateSha256: sha(opts.candidate),
    ...(opts.checklist ? { checklistSha256: checklistSha256(opts.checklist) } : {}),
    ...(note ? { requestNote: note } : {}),
    cases,
    stats,
    requirements,
    dropped: droppedRequirements(requirements).map((r) => r.id),
    verdict: verdictOf(stats, requirements),
    usage,
    ...(opts.runner?.describe?.() ? { runtime: opts.runner.describe() } : {}),
  };
}

/** Calls an eval of `n` cases makes at most: 2 task calls per case, and 2 judge calls (judge method). */
export function estimateEvalCalls(n: number, method: 'judge' | 'metrics' = 'judge'): number {
  return n * (method === 'judge' ? 4 : 2);
}

/** "better · win rate 0.79 (lower bound 0.58) · 9 wins, 2 ties, 1 loss" */
export function evidenceSummary(r: Pick<EvidenceReport, 'verdict' | 'stats' | 'dropped'>): string {
  const s = r.stats;
  const drop = r.dropped.length ? ` · pass rate dropped: ${r.dropped.join(', ')}` : '';
  return `${r.verdict} · win rate ${s.winRate.toFixed(2)} (90% lower bound ${s.lower.toFixed(2)}) · ${s.wins} win${s.wins === 1 ? '' : 's'}, ${s.ties} tie${s.ties === 1 ? '' : 's'}, ${s.losses} loss${s.losses === 1 ? '' : 'es'}${drop}`;
}
