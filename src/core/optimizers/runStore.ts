import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RunLog, readRunLog } from '../engine/runLog';
import type { ExampleResult } from '../evaluation/types';
import type { Spend } from '../llm/types';
import { StorageError } from '../errors';

/** What one attempt of a run had spent when a record was written (cumulative for that attempt). */
export interface AttemptSpend extends Spend {
  attempt: string;
}

/**
 * The first line of a dataset run's log: what the run was started on, so a resumed attempt can
 * refuse inputs that changed (results recorded for other inputs would be reused as if they held).
 */
export interface RunHeader {
  type: 'header';
  version: 1;
  runId: string;
  promptId: string;
  /** Hash of the prompt text. */
  prompt: string;
  /** Hash of the messages of the prompt's node (the task sees them all). */
  messages: string;
  /**
   * Hashes of the parts of the node's request as Dify builds it (runtime/nodeRequest
   * requestParts); absent when the run had no node spec (renderPrompt's request).
   */
  request?: Record<string, string>;
  /** Hash of the examples (ids, values, expected answers, labels, forced splits). */
  dataset: string;
  /** How many examples the dataset had, and its file name (for messages). */
  examples: number;
  datasetFile: string;
  optimizer: string;
  /** Content hash of the judge's requirement checklist, when known at the start (else a `checklist` record follows). */
  checklist?: string;
  time: number;
}

/** A line of a dataset run's JSONL log. `fp`: the run settings' fingerprint (task model, messages, metrics). */
export type RunRecord =
  | RunHeader
  | { type: 'result'; key: string; candidateId: string; split: 'train' | 'validation'; result: ExampleResult; fp?: string; spent?: AttemptSpend; time: number }
  | { type: 'memo'; kind: string; key: string; value: unknown; spent?: AttemptSpend; time: number }
  | { type: 'spend'; spent: AttemptSpend; time: number }
  /** The checklist the run's judge checks with (its content hash), recorded when the run draws or loads it. */
  | { type: 'checklist'; sha256: string; time: number }
  | { type: 'event'; event: unknown }
  | { type: 'report'; report: unknown; time: number };

const ZERO: Spend = Object.freeze({ calls: 0, tokens: 0, costUsd: 0 });

/** sha256 hex of the JSON of `parts`. */
export function hashOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/**
 * The run's JSONL (`.optimizer/runs/<runId>.jsonl`): every (candidate, example) result and
 * every proposal/embedding answer is appended as it arrives, so a run resumed with the same
 * run id takes them from here and repeats no call. Uses the engine's RunLog (single append per
 * record; a truncated last line is skipped when read).
 *
 * Each attempt also records what it spent (calls, tokens, cost, cumulative, on its result and
 * memo lines and on flush), so a resumed run counts earlier attempts against its budget
 * (`earlier`).
 */
export class RunStore {
  private readonly results = new Map<string, ExampleResult>();
  private readonly memos = new Map<string, unknown>();
  /** Results and memos taken from an earlier attempt's log (not counting reuse within this run). */
  reused = 0;
  private readonly loaded = new Set<string>();
  /** Fingerprint of each result loaded from the log (when recorded). */
  private readonly loadedFp = new Map<string, string | undefined>();
  /** Evaluations under way, so concurrent optimizers sharing the store run each (candidate, example) once. */
  readonly pending = new Map<string, Promise<ExampleResult>>();
  /** This attempt's id (a new one each time the log is opened). */
  readonly attempt = randomBytes(4).toString('hex');
  /** What earlier attempts of this run spent, summed from their last recorded spend. */
  earlier: Spend = ZERO;
  /** The run's header, when the log holds one (see RunHeader). */
  header?: RunHeader;
  /** Content hash of the checklist the run's results were judged with (header, else the first `checklist` record). */
  checklist?: string;
  /** Whether the log held any result or memo when opened (an earlier attempt recorded work). */
  hadRecords = false;
  private spendSource?: () => Spend;
  private lastSpend?: string;

