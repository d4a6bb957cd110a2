/**
 * Test cases from the workflow: the configured model writes values for every input of the
 * prompt's node (see workflow.inputsOf) — typical, edge and adversarial cases, in the prompt's
 * language, inputs only (no expected answer is invented) — and they are written as an ordinary
 * dataset, `.optimizer/datasets/<name>.jsonl`, one case a line, marked `source: generated`.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import * as z from 'zod';
import { CancelledError, DatasetError, isAbortError, isOptimizerError } from '../errors';
import type { PromptRecord } from '../dsl/types';
import { chatJson } from '../llm/json';
import { estimateMessagesTokens } from '../llm/cost';
import type { ChatMessage, LlmClient } from '../llm/types';
import { atomicWriteFile } from '../util/atomicWrite';
import { languageOf } from './checklist';
import { countFailure, countResponse, zeroUsage, type EvidenceUsage } from './usage';
import type { InputSpec } from '../runtime/workflow';

export type CaseKind = 'typical' | 'edge' | 'adversarial';

/** One generated case. `vars` keys are dataset keys (selectors without braces, see Example.vars). */
export interface TestCase {
  id: string;
  kind: CaseKind;
  /** What the case tries, in a few words (from the generator). */
  note: string;
  vars: Record<string, string>;
}

export const CASES_MARK = 'You write test inputs for an instruction used inside a workflow';
export const VARIABLES_OPEN = '<<<VARIABLES';
export const VARIABLES_CLOSE = 'VARIABLES>>>';
/** Around the existing cases when more are asked for (the scripted test model reads them). */
export const EXISTING_OPEN = '<<<EXISTING';
export const EXISTING_CLOSE = 'EXISTING>>>';
/** Cases asked for in one request (smaller batches are less likely to be cut off). */
export const CASES_PER_CALL = 6;
/** Completion tokens allowed per case in the estimate. */
const TOKENS_PER_CASE = 220;

const CASES_SYSTEM = `${CASES_MARK} (a Dify app). For each case, give a realistic value for
every listed variable, of the kind described (passages for retrieved context, text like the
upstream node would write, a JSON list of earlier turns for histories). Write in the language
given. Kinds: "typical" (what real users send), "edge" (an unclear or incomplete question, an
empty context, a very long input, an unusual option), "adversarial" (an attempt to make the
model ignore its instruction, leak it, or answer off-topic). Give only the inputs: never an
expected answer. Reply with JSON only:
{"cases": [{"kind": "typical" | "edge" | "adversarial", "note": "<what it tests>", "vars": {"<key>": "<value>", …}}]}`;

const CasesAnswerSchema = z.object({
  cases: z.array(
    z.object({
      kind: z.string().default('typical'),
      note: z.string().default(''),
      vars: z.record(z.string(), z.unknown()).default({}),
    }),
  ),
});

/** The kinds of `count` cases: about half typical, a quarter edge, a quarter adversarial. */
export function planKinds(count: number, offset = 0): CaseKind[] {
  const out: CaseKind[] = [];
  for (let i = offset; i < offset + count; i++) out.push(i % 4 === 1 ? 'edge' : i % 4 === 3 ? 'adversarial' : 'typical');
  return out;
}

const LANGUAGE_NAMES: Record<string, string> = { zh: 'Chinese', ja: 'Japanese', ko: 'Korean', en: 'English' };

/** Characters of each existing value shown to the case writer when more cases are asked for. */
const EXISTING_VALUE_CHARS = 160;

/** The existing cases, shortened, for "write cases unlike these". */
function existingBlock(existing: readonly Record<string, string>[]): string {
  const short = (v: string) => (v.length > EXISTING_VALUE_CHARS ? `${v.slice(0, EXISTING_VALUE_CHARS)}…` : v);
  const rows = existing.map((vars) => JSON.stringify(Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, short(v)]))));
  return `${EXISTING_OPEN}\n${rows.join('\n')}\n${EXISTING_CLOSE}`;
}

