import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { RunLog, readRunLog } from '../engine/runLog';
import type { ExampleResult } from '../evaluation/types';
import { StorageError } from '../errors';

/** A line of a dataset run's JSONL log. */
export type RunRecord =
  | { type: 'result'; key: string; candidateId: string; split: 'train' | 'validation'; result: ExampleResult; time: number }
  | { type: 'memo'; kind: string; key: string; value: unknown; time: number }
  | { type: 'event'; event: unknown }
  | { type: 'report'; report: unknown; time: number };

/** sha256 hex of the JSON of `parts`. */
export function hashOf(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/**
 * The run's JSONL (`.optimizer/runs/<runId>.jsonl`): every (candidate, example) result and
 * every proposal/embedding answer is appended as it arrives, so a run resumed with the same
 * run id takes them from here and repeats no call. Uses the engine's RunLog (single append per
 * record; a truncated last line is skipped when read).
 */
export class RunStore {
  private readonly results = new Map<string, ExampleResult>();
  private readonly memos = new Map<string, unknown>();
  /** Results and memos taken from an earlier attempt's log (not counting reuse within this run). */
  reused = 0;
  private readonly loaded = new Set<string>();
  /** Evaluations under way, so concurrent optimizers sharing the store run each (candidate, example) once. */
  readonly pending = new Map<string, Promise<ExampleResult>>();

  private constructor(
    readonly runId: string,
    readonly file: string,
    private readonly log: RunLog | undefined,
  ) {}

  /** Opens (creating) `<runsDir>/<runId>.jsonl` and loads what an earlier attempt recorded. */
  static async open(runsDir: string, runId: string): Promise<RunStore> {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(runId)) throw new StorageError('STORAGE_INVALID_ID', `invalid run id "${runId}" (letters, digits, '.', '_' and '-' only).`);
    const file = path.join(runsDir, `${runId}.jsonl`);
    let records: RunRecord[];
    let log: RunLog;
    try {
      records = await readRunLog<RunRecord>(file);
      log = await RunLog.open(file);
    } catch (e) {
      throw new StorageError('STORAGE_IO', `cannot open the run log (${e instanceof Error ? e.message : String(e)}).`, { file }, e);
    }
    const s = new RunStore(runId, file, log);
    for (const r of records) {
      if (r && r.type === 'result' && typeof r.key === 'string' && r.result) {
        s.results.set(r.key, r.result);
        s.loaded.add(r.key);
      } else if (r && r.type === 'memo' && typeof r.key === 'string') {
        s.memos.set(`${r.kind}:${r.key}`, r.value);
        s.loaded.add(`${r.kind}:${r.key}`);
      }
    }
    return s;
  }

  /** A store that keeps results in memory only (no resume across processes). */
  static memory(runId: string): RunStore {
    return new RunStore(runId, '', undefined);
  }

  /** How many results the log held when opened or since. */
  get size(): number {
    return this.results.size;
  }

  getResult(key: string): ExampleResult | undefined {
    const r = this.results.get(key);
    if (r && this.loaded.delete(key)) this.reused += 1;
    return r;
  }

  putResult(key: string, candidateId: string, split: 'train' | 'validation', result: ExampleResult): void {
    this.results.set(key, result);
    this.log?.append({ type: 'result', key, candidateId, split, result, time: Date.now() } satisfies RunRecord);
  }

  getMemo<T>(kind: string, key: string): T | undefined {
    const k = `${kind}:${key}`;
    if (!this.memos.has(k)) return undefined;
    if (this.loaded.delete(k)) this.reused += 1;
    return this.memos.get(k) as T;
  }

  putMemo(kind: string, key: string, value: unknown): void {
    this.memos.set(`${kind}:${key}`, value);
    this.log?.append({ type: 'memo', kind, key, value, time: Date.now() } satisfies RunRecord);
  }

  /** Appends any other record (events, the final report). */
  append(record: RunRecord): void {
    this.log?.append(record);
  }

  async flush(): Promise<void> {
    await this.log?.flush();
  }

  async close(): Promise<void> {
    await this.log?.close();
  }
}
