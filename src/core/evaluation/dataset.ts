import * as path from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { LineCounter, parseDocument, isMap, isSeq, type Node as YamlNode } from 'yaml';
import * as z from 'zod';
import { DatasetError } from '../errors';
import { findVariables } from '../dsl/variables';
import type { Dataset, DatasetSplit, Example, SplitName } from './types';
import { readRegularText } from '../util/safeRead';
import { fsCauseText } from '../util/fsCause';

/** Field names with a meaning of their own; every other field is a variable value. */
const RESERVED = new Set(['id', 'expected', 'labels', 'split', 'inputs', 'vars', 'metadata', 'source']);

const scalar = z.union([z.string(), z.number(), z.boolean()]);
const value = z.union([scalar, z.null(), z.array(z.unknown()), z.record(z.string(), z.unknown())]);

/** The shape of one raw example (a JSONL line, a YAML list item or a CSV row). */
const rawExampleSchema = z
  .object({
    id: z.union([z.string().min(1), z.number()]).optional(),
    expected: value.optional(),
    labels: z.union([z.array(scalar).min(1), z.string().min(1)]).optional(),
    split: z.string().optional(),
    inputs: z.record(z.string(), value).optional(),
    vars: z.record(z.string(), value).optional(),
    metadata: z.unknown().optional(),
    /** "generated": test cases written by `promptopt cases` (inputs only, no expected answer). */
    source: z.string().optional(),
  })
  .catchall(value);

type RawExample = z.infer<typeof rawExampleSchema>;

function asText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function normalizeSplit(s: string, file: string, line: number): SplitName | undefined {
  const t = s.trim().toLowerCase();
  if (!t) return undefined;
  if (t === 'train' || t === 'training') return 'train';
  if (t === 'validation' || t === 'val' || t === 'valid' || t === 'dev' || t === 'test') return 'validation';
  throw new DatasetError('DATASET_INVALID', `split must be "train" or "validation", not "${s}".`, { file, line });
}

function zodMessage(err: z.ZodError): string {
  return err.issues
    .map((i) => `${i.path.length ? `field "${i.path.join('.')}"` : 'example'}: ${i.message}`)
    .join('; ');
}

/** Validates and normalizes one raw example. `labelSep` splits a string `labels` field (CSV). */
function toExample(raw: unknown, file: string, line: number, labelSep: RegExp): Example {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DatasetError('DATASET_INVALID', 'each example must be an object of field names to values.', { file, line });
  }
  const parsed = rawExampleSchema.safeParse(raw);
  if (!parsed.success) throw new DatasetError('DATASET_INVALID', zodMessage(parsed.error), { file, line });
  const r: RawExample = parsed.data;
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(r)) if (!RESERVED.has(k)) vars[k] = asText(v);
  for (const [k, v] of Object.entries(r.inputs ?? {})) vars[k] = asText(v);
  for (const [k, v] of Object.entries(r.vars ?? {})) vars[k] = asText(v);
  // Accept keys written with the braces, e.g. "{{#sys.query#}}".
  for (const k of Object.keys(vars)) {
    const m = /^\{\{[#@]\s*(.+?)\s*[#@]\}\}$/.exec(k) ?? /^\{\{\s*(.+?)\s*\}\}$/.exec(k);
    if (m) {
      vars[m[1]!] = vars[k]!;
      delete vars[k];
    }
  }
  if (Object.keys(vars).length === 0) {
    throw new DatasetError('DATASET_INVALID', 'the example has no variable values (e.g. "sys.query": "…").', { file, line });
  }
  const expected = r.expected === undefined || r.expected === null ? undefined : asText(r.expected);
  let labels: string[] | undefined;
  if (typeof r.labels === 'string') labels = r.labels.split(labelSep).map((s) => s.trim()).filter(Boolean);
  else if (Array.isArray(r.labels)) labels = r.labels.map((l) => String(l));
  if (labels && labels.length === 0) labels = undefined;
  if ((expected === undefined || expected === '') && !labels && r.source !== 'generated') {
    throw new DatasetError('DATASET_INVALID', 'the example has neither "expected" nor "labels".', { file, line });
  }
  const split = r.split === undefined ? undefined : normalizeSplit(r.split, file, line);
  const id = r.id !== undefined ? String(r.id) : `${path.basename(file)}:${line}`;
  return {
    id,
    vars,
    ...(expected !== undefined && expected !== '' ? { expected } : {}),
    ...(labels ? { labels } : {}),
    ...(split ? { split } : {}),
    source: { file, line },
  };
}

function parseJsonl(text: string, file: string): Example[] {
  const out: Example[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    const t = l.trim();
    if (!t || t.startsWith('//')) return;
    let raw: unknown;
    try {
      raw = JSON.parse(t);
    } catch (e) {
      throw new DatasetError('DATASET_FORMAT', `not valid JSON (${e instanceof Error ? e.message : String(e)}).`, { file, line: i + 1 }, e);
    }
    out.push(toExample(raw, file, i + 1, /\|/));
  });
  return out;
}

function parseYaml(text: string, file: string): Example[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const pos = lc.linePos(e.pos[0]);
    throw new DatasetError('DATASET_FORMAT', `not valid YAML (${e.message.split('\n')[0]}).`, { file, line: pos.line, column: pos.col }, e);
  }
  let seq: YamlNode | null | undefined = doc.contents as YamlNode | null;
  if (isMap(seq)) seq = seq.get('examples', true) as YamlNode | undefined;
  if (!isSeq(seq)) {
    throw new DatasetError('DATASET_FORMAT', 'a YAML dataset must be a list of examples, or a mapping with an "examples" list.', { file, line: 1 });
  }
  return seq.items.map((item) => {
    const node = item as YamlNode;
    const line = node.range ? lc.linePos(node.range[0]).line : 1;
    return toExample(node.toJSON(), file, line, /\|/);
  });
}

