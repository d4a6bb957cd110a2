/**
 * The requirement checklist: what the original prompt asks of every answer (its task, format,
 * language, length and safety rules), drawn once by the configured model and stored beside the
 * dataset (`<dataset>.checklist.json`) for the user to read and edit. Mechanical rules (valid
 * JSON, a JSON schema, a length limit, the answer's language) are checked in code; the others
 * by the judge.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import * as z from 'zod';
import { isAbortError, isOptimizerError, CancelledError, DatasetError } from '../errors';
import { chatJson, parseJsonLoose } from '../llm/json';
import type { LlmClient } from '../llm/types';
import { atomicWriteFile } from '../util/atomicWrite';
import { countFailure, countResponse, zeroUsage, type EvidenceUsage } from './usage';
import { readRegularText } from '../util/safeRead';
import { fsCauseText } from '../util/fsCause';

export type RequirementCheck =
  | { type: 'judge' }
  | { type: 'json' }
  | { type: 'schema'; schema: Record<string, unknown> }
  | { type: 'max_chars'; value: number }
  | { type: 'language'; value: 'zh' | 'ja' | 'ko' | 'en' };

export interface Requirement {
  id: string;
  text: string;
  kind: 'task' | 'format' | 'language' | 'length' | 'safety' | 'other';
  check: RequirementCheck;
  /** 'prompt': drawn from the prompt by the model; 'node': from the node's settings (structured output). */
  origin: 'prompt' | 'node';
}

export interface Checklist {
  version: 1;
  promptId: string;
  /** sha256 of the prompt text it was drawn from: a changed prompt draws a new one. */
  promptSha256: string;
  requirements: Requirement[];
}

export const CHECKLIST_MARK = 'List the requirements an answer to this instruction must meet';

const CHECKLIST_SYSTEM = `${CHECKLIST_MARK}: its task, output format, language, length and
safety rules, as stated or clearly implied by the instruction. 2 to 8 short, checkable items;
no item the instruction does not ask for. For a rule a program can check, add "check":
{"type": "json"} (the answer must be valid JSON), {"type": "max_chars", "value": n} or
{"type": "language", "value": "zh" | "ja" | "ko" | "en"}. Reply with JSON only:
{"requirements": [{"text": "…", "kind": "task" | "format" | "language" | "length" | "safety" | "other", "check": {…}}]}`;

const CheckSchema = z
  .object({ type: z.string(), value: z.unknown().optional() })
  .optional()
  .transform((c): RequirementCheck => {
    if (!c) return { type: 'judge' };
    if (c.type === 'json') return { type: 'json' };
    if (c.type === 'max_chars' && typeof c.value === 'number' && c.value > 0) return { type: 'max_chars', value: Math.floor(c.value) };
    if (c.type === 'language' && typeof c.value === 'string' && ['zh', 'ja', 'ko', 'en'].includes(c.value)) return { type: 'language', value: c.value as 'zh' };
    return { type: 'judge' };
  });

const ChecklistAnswerSchema = z.object({
  requirements: z
    .array(
      z.object({
        text: z.string().min(1),
        kind: z.string().default('other'),
        check: CheckSchema,
      }),
    )
    .min(1),
});

const KINDS = new Set(['task', 'format', 'language', 'length', 'safety', 'other']);

export const sha256 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** Canonical JSON (object keys sorted), so a reformatted file hashes alike. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/**
 * The content hash of a checklist: its requirements (id, text, kind, check), whatever the
 * file's layout. Every result that depends on the checklist is keyed by it, so an edited
 * checklist is checked again, never answered from results of the old one.
 */
export function checklistSha256(cl: Pick<Checklist, 'requirements'>): string {
  return sha256(canonical(cl.requirements.map((r) => ({ id: r.id, text: r.text, kind: r.kind, check: r.check }))));
}

/** `<dir>/<name>.checklist.json` beside `<dir>/<name>.jsonl`. */
export function checklistFileFor(datasetFile: string): string {
  return path.join(path.dirname(datasetFile), `${path.basename(datasetFile).replace(/\.[^.]+$/, '')}.checklist.json`);
}

/**
 * Requirements that come from the node's settings, not from the model: the structured output
 * schema, and the answer shape Dify needs from a classifier or extractor (wrappers/).
 */
export function nodeRequirements(structuredOutput: Record<string, unknown> | undefined, answer?: { text: string; schema: Record<string, unknown> }): Requirement[] {
  const out: Requirement[] = [];
  if (structuredOutput) out.push({ id: 'N1', text: 'The answer is JSON matching the node\'s structured output schema.', kind: 'format', check: { type: 'schema', schema: structuredOutput }, origin: 'node' });
  if (answer) out.push({ id: structuredOutput ? 'N2' : 'N1', text: answer.text, kind: 'format', check: { type: 'schema', schema: answer.schema }, origin: 'node' });
  return out;
}

/**
 * Reads the checklist beside the dataset when it was drawn from this prompt text (with the
 * node's requirements brought up to date, and the file with them); otherwise asks the model
 * once and writes it. Returns it with the usage of that call (0 when reused).
 */
