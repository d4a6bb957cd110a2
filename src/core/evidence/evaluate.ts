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
import { modelNodeRunner, type NodeRunner } from '../runtime/runner';
import { ALPHA, confidenceSequence, lookSizes, scoreOf, sequenceTest, type SequenceDecision } from './sequence';
import { DEFAULT_MIN_CONSISTENCY, droppedRequirements, type RequirementRate, type Verdict, type WinStats } from './stats';
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
  /** Tally and win rate over every case run; lower/upper: the final interval (anytime-valid, see sequence.ts). */
  stats: WinStats;
  /** The anytime-valid interval after each look (cases so far, win rate, bounds). */
  looks?: Array<{ cases: number; winRate: number; lower: number; upper: number }>;
  /** Share of judged cases (0..1) whose two orders agreed. */
  positionConsistency?: number;
  /** Whether the judge is the model that runs the prompt. */
  sameJudgeAsTask?: boolean;
  /** The one-sided error the keep test used (0.05, divided among the prompt's distinct candidates). */
  alphaKeep?: number;
  /** Why the sequence stopped before a decision (a later look could not be run). */
  stopped?: string;
  /** With the verdict "judge unreliable": what was measured and what to change. */
  unreliable?: string;
  requirements: RequirementRate[];
  /** Requirements whose pass rate dropped (the gate refuses those). */
  dropped: string[];
  verdict: Verdict;
  usage: EvidenceUsage;
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
  /** The endpoint's own model (where requests without a model go), to tell whether judge and task model are the same. */
  defaultModel?: string;
  /**
   * Sequential looks: start with `initial` cases, add `step` (default sequence.LOOK_STEP) while
   * inconclusive, up to `max`; `more(existing, n)` writes n further cases unlike the existing ones.
   */
  sequence?: { initial: number; max: number; step?: number; more?: (existing: readonly Example[], n: number) => Promise<Example[]> };
  /** Distinct candidates evaluated for this prompt: the keep test's α is divided among them (Bonferroni). */
  candidates?: number;
  /** Below this share of judged cases whose two orders agree, the verdict is "judge unreliable" (default 0.6). */
  minConsistency?: number;
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

/** Runs current and candidate on each example and compares them (cases in the order given). */
async function compareCases(opts: EvaluateOptions, examples: readonly Example[], ctx: { method: EvidenceReport['method']; reqs: Requirement[]; judged: Requirement[]; task: string; metrics: Metric[]; usage: EvidenceUsage; progress: () => void }): Promise<CaseEvidence[]> {
  const { method, reqs, judged, task, metrics, usage } = ctx;
  return Promise.all(
    examples.map(async (ex): Promise<CaseEvidence> => {
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
        const mctx = { client: opts.client, judgeModel: opts.judgeModel, signal: opts.signal };
        const [a, b] = await Promise.all([scoreOutput(metrics, current.output, ex, mctx), scoreOutput(metrics, candidate.output, ex, mctx)]);
        current.score = a.score;
        candidate.score = b.score;
        const winner = b.score > a.score + 1e-9 ? 'candidate' : b.score < a.score - 1e-9 ? 'current' : 'tie';
        out = { ...base, winner, reason: `score ${a.score.toFixed(2)} → ${b.score.toFixed(2)} (${metrics.map((m) => m.name).join(', ')})`, checks };
      } else {
        // The judge sees the task, the input and two answers labelled A and B, never which is the candidate.
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
      ctx.progress();
      return out;
    }),
  );
}

/** Whether a judged case's two orders agreed (the first had the current answer as A, the second the candidate). */
export function ordersAgree(c: Pick<CaseEvidence, 'orders'>): boolean | undefined {
  if (!c.orders || c.orders.length < 2) return undefined;
  const side = (w: 'A' | 'B' | 'tie', candidateIs: 'A' | 'B') => (w === 'tie' ? 'tie' : w === candidateIs ? 'candidate' : 'current');
  return side(c.orders[0]!.winner, 'B') === side(c.orders[1]!.winner, 'A');
}

/** Share of judged cases whose two orders agreed (undefined: no case was judged). */
export function positionConsistency(cases: readonly CaseEvidence[]): number | undefined {
  const judged = cases.map(ordersAgree).filter((x): x is boolean => x !== undefined);
  return judged.length ? judged.filter(Boolean).length / judged.length : undefined;
}

