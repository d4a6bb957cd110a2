/**
 * Evidence for one candidate of one prompt, end to end: the cases (generated once per prompt
 * and reused, or a dataset the user names), the checklist beside them, the comparison, and the
 * report written under `.optimizer/evidence/` (JSON and a readable markdown file).
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { DifyDocument } from '../dsl/parse';
import type { PromptRecord } from '../dsl/types';
import { parseDataset } from '../evaluation/dataset';
import type { Metric } from '../evaluation/metrics';
import type { LlmClient } from '../llm/types';
import { atomicWriteFile } from '../util/atomicWrite';
import type { Example } from '../evaluation/types';
import { casesFileFor, casesToJsonl, estimateCases, generateCases, readCaseMeta, writeCases, type CasesPlan, type TestCase } from './cases';
import { checklistFileFor, checklistSha256, loadOrDrawChecklist, readChecklist, sha256, type Checklist } from './checklist';
import { evaluateCandidate, type EvidenceReport } from './evaluate';
import { evidenceMarkdown } from './report';
import { lookSizes } from './sequence';
import { addUsage, zeroUsage, type EvidenceUsage } from './usage';
import { inputsOf, nodeSpecOf, nodeTextsOf, readWorkflow, type InputSpec, type NodeSpec } from '../runtime/workflow';
import { readRegularText } from '../util/safeRead';
import { fsIoError } from '../util/fsError';

export const DEFAULT_CASES = 12;
/** Cases a sequence may grow to while the result is inconclusive (evidence.max_cases). */
export const DEFAULT_MAX_CASES = 48;

export interface PromptContext {
  record: PromptRecord;
  spec?: NodeSpec;
  inputs: InputSpec[];
  /** Every text of the node, for the case generator. */
  nodeTexts: string[];
}

/** What the prompt's node receives and how it calls its model. */
export function promptContext(doc: DifyDocument, record: PromptRecord): PromptContext {
  const view = readWorkflow(doc);
  const spec = nodeSpecOf(view, record);
  let inputs = inputsOf(view, record, spec);
  if (inputs.length === 0 || (!spec?.messages && !spec?.completion && !spec?.wrapper && !inputs.some((i) => i.key === 'sys.query'))) {
    // An instruction outside an llm node is run with the user's message as the user turn.
    inputs = [...inputs, { key: 'sys.query', source: 'sys', description: "the user's message" }];
  }
  const nodeTexts = nodeTextsOf(record, spec);
  return { record, spec, inputs, nodeTexts };
}

export interface EvidenceEnv {
  root: string;
  /** Absolute path of the workflow file (names the cases file). */
  workflowFile: string;
  client: LlmClient;
  /** Cases to generate when there are none yet, and the first look (default 12). */
  count?: number;
  /** Cases the sequence may grow to while inconclusive (default 48; at most `count` means one look). */
  maxCases?: number;
  /** Below this share of judged cases whose two orders agree, the verdict is "judge unreliable" (default 0.6). */
  minConsistency?: number;
  /** The endpoint's own model, when known (tells whether judge and task model are the same). */
  defaultModel?: string;
  judgeModel?: string;
  /** Model that runs the prompt; default the node's own model. */
  taskModel?: string;
  metrics?: Metric[];
  signal?: AbortSignal;
  /**
   * Write nothing (no cases file, checklist or report): the estimate's replay over the cache
   * (engine/estimate.ts) walks the same steps without leaving anything behind.
   */
  dryRun?: boolean;
  onProgress?: (phase: 'cases' | 'checklist' | 'eval', done: number, total: number) => void;
}

export interface CasesOutcome {
  file: string;
  /** true when the file already existed and was reused (nothing generated). */
  reused: boolean;
  cases?: TestCase[];
  /** The file's text as written (or, in a dry run, as it would be written). */
  text?: string;
  usage: EvidenceUsage;
  problems: string[];
}