export async function loadOrDrawChecklist(
  client: LlmClient,
  opts: { file: string; promptId: string; prompt: string; structuredOutput?: Record<string, unknown>; answer?: { text: string; schema: Record<string, unknown> }; model?: string; signal?: AbortSignal; write?: boolean },
): Promise<{ checklist: Checklist; usage: EvidenceUsage; reused: boolean }> {
  const hash = sha256(opts.prompt);
  const existing = await readChecklist(opts.file);
  if (existing && existing.promptSha256 === hash && existing.promptId === opts.promptId) {
    // The node's own requirements follow the node as it is now (its structured output, its
    // classes or parameters), also in a checklist drawn before they changed or existed; the
    // drawn ones (and the user's edits to them) are kept as they are.
    const node = nodeRequirements(opts.structuredOutput, opts.answer);
    const requirements = [...node, ...existing.requirements.filter((r) => r.origin !== 'node')];
    if (checklistSha256({ requirements }) === checklistSha256(existing)) return { checklist: existing, usage: zeroUsage(), reused: true };
    const checklist: Checklist = { ...existing, requirements };
    if (opts.write !== false) await atomicWriteFile(opts.file, `${JSON.stringify(checklist, null, 2)}\n`);
    return { checklist, usage: zeroUsage(), reused: true };
  }
  const usage = zeroUsage();
  let drawn: Requirement[] = [];
  try {
    const res = await chatJson(
      client,
      {
        messages: [
          { role: 'system', content: CHECKLIST_SYSTEM },
          { role: 'user', content: `<instruction>\n${opts.prompt}\n</instruction>` },
        ],
        model: opts.model,
        temperature: 0,
        signal: opts.signal,
        tag: 'evidence:checklist',
      },
      ChecklistAnswerSchema,
    );
    countResponse(usage, res.response);
    drawn = res.value.requirements.slice(0, 12).map((r, i) => ({
      id: `R${i + 1}`,
      text: r.text.trim(),
      kind: (KINDS.has(r.kind) ? r.kind : 'other') as Requirement['kind'],
      check: r.check,
      origin: 'prompt' as const,
    }));
  } catch (e) {
    if (isAbortError(e)) throw new CancelledError('The evaluation was cancelled.');
    // An unreadable list leaves the judge's overall comparison (and the node's own rules).
    if (!(isOptimizerError(e) && (e.code === 'LLM_BAD_RESPONSE' || e.code === 'LLM_TRUNCATED'))) throw e;
    countFailure(usage, e);
  }
  const checklist: Checklist = { version: 1, promptId: opts.promptId, promptSha256: hash, requirements: [...nodeRequirements(opts.structuredOutput, opts.answer), ...drawn] };
  if (opts.write !== false) {
    await fs.mkdir(path.dirname(opts.file), { recursive: true });
    await atomicWriteFile(opts.file, `${JSON.stringify(checklist, null, 2)}\n`);
  }
  return { checklist, usage, reused: false };
}

/** The checklist in `file`, or undefined when there is none. Throws DATASET_INVALID for a file that is not one. */
export async function readChecklist(file: string): Promise<Checklist | undefined> {
  let text: string;
  try {
    text = await readRegularText(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DatasetError('DATASET_NOT_FOUND', `cannot read the checklist (${fsCauseText(e)}).`, { file });
  }
  const v = parseJsonLoose(text) as Partial<Checklist> | undefined;
  if (!v || v.version !== 1 || !Array.isArray(v.requirements) || typeof v.promptSha256 !== 'string') {
    throw new DatasetError('DATASET_INVALID', 'not a requirement checklist (expected {"version": 1, "requirements": […]}); delete it to draw a new one.', { file });
  }
  return v as Checklist;
}

const ajv = new Ajv({ allErrors: false, strict: false });
const CJK = /[\u3400-\u9fff]/g;
const KANA = /[\u3040-\u30ff]/g;
const HANGUL = /[\uac00-\ud7af]/g;

/** The main script of a text: zh / ja / ko / en (Latin), or undefined for too little text. */
export function languageOf(text: string): 'zh' | 'ja' | 'ko' | 'en' | undefined {
  const letters = text.match(/\p{L}/gu)?.length ?? 0;
  if (letters < 3) return undefined;
  const kana = text.match(KANA)?.length ?? 0;
  const hangul = text.match(HANGUL)?.length ?? 0;
  const han = text.match(CJK)?.length ?? 0;
  if (kana / letters > 0.1) return 'ja';
  if (hangul / letters > 0.3) return 'ko';
  if (han / letters > 0.3) return 'zh';
  const latin = text.match(/[A-Za-z]/g)?.length ?? 0;
  return latin / letters > 0.6 ? 'en' : undefined;
}

/** A mechanical requirement's verdict on one answer; undefined when the judge decides. */
export function checkMechanically(req: Requirement, output: string): boolean | undefined {
  const c = req.check;
  switch (c.type) {
    case 'judge':
      return undefined;
    case 'json':
      return parseJsonLoose(output) !== undefined;
    case 'schema': {
      const v = parseJsonLoose(output);
      if (v === undefined) return false;
      try {
        return ajv.validate(c.schema, v) === true;
      } catch {
        return undefined;
      }
    }
    case 'max_chars':
      return [...output].length <= c.value;
    case 'language':
      return languageOf(output) === c.value;
  }
}