  private constructor(
    readonly runId: string,
    readonly file: string,
    private readonly log: RunLog | undefined,
  ) {}

  /** Opens (creating) `<runsDir>/<runId>.jsonl` and loads what an earlier attempt recorded. */
  static async open(runsDir: string, runId: string): Promise<RunStore> {
    const file = runFileOf(runsDir, runId);
    let records: RunRecord[];
    let log: RunLog;
    try {
      records = await readRunLog<RunRecord>(file);
      log = await RunLog.open(file);
    } catch (e) {
      throw new StorageError('STORAGE_IO', `cannot open the run log (${e instanceof Error ? e.message : String(e)}).`, { file }, e);
    }
    const s = new RunStore(runId, file, log);
    const spends = new Map<string, Spend>();
    for (const r of records) {
      if (r && r.type === 'header' && !s.header && isHeader(r)) s.header = r;
      if (r && r.type === 'checklist' && typeof r.sha256 === 'string') s.checklist ??= r.sha256;
      if (r && r.type === 'result' && typeof r.key === 'string' && r.result) {
        s.results.set(r.key, r.result);
        s.loaded.add(r.key);
        s.loadedFp.set(r.key, typeof r.fp === 'string' ? r.fp : undefined);
      } else if (r && r.type === 'memo' && typeof r.key === 'string') {
        s.memos.set(`${r.kind}:${r.key}`, r.value);
        s.loaded.add(`${r.kind}:${r.key}`);
      }
      const spent = r && (r.type === 'result' || r.type === 'memo' || r.type === 'spend') ? r.spent : undefined;
      if (isSpend(spent)) spends.set(spent.attempt, spent);
    }
    if (typeof s.header?.checklist === 'string') s.checklist = s.header.checklist;
    s.hadRecords = s.loaded.size > 0;
    s.earlier = [...spends.values()].reduce((a, b) => ({ calls: a.calls + b.calls, tokens: a.tokens + b.tokens, costUsd: a.costUsd + b.costUsd }), ZERO);
    return s;
  }

  /** Whether run `runId` has a log in `runsDir`. */
  static async exists(runsDir: string, runId: string): Promise<boolean> {
    try {
      await fs.access(runFileOf(runsDir, runId));
      return true;
    } catch (e) {
      if (e instanceof StorageError) throw e;
      return false;
    }
  }

  /** A store that keeps results in memory only (no resume across processes). */
  static memory(runId: string): RunStore {
    return new RunStore(runId, '', undefined);
  }

  /** How many results the log held when opened or since. */
  get size(): number {
    return this.results.size;
  }

  /**
   * What the log held when opened and a run with fingerprint `fp` can reuse: results recorded
   * under that fingerprint (or none recorded), and memos by kind.
   */
  reusable(fp?: string): { results: number; memos: Record<string, number> } {
    let results = 0;
    const memos: Record<string, number> = {};
    for (const k of this.loaded) {
      if (this.loadedFp.has(k)) {
        const f = this.loadedFp.get(k);
        if (fp === undefined || f === undefined || f === fp) results += 1;
      } else {
        const kind = k.slice(0, k.indexOf(':'));
        memos[kind] = (memos[kind] ?? 0) + 1;
      }
    }
    return { results, memos };
  }

  getResult(key: string): ExampleResult | undefined {
    const r = this.results.get(key);
    if (r && this.loaded.delete(key)) this.reused += 1;
    return r;
  }

  /** Whether a result is recorded for `key` (without counting it as reused). */
  hasResult(key: string): boolean {
    return this.results.has(key);
  }

  putResult(key: string, candidateId: string, split: 'train' | 'validation', result: ExampleResult, fp?: string): void {
    this.results.set(key, result);
    this.log?.append({ type: 'result', key, candidateId, split, result, ...(fp ? { fp } : {}), ...this.spentField(), time: Date.now() } satisfies RunRecord);
  }