/**
 * Runs current and candidate on the cases and compares them, look by look (see sequence.ts):
 * the first `sequence.initial` cases, then `sequence.step` more at a time while the result is
 * inconclusive, up to `sequence.max` (cases past the examples given come from `more`). Without
 * `sequence`, one look over every example. Throws CancelledError on cancel (what was answered
 * is cached, so a resumed run repeats no request).
 */
export async function evaluateCandidate(opts: EvaluateOptions): Promise<EvidenceReport> {
  // Every case's requests listen on the one signal.
  if (opts.signal) setMaxListeners(0, opts.signal);
  const usage = zeroUsage();
  const reqs: Requirement[] = opts.checklist?.requirements ?? [];
  const examples: Example[] = [...opts.examples];
  const method: EvidenceReport['method'] = examples.length > 0 && examples.every(labelled) ? 'metrics' : 'judge';
  const metrics = opts.metrics?.length ? opts.metrics : [createMetric({ type: 'exact' })];
  const seq = opts.sequence;
  const max = seq ? Math.max(1, seq.max) : examples.length;
  const sizes = seq ? lookSizes(Math.max(1, Math.min(seq.initial, max)), max, seq.step) : [examples.length];
  const alphaKeep = ALPHA / Math.max(1, opts.candidates ?? 1);
  const minConsistency = opts.minConsistency ?? DEFAULT_MIN_CONSISTENCY;
  let done = 0;
  const cases: CaseEvidence[] = [];
  const looks: NonNullable<EvidenceReport['looks']> = [];
  let decision: SequenceDecision = 'continue';
  let stopped: string | undefined;
  let unreliable = false;
  const cctx = { method, reqs, judged: reqs.filter((r) => r.check.type === 'judge'), task: judgeTaskOf(opts.record, opts.spec), metrics, usage, progress: () => opts.onProgress?.(++done, Math.max(done, Math.min(max, examples.length))) };
  for (const [k, size] of sizes.entries()) {
    if (examples.length < size && seq?.more && method === 'judge') {
      try {
        examples.push(...(await seq.more(examples, size - examples.length)));
      } catch (e) {
        if (isAbortError(e) || e instanceof CancelledError || isFatalForSequence(e)) throw e;
        // The looks so far stand; the report says why the sequence stopped here.
        stopped = `more test cases could not be written: ${isOptimizerError(e) ? e.message : String(e)}`;
        break;
      }
    }
    const batch = examples.slice(cases.length, Math.min(size, examples.length));
    if (batch.length === 0) break;
    try {
      cases.push(...(await compareCases(opts, batch, cctx)));
    } catch (e) {
      // A later look that cannot finish (e.g. the budget): the earlier looks stand.
      if (k === 0 || isAbortError(e) || e instanceof CancelledError || isFatalForSequence(e)) throw e;
      stopped = `the sequence stopped at ${cases.length} cases: ${isOptimizerError(e) ? e.message : String(e)}`;
      break;
    }
    const xs = cases.map((c) => scoreOf(c.winner));
    const cs = confidenceSequence(xs, { lower: alphaKeep });
    looks.push({ cases: xs.length, winRate: mean(xs), lower: cs.lower[xs.length - 1]!, upper: cs.upper[xs.length - 1]! });
    decision = sequenceTest(xs, { alphaKeep, maxCases: max }).decision;
    const pc = method === 'judge' ? positionConsistency(cases) : undefined;
    if (pc !== undefined && pc < minConsistency) {
      unreliable = true;
      break;
    }
    if (decision !== 'continue') break;
  }
  const xs = cases.map((c) => scoreOf(c.winner));
  const tally = {
    wins: cases.filter((c) => c.winner === 'candidate').length,
    ties: cases.filter((c) => c.winner === 'tie').length,
    losses: cases.filter((c) => c.winner === 'current').length,
  };
  const last = looks[looks.length - 1];
  const stats: WinStats = { ...tally, cases: cases.length, winRate: mean(xs), lower: last?.lower ?? 0, upper: last?.upper ?? 1 };
  const requirements: RequirementRate[] = reqs.map((r) => {
    const rows = cases.map((c) => c.checks[r.id]).filter((x): x is { current: boolean; candidate: boolean } => !!x && x.current !== null && x.candidate !== null);
    const rate = (k: 'current' | 'candidate') => (rows.length ? rows.filter((x) => x[k]).length / rows.length : 0);
    return { id: r.id, text: r.text, current: rate('current'), candidate: rate('candidate'), cases: rows.length };
  });
  const notes = new Set([requestNoteOf(opts.spec), ...cases.flatMap((c) => [c.current.note, c.candidate.note])].filter((n): n is string => !!n));
  const note = notes.size ? [...notes].join('; ') : undefined;
  const consistency = method === 'judge' ? positionConsistency(cases) : undefined;
  const dropped = droppedRequirements(requirements);
  let verdict: Verdict = dropped.length || decision === 'worse' ? 'worse' : decision === 'better' ? 'better' : 'no evidence';
  if (unreliable && verdict !== 'worse') verdict = 'judge unreliable';
  const taskModel = opts.taskModel ?? opts.spec?.model;
  return {
    promptId: opts.record.id,
    method,
    taskModel,
    judgeModel: opts.judgeModel,
    candidateSha256: sha(opts.candidate),
    ...(opts.checklist ? { checklistSha256: checklistSha256(opts.checklist) } : {}),
    ...(note ? { requestNote: note } : {}),
    cases,
    stats,
    looks,
    ...(consistency !== undefined ? { positionConsistency: consistency } : {}),
    ...(method === 'judge' ? { sameJudgeAsTask: sameModel(opts.judgeModel, taskModel, opts.defaultModel) } : {}),
    alphaKeep,
    ...(stopped ? { stopped } : {}),
    ...(verdict === 'judge unreliable' ? { unreliable: unreliableMessage(consistency ?? 0, minConsistency, opts.judgeModel, taskModel, opts.defaultModel) } : {}),
    requirements,
    dropped: dropped.map((r) => r.id),
    verdict,
    usage,
  };
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/** Budget and authentication errors end the whole gate, as before (the caller decides). */
function isFatalForSequence(e: unknown): boolean {
  return isOptimizerError(e) && (e.code === 'LLM_AUTH' || e.code === 'LLM_NO_KEY');
}

/** Whether the judge and the task go to the same model (undefined models go to the endpoint's own, `defaultModel`). */
export function sameModel(judge: string | undefined, task: string | undefined, defaultModel?: string): boolean {
  const j = judge ?? defaultModel;
  const t = task ?? defaultModel;
  if (j === undefined && t === undefined) return true;
  return j === t;
}

function unreliableMessage(consistency: number, min: number, judge: string | undefined, task: string | undefined, defaultModel?: string): string {
  const who = judge ?? defaultModel ?? "the endpoint's model";
  const same = sameModel(judge, task, defaultModel) ? ' It is also the model that runs the prompt.' : '';
  return (
    `The judge (${who}) gave the same verdict in both orders of the answers on only ${Math.round(consistency * 100)}% of the cases (at least ${Math.round(min * 100)}% needed), ` +
    `so its verdicts follow the position more than the answers.${same} Use a stronger or different judge model (evidence.judge_model in .optimizer/config.yaml, ` +
    `the promptOptimizer.evidence.judgeModel setting or --judge-model).`
  );
}

/** Calls an eval of `n` cases makes at most: 2 task calls per case, and 2 judge calls (judge method); the sequence may stop sooner. */
export function estimateEvalCalls(n: number, method: 'judge' | 'metrics' = 'judge'): number {
  return n * (method === 'judge' ? 4 : 2);
}

/** "better · win rate 0.79 (lower bound 0.58) · 9 wins, 2 ties, 1 loss" (the bound: one-sided 95%, anytime-valid). */
export function evidenceSummary(r: Pick<EvidenceReport, 'verdict' | 'stats' | 'dropped'>): string {
  const s = r.stats;
  const drop = r.dropped.length ? ` · pass rate dropped: ${r.dropped.join(', ')}` : '';
  return `${r.verdict} · win rate ${s.winRate.toFixed(2)} (lower bound ${s.lower.toFixed(2)}) · ${s.wins} win${s.wins === 1 ? '' : 's'}, ${s.ties} tie${s.ties === 1 ? '' : 's'}, ${s.losses} loss${s.losses === 1 ? '' : 'es'}${drop}`;
}