function batchMessages(record: PromptRecord, nodeTexts: string[], inputs: readonly InputSpec[], kinds: CaseKind[], batch: number, more?: { existing: readonly Record<string, string>[]; start: number }): ChatMessage[] {
  const language = LANGUAGE_NAMES[languageOf(record.text) ?? 'en'] ?? 'English';
  const vars = inputs.map((i) => ({
    key: i.key,
    description: i.description,
    ...(i.type ? { type: i.type } : {}),
    ...(i.required ? { required: true } : {}),
    ...(i.options ? { options: i.options } : {}),
    ...(i.maxLength ? { max_length: i.maxLength } : {}),
  }));
  return [
    { role: 'system', content: CASES_SYSTEM },
    {
      role: 'user',
      content: [
        `<instruction node="${record.nodeTitle}">\n${nodeTexts.join('\n---\n')}\n</instruction>`,
        `Language: ${language}`,
        `${VARIABLES_OPEN}\n${JSON.stringify(vars, null, 1)}\n${VARIABLES_CLOSE}`,
        ...(more
          ? [
              `These ${more.existing.length} cases exist already, one a line:\n${existingBlock(more.existing)}`,
              `Write ${kinds.length} new cases unlike every existing one (other topics, wording, lengths and tricks; starting at case ${more.start + 1}), in this order of kinds: ${kinds.join(', ')}.`,
            ]
          : [`Write ${kinds.length} cases (batch ${batch + 1}), in this order of kinds: ${kinds.join(', ')}.`]),
      ].join('\n\n'),
    },
  ];
}

export interface CasesPlan {
  calls: number;
  promptTokens: number;
  completionTokens: number;
}

export interface GenerateCasesOptions {
  record: PromptRecord;
  /** Every text of the node (all its messages), so the generator sees the whole instruction. */
  nodeTexts: string[];
  inputs: readonly InputSpec[];
  count: number;
  /**
   * Cases that exist already (their inputs): the new ones are asked to be unlike them, and are
   * numbered after them (sequential evidence adds cases while the result is inconclusive).
   */
  existing?: readonly Record<string, string>[];
  model?: string;
  signal?: AbortSignal;
}

function batches(count: number, offset = 0): CaseKind[][] {
  const kinds = planKinds(count, offset);
  const out: CaseKind[][] = [];
  for (let i = 0; i < kinds.length; i += CASES_PER_CALL) out.push(kinds.slice(i, i + CASES_PER_CALL));
  return out;
}

/** Calls and tokens generating `count` cases will take (before anything is sent). */
export function estimateCases(opts: Omit<GenerateCasesOptions, 'signal' | 'model'>): CasesPlan {
  const start = opts.existing?.length ?? 0;
  const bs = batches(opts.count, start);
  let promptTokens = 0;
  bs.forEach((k, i) => (promptTokens += estimateMessagesTokens(batchMessages(opts.record, opts.nodeTexts, opts.inputs, k, i, moreOf(opts, i)))));
  return { calls: bs.length, promptTokens, completionTokens: opts.count * TOKENS_PER_CASE };
}

/** The "unlike these" part of batch `i` of a request for more cases (none for the first cases). */
function moreOf(opts: Pick<GenerateCasesOptions, 'existing'>, i: number): { existing: readonly Record<string, string>[]; start: number } | undefined {
  if (!opts.existing?.length) return undefined;
  return { existing: opts.existing, start: opts.existing.length + i * CASES_PER_CALL };
}