function parseCsvText(text: string, file: string): Example[] {
  let rows: Array<{ record: Record<string, string>; info: { lines: number }; raw: string }>;
  try {
    rows = parseCsv(text, { columns: true, info: true, raw: true, skip_empty_lines: true, bom: true, trim: false }) as typeof rows;
  } catch (e) {
    const line = (e as { lines?: number }).lines;
    const msg = e instanceof Error ? e.message.replace(/\s+/g, ' ') : String(e);
    throw new DatasetError('DATASET_FORMAT', `not valid CSV (${msg}).`, { file, ...(line ? { line } : {}) }, e);
  }
  return rows.map(({ record, info, raw }) => {
    const rawLines = raw.replace(/\r?\n$/, '').split(/\r?\n/).length;
    const line = info.lines - rawLines + 1;
    const obj: Record<string, string> = {};
    for (const [k, v] of Object.entries(record)) if (v !== '' || k === 'expected') obj[k.trim()] = v;
    return toExample(obj, file, line, /\|/);
  });
}

/** Reads examples from text. `format` defaults to the file's extension (.jsonl/.ndjson, .yml/.yaml, .csv). */
export function parseDataset(text: string, opts: { file: string; format?: Dataset['format'] }): Dataset {
  const file = opts.file;
  const format = opts.format ?? formatOf(file);
  const examples = format === 'jsonl' ? parseJsonl(text, file) : format === 'yaml' ? parseYaml(text, file) : parseCsvText(text, file);
  if (examples.length === 0) throw new DatasetError('DATASET_TOO_SMALL', 'the dataset has no examples.', { file });
  const seen = new Map<string, number>();
  for (const ex of examples) {
    const prev = seen.get(ex.id);
    if (prev !== undefined) {
      throw new DatasetError('DATASET_INVALID', `duplicate example id "${ex.id}" (first at line ${prev}).`, { file, line: ex.source.line });
    }
    seen.set(ex.id, ex.source.line);
  }
  return { file, format, examples };
}

function formatOf(file: string): Dataset['format'] {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  if (ext === '.yml' || ext === '.yaml') return 'yaml';
  if (ext === '.csv') return 'csv';
  throw new DatasetError('DATASET_FORMAT', `unknown dataset format "${ext || '(none)'}": use .jsonl, .yaml/.yml or .csv.`, { file });
}

/**
 * Loads a dataset file (JSONL, YAML or CSV). Relative paths are resolved against `cwd`; a bare
 * name is also looked up under `<cwd>/.optimizer/datasets/`.
 *
 * Throws DatasetError: DATASET_NOT_FOUND, DATASET_FORMAT (syntax, with line), DATASET_INVALID
 * (a bad example, with file and line), DATASET_TOO_SMALL (no examples).
 */
