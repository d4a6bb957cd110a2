import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { readRunLog } from '../engine/runLog';
import { cosine } from '../evaluation/metrics';
import { StorageError } from '../errors';
import type { Embedder } from './vectors';
import { tfidfVectors } from './vectors';
import { fsCauseText } from '../util/fsCause';

/** One accepted prompt version in the index. */
export interface IndexEntry {
  promptId: string;
  /** Prompt kind (llm-message, classifier-instruction…) so seeds come from the same kind. */
  kind?: string;
  text: string;
  /** Validation score it reached (0..1). */
  score: number;
  runId: string;
  time: number;
  /** Endpoint embedding and its kind ('endpoint:<model>'); absent for local vectors (recomputed at query time). */
  vector?: number[];
  vectorKind?: string;
}

/**
 * Accepted versions and their embeddings, one JSON line each in
 * `.optimizer/embeddings/index.jsonl`, so a new optimization can start from similar prompts
 * that worked before.
 */
export class EmbeddingIndex {
  private constructor(
    readonly file: string,
    private entries: IndexEntry[],
  ) {}

  /** Loads `<optimizerDir>/embeddings/index.jsonl` (empty when absent; a corrupt line is skipped). */
  static async open(optimizerDir: string): Promise<EmbeddingIndex> {
    const file = path.join(optimizerDir, 'embeddings', 'index.jsonl');
    const rows = await readRunLog<IndexEntry>(file).catch((e: unknown) => {
      throw new StorageError('STORAGE_IO', `cannot read the embeddings index (${fsCauseText(e)}).`, { file }, e);
    });
    return new EmbeddingIndex(file, rows.filter((r) => r && typeof r.text === 'string'));
  }

  all(): readonly IndexEntry[] {
    return this.entries;
  }

  /** Appends an accepted version, embedding it when the embedder's vectors are stable. */
  async add(entry: Omit<IndexEntry, 'vector' | 'vectorKind' | 'time'> & { time?: number }, embedder?: Embedder, signal?: AbortSignal): Promise<IndexEntry> {
    const e: IndexEntry = { ...entry, time: entry.time ?? Date.now() };
    if (embedder?.stable) {
      const [v] = await embedder.embed([entry.text], signal);
      if (v && embedder.stable) {
        e.vector = v;
        e.vectorKind = embedder.kind;
      }
    }
    try {
      await fs.mkdir(path.dirname(this.file), { recursive: true });
      await fs.appendFile(this.file, `${JSON.stringify(e)}\n`, 'utf8');
    } catch (err) {
      throw new StorageError('STORAGE_IO', `cannot write the embeddings index (${err instanceof Error ? err.message : String(err)}).`, { file: this.file }, err);
    }
    this.entries.push(e);
    return e;
  }

  /**
   * The `k` accepted texts most similar to `text` (distinct texts, best first), optionally of one
   * prompt kind. Uses stored endpoint vectors when the embedder is the same endpoint model, else
   * local TF-IDF over the stored texts and the query.
   */
  async nearest(text: string, k: number, opts: { kind?: string; embedder?: Embedder; signal?: AbortSignal; minSimilarity?: number } = {}): Promise<Array<IndexEntry & { similarity: number }>> {
    const pool = this.entries.filter((e) => !opts.kind || !e.kind || e.kind === opts.kind);
    if (pool.length === 0 || k <= 0) return [];
    let sims: number[];
    const emb = opts.embedder;
    if (emb?.stable && pool.every((e) => e.vector && e.vectorKind === emb.kind)) {
      const [q] = await emb.embed([text], opts.signal);
      sims = pool.map((e) => (q && emb.stable ? cosine(q, e.vector!) : 0));
    } else {
      const v = tfidfVectors([text, ...pool.map((e) => e.text)]);
      sims = pool.map((_, i) => cosine(v[0]!, v[i + 1]!));
    }
    const seen = new Set<string>();
    return pool
      .map((e, i) => ({ ...e, similarity: sims[i]! }))
      .filter((e) => e.similarity >= (opts.minSimilarity ?? 0.05))
      .sort((a, b) => b.similarity - a.similarity || b.score - a.score)
      .filter((e) => (seen.has(e.text) ? false : (seen.add(e.text), true)))
      .slice(0, k);
  }
}
