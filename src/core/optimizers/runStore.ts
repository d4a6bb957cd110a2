import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { RunLog, readRunLog } from '../engine/runLog';
import type { ExampleResult } from '../evaluation/types';
import type { Spend } from '../llm/types';
import { StorageError, isOptimizerError } from '../errors';
import { acquireLockFile, LockTimeoutError, type HeldLockFile } from '../util/lockFile';
import { fsCauseText } from '../util/fsCause';

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
  /** One LLM call about to be sent by `attempt`: written (and flushed) before the request, so a call in flight at a crash still counts. */
  | { type: 'sent'; attempt: string; time: number }
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
 * (`earlier`). A call is counted when it is sent: a `sent` record is written before each
 * request, and on resume an attempt counts the larger of its last recorded spend and its sent
 * records, so a call in flight at `kill -9` is counted too.
 *
 * One process at a time: the run id is locked (`<runId>.lock` beside the log, util/lockFile)
 * while the store is open; a second run with the same id is refused with a message naming the
 * other process, so two runs can never both spend the budget. A lock left by a dead process is
 * taken over.
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
  /** Lines of the log that could not be read when opened (truncated or corrupt): their records are lost. */
  skippedLines = 0;
  private spendSource?: () => Spend;
  private lastSpend?: string;
  private lock?: HeldLockFile;
  private closed = false;
  private readonly closers: Array<() => void> = [];

  private constructor(
    readonly runId: string,
    readonly file: string,
    private readonly log: RunLog | undefined,
  ) {}

  /** Opens (creating) `<runsDir>/<runId>.jsonl` and loads what an earlier attempt recorded. */
  static async open(runsDir: string, runId: string): Promise<RunStore> {
    const file = runFileOf(runsDir, runId);
    const lock = await lockRun(runsDir, runId);
    let records: RunRecord[];
    let log: RunLog;
    let skipped = 0;
    try {
      records = await readRunLog<RunRecord>(file, () => (skipped += 1));
      log = await RunLog.open(file);
    } catch (e) {
      lock.release();
      if (isOptimizerError(e)) throw e;
      throw new StorageError('STORAGE_IO', `cannot open the run log (${fsCauseText(e)}).`, { file }, e);
    }
    const s = new RunStore(runId, file, log);
    s.lock = lock;
    const spends = new Map<string, Spend>();
    const sent = new Map<string, number>();
    for (const r of records) {
      if (!r || typeof r !== 'object' || !RECORD_TYPES.has((r as { type?: unknown }).type)) {
        skipped += 1;
        continue;
      }
      if (r.type === 'sent' && typeof r.attempt === 'string') sent.set(r.attempt, (sent.get(r.attempt) ?? 0) + 1);
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
    s.skippedLines = skipped;
    // A call sent but not answered before a crash is in no spend record: count it from its `sent` record.
    for (const [attempt, n] of sent) {
      const sp = spends.get(attempt) ?? { calls: 0, tokens: 0, costUsd: 0 };
      if (n > sp.calls) spends.set(attempt, { ...sp, calls: n });
    }
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

  /**
   * Records that this attempt is about to send one LLM call, and waits until the record is
   * written: the call is counted even if the process dies before its answer.
   */
  async recordSent(): Promise<void> {
    if (!this.log || this.closed) return;
    this.log.append({ type: 'sent', attempt: this.attempt, time: Date.now() } satisfies RunRecord);
    await this.log.flush();
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

  /** Runs `fn` when the store closes (e.g. to stop listening to a client that outlives the run). */
  onClose(fn: () => void): void {
    this.closers.push(fn);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const fn of this.closers.splice(0)) fn();
    try {
      this.recordSpend();
      await this.log?.close();
    } finally {
      this.lock?.release();
      this.lock = undefined;
    }
  }
}

const RECORD_TYPES: ReadonlySet<unknown> = new Set(['header', 'result', 'memo', 'spend', 'sent', 'checklist', 'event', 'report']);

/** Takes the run id's lock, or refuses at once naming the process that holds it. */
async function lockRun(runsDir: string, runId: string): Promise<HeldLockFile> {
  const lockFile = path.join(runsDir, `${runId}.lock`);
  try {
    return await acquireLockFile(lockFile, { timeoutMs: 0, staleMs: 24 * 3600 * 1000, extra: { runId }, tmpPrefix: `.${runId}.lock-` });
  } catch (e) {
    if (e instanceof LockTimeoutError) {
      const h = e.holder;
      const who = h ? `process ${h.pid} on ${h.host} (since ${new Date(h.time).toISOString()})` : 'another process';
      throw new StorageError(
        'STORAGE_LOCK_TIMEOUT',
        `run ${runId} is already running in ${who}; wait for it to finish, or start a run with another --run-id. (Lock: ${lockFile}.)`,
        { file: lockFile },
      );
    }
    throw new StorageError('STORAGE_IO', `could not lock run ${runId}: ${fsCauseText(e)}.`, { file: lockFile }, e);
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