  getMemo<T>(kind: string, key: string): T | undefined {
    const k = `${kind}:${key}`;
    if (!this.memos.has(k)) return undefined;
    if (this.loaded.delete(k)) this.reused += 1;
    return this.memos.get(k) as T;
  }

  /** Whether a memo is recorded (without counting it as reused). */
  hasMemo(kind: string, key: string): boolean {
    return this.memos.has(`${kind}:${key}`);
  }

  putMemo(kind: string, key: string, value: unknown): void {
    this.memos.set(`${kind}:${key}`, value);
    this.log?.append({ type: 'memo', kind, key, value, ...this.spentField(), time: Date.now() } satisfies RunRecord);
  }

  /**
   * Where this attempt's spending is read from (e.g. the LLM client's, since the attempt
   * started). The first source set stays (optimizers sharing the store share the client).
   * Returns false when one was already set.
   */
  trackSpend(source: () => Spend): boolean {
    if (this.spendSource) return false;
    this.spendSource = source;
    return true;
  }

  /** This attempt's spending so far (zero when not tracked). */
  spentNow(): Spend {
    return this.spendSource?.() ?? ZERO;
  }

  private spentField(): { spent?: AttemptSpend } {
    if (!this.spendSource || !this.log) return {};
    const spent: AttemptSpend = { attempt: this.attempt, ...this.spendSource() };
    this.lastSpend = JSON.stringify(spent);
    return { spent };
  }

  /** Appends this attempt's spending when it changed since last written. */
  private recordSpend(): void {
    if (!this.spendSource || !this.log) return;
    const spent: AttemptSpend = { attempt: this.attempt, ...this.spendSource() };
    const text = JSON.stringify(spent);
    if (text === this.lastSpend || (spent.calls === 0 && spent.tokens === 0 && spent.costUsd === 0)) return;
    this.lastSpend = text;
    this.log.append({ type: 'spend', spent, time: Date.now() } satisfies RunRecord);
  }

  /** Records the run's header (once: a header already in the log stays). */
  writeHeader(h: Omit<RunHeader, 'type' | 'version' | 'runId' | 'time'>): void {
    if (this.header) return;
    this.header = { type: 'header', version: 1, runId: this.runId, ...h, time: Date.now() };
    this.log?.append(this.header);
  }

  /** Records the checklist the run judges with (once; a header that named it already holds it). */
  recordChecklist(sha256: string): void {
    if (this.checklist === sha256) return;
    this.checklist = sha256;
    this.log?.append({ type: 'checklist', sha256, time: Date.now() } satisfies RunRecord);
  }

  /** Appends any other record (events, the final report). */
  append(record: RunRecord): void {
    this.log?.append(record);
  }

  /** Records this attempt's spending and waits for pending writes. */
  async flush(): Promise<void> {
    this.recordSpend();
    await this.log?.flush();
  }

  async close(): Promise<void> {
    this.recordSpend();
    await this.log?.close();
  }
}

/** `<runsDir>/<runId>.jsonl`, after checking the id. */
function runFileOf(runsDir: string, runId: string): string {
  if (!/^[A-Za-z0-9._-]{1,128}$/.test(runId)) throw new StorageError('STORAGE_INVALID_ID', `invalid run id "${runId}" (letters, digits, '.', '_' and '-' only).`);
  return path.join(runsDir, `${runId}.jsonl`);
}

function isHeader(v: RunHeader): boolean {
  return v.version === 1 && typeof v.prompt === 'string' && typeof v.messages === 'string' && typeof v.dataset === 'string';
}

function isSpend(v: unknown): v is AttemptSpend {
  const o = v as AttemptSpend | undefined;
  return !!o && typeof o.attempt === 'string' && Number.isFinite(o.calls) && Number.isFinite(o.tokens) && Number.isFinite(o.costUsd);
}