async function exists(file: string): Promise<boolean> {
  return fs.stat(file).then(
    () => true,
    () => false,
  );
}

/** Calls and tokens `ensureCases` would spend (0 calls when the file exists). */
export async function planCases(
  env: EvidenceEnv,
  ctx: PromptContext,
  file = casesFileFor(env.root, env.workflowFile, ctx.record.id),
  opts: { force?: boolean } = {},
): Promise<CasesPlan & { file: string; reused: boolean }> {
  if (!opts.force && (await exists(file))) return { calls: 0, promptTokens: 0, completionTokens: 0, file, reused: true };
  return { ...estimateCases({ record: ctx.record, nodeTexts: ctx.nodeTexts, inputs: ctx.inputs, count: env.count ?? DEFAULT_CASES }), file, reused: false };
}

/** The prompt's cases file: reused when it exists, else generated and written. `force` generates again. */
export async function ensureCases(env: EvidenceEnv, ctx: PromptContext, opts: { file?: string; force?: boolean } = {}): Promise<CasesOutcome> {
  const file = opts.file ?? casesFileFor(env.root, env.workflowFile, ctx.record.id);
  if (!opts.force && (await exists(file))) return { file, reused: true, usage: zeroUsage(), problems: [] };
  env.onProgress?.('cases', 0, 1);
  const g = await generateCases(env.client, { record: ctx.record, nodeTexts: ctx.nodeTexts, inputs: ctx.inputs, count: env.count ?? DEFAULT_CASES, model: env.judgeModel, signal: env.signal });
  if (!env.dryRun) await writeCases(file, g.cases, ctx.record.id);
  env.onProgress?.('cases', 1, 1);
  return { file, reused: false, cases: g.cases, text: casesToJsonl(g.cases, ctx.record.id), usage: g.usage, problems: g.problems };
}

/** What the gate spends on a prompt before any candidate, and per candidate (for the estimate). */
export interface EvidencePlan {
  /** Calls to write the cases (0 when the file exists). */
  casesCalls: number;
  casesTokens: { prompt: number; completion: number };
  /** 1 when the checklist beside the cases must be drawn, else 0. */
  checklistCalls: number;
  /** Cases each prompt runs on: those of the file, or the number that will be generated. */
  cases: number;
  /** 'judge': 2 judge calls per case and candidate; 'metrics': the cases are labelled, no judge. */
  method: 'judge' | 'metrics';
  /** Cases a sequence may grow to (at least `cases`; equal when the cases cannot grow: labelled or a dataset). */
  maxCases: number;
  /** Calls to write the cases past those the file holds, up to `maxCases` (one per look). */
  extendCalls: number;
}

/** The gate's fixed costs for one prompt, from the files as they are (no call). */
export async function planEvidence(env: EvidenceEnv, ctx: PromptContext): Promise<EvidencePlan> {
  const c = await planCases(env, ctx);
  const checklist = await readChecklist(checklistFileFor(c.file)).catch(() => undefined);
  const checklistCalls = checklist && checklist.promptId === ctx.record.id && checklist.promptSha256 === sha256(ctx.record.text) ? 0 : 1;
  let cases = env.count ?? DEFAULT_CASES;
  let method: EvidencePlan['method'] = 'judge';
  // (`cases`: what the file holds; the first look is the smaller of it and `count`.)
  if (c.reused) {
    try {
      const ds = parseDataset(await readRegularText(c.file), { file: c.file });
      cases = ds.examples.length;
      if (cases > 0 && ds.examples.every((e) => e.expected !== undefined || (e.labels?.length ?? 0) > 0)) method = 'metrics';
    } catch {
      // An unreadable cases file fails the gate at run time; the estimate keeps the configured count.
    }
  }
  let maxCases = Math.max(cases, env.maxCases ?? DEFAULT_MAX_CASES);
  if (method === 'metrics') maxCases = cases;
  const initial = Math.min(env.count ?? DEFAULT_CASES, cases);
  const have = c.reused ? cases : env.count ?? DEFAULT_CASES;
  const extendCalls = lookSizes(initial, maxCases).filter((n) => n > have).length;
  return { casesCalls: c.calls, casesTokens: { prompt: c.promptTokens, completion: c.completionTokens }, checklistCalls, cases: initial, method, maxCases, extendCalls };
}