export async function loadDataset(file: string, opts: { cwd?: string } = {}): Promise<Dataset> {
  const cwd = opts.cwd ?? process.cwd();
  const tries = path.isAbsolute(file) ? [file] : [path.resolve(cwd, file), path.resolve(cwd, '.optimizer', 'datasets', file)];
  for (const p of tries) {
    let text: string;
    try {
      text = await readRegularText(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'EISDIR') continue;
      throw new DatasetError('DATASET_NOT_FOUND', `cannot read the dataset (${fsCauseText(e)}).`, { file: p }, e);
    }
    return parseDataset(text, { file: p });
  }
  throw new DatasetError('DATASET_NOT_FOUND', `dataset not found (looked at ${tries.join(', ')}).`, { file });
}

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SplitOptions {
  /** Default 42. */
  seed?: number;
  /** Share of validation examples among those without an explicit split; default 0.3. */
  validationRatio?: number;
}

/**
 * Seeded train/validation split. Examples with an explicit `split` keep it; the others are
 * shuffled (deterministically for a seed) and cut so validation gets `validationRatio` of them,
 * at least one overall. Throws DATASET_TOO_SMALL when either side would be empty.
 */
export function splitDataset(ds: Dataset | Example[], opts: SplitOptions = {}): DatasetSplit {
  const examples = Array.isArray(ds) ? ds : ds.examples;
  const file = Array.isArray(ds) ? undefined : ds.file;
  const seed = opts.seed ?? 42;
  const ratio = opts.validationRatio ?? 0.3;
  if (!(ratio > 0 && ratio < 1)) throw new RangeError('validationRatio must be between 0 and 1');
  const train = examples.filter((e) => e.split === 'train');
  const validation = examples.filter((e) => e.split === 'validation');
  const free = examples.filter((e) => !e.split);
  const rnd = seededRandom(seed);
  for (let i = free.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [free[i], free[j]] = [free[j]!, free[i]!];
  }
  let nVal = Math.round(free.length * ratio);
  if (validation.length + nVal === 0 && free.length > 0) nVal = 1;
  if (train.length + free.length - nVal === 0 && nVal > 0 && validation.length + nVal > 1) nVal -= 1;
  validation.push(...free.slice(0, nVal));
  train.push(...free.slice(nVal));
  if (train.length === 0 || validation.length === 0) {
    throw new DatasetError(
      'DATASET_TOO_SMALL',
      `a train/validation split needs at least one example on each side (have ${train.length} train, ${validation.length} validation of ${examples.length}).`,
      file ? { file } : {},
    );
  }
  return { train, validation, seed };
}

/**
 * Checks that the dataset gives the variables the prompt texts use (node outputs, sys.*,
 * context, mentions, app inputs; env, conversation and histories are not expected). A
 * variable given by no example at all is almost surely a misspelled key: DATASET_INVALID
 * naming the file, the first example's line and the keys the examples do have. Returns the
 * variables some (but not all) examples leave out, which render empty as in Dify.
 */
export function checkDatasetCoversPrompt(ds: Dataset, texts: string[]): { partlyMissing: string[] } {
  const needed = new Map<string, string>();
  for (const t of texts) {
    for (const v of findVariables(t)) {
      if (v.kind === 'node' || v.kind === 'sys' || v.kind === 'context' || v.kind === 'mention' || v.kind === 'input') {
        needed.set(v.kind === 'input' ? v.selector[0]! : v.selector.join('.'), v.raw);
      }
    }
  }
  const partlyMissing: string[] = [];
  for (const [key, raw] of needed) {
    const having = ds.examples.filter((e) => key in e.vars).length;
    if (having === 0) {
      const first = ds.examples[0]!;
      const keys = Object.keys(first.vars).slice(0, 6).join(', ');
      throw new DatasetError('DATASET_INVALID', `no example gives a value for ${raw}, which the prompt uses (add a "${key}" field; the first example has: ${keys}).`, { file: ds.file, line: first.source.line });
    }
    if (having < ds.examples.length) partlyMissing.push(raw);
  }
  return { partlyMissing };
}