function asText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * Asks the model for the cases, batch by batch (temperature 0.7; answers go through the
 * client's cache, so the same request again costs nothing). Every case gets every input key
 * (a value the model left out is empty and the note says so). A batch whose answer cannot be
 * read is skipped and reported in `problems`. Throws DATASET_INVALID when no case came back.
 */
export async function generateCases(client: LlmClient, opts: GenerateCasesOptions): Promise<{ cases: TestCase[]; usage: EvidenceUsage; problems: string[] }> {
  const usage = zeroUsage();
  const problems: string[] = [];
  const start = opts.existing?.length ?? 0;
  const bs = batches(opts.count, start);
  const answers = await Promise.all(
    bs.map(async (kinds, b) => {
      try {
        const res = await chatJson(
          client,
          { messages: batchMessages(opts.record, opts.nodeTexts, opts.inputs, kinds, b, moreOf(opts, b)), model: opts.model, temperature: 0.7, maxTokens: Math.max(1024, kinds.length * TOKENS_PER_CASE * 2), signal: opts.signal, tag: 'evidence:cases' },
          CasesAnswerSchema,
        );
        countResponse(usage, res.response);
        return { kinds, cases: res.value.cases.slice(0, kinds.length) };
      } catch (e) {
        if (isAbortError(e)) throw new CancelledError('Generating test cases was cancelled.');
        if (isOptimizerError(e) && (e.code === 'LLM_BAD_RESPONSE' || e.code === 'LLM_TRUNCATED')) {
          countFailure(usage, e);
          problems.push(`batch ${b + 1}: ${e.message}`);
          return { kinds, cases: [] };
        }
        throw e;
      }
    }),
  );
  const cases: TestCase[] = [];
  for (const a of answers) {
    a.cases.forEach((c, i) => {
      const vars: Record<string, string> = {};
      const missing: string[] = [];
      for (const spec of opts.inputs) {
        if (spec.key in c.vars) vars[spec.key] = asText(c.vars[spec.key]);
        else {
          vars[spec.key] = '';
          missing.push(spec.key);
        }
      }
      const kind = (['typical', 'edge', 'adversarial'].includes(c.kind) ? c.kind : (a.kinds[i] ?? 'typical')) as CaseKind;
      const note = [c.note.trim(), missing.length ? `(no value given for ${missing.join(', ')})` : ''].filter(Boolean).join(' ');
      cases.push({ id: `case-${String(start + cases.length + 1).padStart(2, '0')}`, kind, note, vars });
    });
  }
  if (cases.length === 0) {
    throw new DatasetError('DATASET_TOO_SMALL', `the model gave no usable test case for prompt ${opts.record.id}${problems.length ? ` (${problems.join('; ')})` : ''}.`, { promptId: opts.record.id });
  }
  return { cases, usage, problems };
}

/** One JSONL line per case: id, `source: generated`, `inputs`, and kind/note under metadata. */
export function casesToJsonl(cases: readonly TestCase[], promptId: string): string {
  return cases
    .map((c) => JSON.stringify({ id: c.id, source: 'generated', inputs: c.vars, metadata: { kind: c.kind, note: c.note, promptId } }))
    .join('\n')
    .concat('\n');
}

/** Writes the cases file (creating `.optimizer/datasets/`), atomically. */
export async function writeCases(file: string, cases: readonly TestCase[], promptId: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await atomicWriteFile(file, casesToJsonl(cases, promptId));
}

/** A file-name-safe dataset name for a prompt: `<workflow>--<prompt id>` (shortened, readable). */
export function casesNameFor(workflowFile: string, promptId: string): string {
  const clean = (s: string) => s.normalize('NFKC').replace(/[^\p{L}\p{N}_-]+/gu, '-').replace(/-+/g, '-').replace(/^-|-$/g, '');
  const wf = clean(path.basename(workflowFile).replace(/\.[^.]+$/, '')).slice(0, 40) || 'workflow';
  const id = clean(promptId).slice(0, 60) || 'prompt';
  return `${wf}--${id}`;
}

/** `<root>/.optimizer/datasets/<name>.jsonl` */
export function casesFileFor(root: string, workflowFile: string, promptId: string): string {
  return path.join(root, '.optimizer', 'datasets', `${casesNameFor(workflowFile, promptId)}.jsonl`);
}

/** Kind and note of each generated case in a dataset file's text, by id (lines that are not generated cases are skipped). */
export function readCaseMeta(text: string): Map<string, { kind?: string; note?: string }> {
  const out = new Map<string, { kind?: string; note?: string }>();
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as { id?: unknown; source?: unknown; metadata?: { kind?: unknown; note?: unknown } };
      if (v.source !== 'generated' || (typeof v.id !== 'string' && typeof v.id !== 'number')) continue;
      out.set(String(v.id), { kind: typeof v.metadata?.kind === 'string' ? v.metadata.kind : undefined, note: typeof v.metadata?.note === 'string' ? v.metadata.note : undefined });
    } catch {
      // not JSON: the dataset reader reports it
    }
  }
  return out;
}