/** What a version records of its evidence. */
export interface EvidenceRecord {
  verdict: EvidenceReport['verdict'];
  winRate: number;
  lowerBound: number;
  /** Upper bound of the same interval (absent in records written before it was kept). */
  upperBound?: number;
  wins: number;
  ties: number;
  losses: number;
  cases: number;
  /** Relative to the workspace root, with forward slashes. */
  casesFile: string;
  casesSha256: string;
  checklistFile: string;
  /** Content hash of the checklist the cases were judged with (checklist.checklistSha256). */
  checklistSha256: string;
  reportFile: string;
  dropped: string[];
  usage: EvidenceUsage;
  /** Share of judged cases whose two orders agreed (judge method). */
  positionConsistency?: number;
  sameJudgeAsTask?: boolean;
  /** The case counts of the looks, in order (the last is `cases`). */
  looks?: number[];
  /** Why the sequence stopped before it decided, when a later look could not be run. */
  stopped?: string;
  /** With "judge unreliable": what was measured and what to change. */
  unreliable?: string;
}

export interface GatheredEvidence {
  report: EvidenceReport;
  checklist: Checklist;
  record: EvidenceRecord;
  /** Absolute paths. */
  files: { cases: string; checklist: string; reportJson: string; reportMarkdown: string };
}

const rel = (root: string, p: string) => path.relative(root, p).split(path.sep).join('/');

/**
 * Cases (ensured), checklist (drawn once), comparison of `candidate` with the current text,
 * report written. `datasetFile` names a dataset to use instead of the prompt's generated cases.
 */
export async function gatherEvidence(env: EvidenceEnv, ctx: PromptContext, candidate: string, opts: { datasetFile?: string; candidates?: number } = {}): Promise<GatheredEvidence> {
  let usage = zeroUsage();
  const casesFile = opts.datasetFile ?? casesFileFor(env.root, env.workflowFile, ctx.record.id);
  const checklistFile = checklistFileFor(casesFile);
  // The checklist needs only the prompt: it is drawn while the cases are written.
  env.onProgress?.('checklist', 0, 1);
  // Both settle before a failure is passed on: no request is left running behind the caller.
  const [casesP, clP] = await Promise.allSettled([
    opts.datasetFile ? { file: opts.datasetFile, usage: zeroUsage(), text: undefined } : ensureCases(env, ctx, { file: casesFile }),
    loadOrDrawChecklist(env.client, { file: checklistFile, promptId: ctx.record.id, prompt: ctx.record.text, structuredOutput: ctx.spec?.structuredOutput, answer: ctx.spec?.answer, model: env.judgeModel, signal: env.signal, write: !env.dryRun }),
  ]);
  if (casesP.status === 'rejected') throw casesP.reason;
  if (clP.status === 'rejected') throw clP.reason;
  const cases = casesP.value;
  const cl = clP.value;
  usage = addUsage(addUsage(usage, cases.usage), cl.usage);
  let text = cases.text ?? (await readRegularText(cases.file).catch((e: unknown) => {
    throw fsIoError(e, cases.file, 'read');
  }));
  const dataset = parseDataset(text, { file: cases.file });
  const count = env.count ?? DEFAULT_CASES;
  // Generated cases can grow (new ones written unlike the earlier ones); a named dataset is used as it is.
  const meta0 = readCaseMeta(text);
  const generated = !opts.datasetFile && dataset.examples.length > 0 && dataset.examples.every((e) => meta0.has(e.id));
  const max = opts.datasetFile ? dataset.examples.length : Math.max(count, env.maxCases ?? DEFAULT_MAX_CASES);
  const more = async (existing: readonly Example[], n: number): Promise<Example[]> => {
    env.onProgress?.('cases', 0, 1);
    const g = await generateCases(env.client, { record: ctx.record, nodeTexts: ctx.nodeTexts, inputs: ctx.inputs, count: n, existing: existing.map((e) => e.vars), model: env.judgeModel, signal: env.signal });
    usage = addUsage(usage, g.usage);
    for (const c of g.cases) meta0.set(c.id, { kind: c.kind, note: c.note });
    text = `${text.replace(/\n*$/, '\n')}${casesToJsonl(g.cases, ctx.record.id)}`;
    // Written before the cases run: a resumed sequence finds them (and their answers in the cache).
    if (!env.dryRun) await atomicWriteFile(cases.file, text);
    env.onProgress?.('cases', 1, 1);
    return parseDataset(casesToJsonl(g.cases, ctx.record.id), { file: cases.file }).examples;
  };
  const report = await evaluateCandidate({
    client: env.client,
    record: ctx.record,
    spec: ctx.spec,
    examples: dataset.examples,
    candidate,
    checklist: cl.checklist,
    metrics: env.metrics,
    taskModel: env.taskModel,
    judgeModel: env.judgeModel,
    defaultModel: env.defaultModel,
    caseMeta: meta0,
    sequence: { initial: Math.min(count, dataset.examples.length) || count, max: Math.max(max, 1), ...(generated ? { more } : {}) },
    candidates: opts.candidates,
    minConsistency: env.minConsistency,
    signal: env.signal,
    onProgress: (d, t) => env.onProgress?.('eval', d, t),
  });
  report.usage = addUsage(report.usage, usage);
  const stem = path.basename(cases.file).replace(/\.[^.]+$/, '');
  const dir = path.join(env.root, '.optimizer', 'evidence');
  const base = path.join(dir, `${stem}--${report.candidateSha256.slice(0, 12)}`);
  const files = { cases: cases.file, checklist: checklistFile, reportJson: `${base}.json`, reportMarkdown: `${base}.md` };
  const casesSha256 = sha256(text);
  const record: EvidenceRecord = {
    verdict: report.verdict,
    winRate: report.stats.winRate,
    lowerBound: report.stats.lower,
    upperBound: report.stats.upper,
    wins: report.stats.wins,
    ties: report.stats.ties,
    losses: report.stats.losses,
    cases: report.stats.cases,
    casesFile: rel(env.root, files.cases),
    casesSha256,
    checklistFile: rel(env.root, files.checklist),
    checklistSha256: checklistSha256(cl.checklist),
    reportFile: rel(env.root, files.reportMarkdown),
    dropped: report.dropped,
    usage: report.usage,
    ...(report.positionConsistency !== undefined ? { positionConsistency: report.positionConsistency } : {}),
    ...(report.sameJudgeAsTask !== undefined ? { sameJudgeAsTask: report.sameJudgeAsTask } : {}),
    ...(report.looks?.length ? { looks: report.looks.map((l) => l.cases) } : {}),
    ...(report.stopped ? { stopped: report.stopped } : {}),
    ...(report.unreliable ? { unreliable: report.unreliable } : {}),
  };
  if (env.dryRun) return { report, checklist: cl.checklist, record, files };
  await fs.mkdir(dir, { recursive: true });
  await atomicWriteFile(files.reportJson, `${JSON.stringify({ ...report, casesFile: record.casesFile, casesSha256, checklist: cl.checklist, current: ctx.record.text, candidate }, null, 2)}\n`);
  await atomicWriteFile(files.reportMarkdown, evidenceMarkdown(report, { checklist: cl.checklist, current: ctx.record.text, candidate, casesFile: record.casesFile, nodeTitle: ctx.record.nodeTitle }));
  return { report, checklist: cl.checklist, record, files };
}
