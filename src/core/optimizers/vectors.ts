import { isOptimizerError } from '../errors';
import type { LlmClient } from '../llm/types';
import { hashOf, type RunStore } from './runStore';

/** Turns texts into vectors. Vectors of one `embed` call are comparable with each other. */
export interface Embedder {
  /** 'endpoint:<model>' or 'tfidf'; vectors of different kinds are never compared. */
  readonly kind: string;
  /** true when vectors of separate calls are comparable (endpoint embeddings); false for TF-IDF fitted per call. */
  readonly stable: boolean;
  embed(texts: string[], signal?: AbortSignal): Promise<number[][]>;
}

const CJK = /[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/;

/** Lowercased word tokens; CJK text gives character bigrams (and single characters). */
export function tokenize(text: string): string[] {
  const out: string[] = [];
  for (const w of text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? []) {
    if (CJK.test(w)) {
      const chars = [...w];
      chars.forEach((c, i) => {
        out.push(c);
        if (i + 1 < chars.length) out.push(c + chars[i + 1]);
      });
    } else if (w.length > 1 || /\d/.test(w)) out.push(w);
  }
  return out;
}

/**
 * Local TF-IDF vectors (sublinear tf, smoothed idf, L2-normalised) fitted on the texts of the
 * call: used when no embeddings endpoint is available.
 */
export function tfidfVectors(texts: string[]): number[][] {
  const docs = texts.map(tokenize);
  const vocab = new Map<string, number>();
  const df: number[] = [];
  for (const d of docs) {
    for (const t of new Set(d)) {
      let i = vocab.get(t);
      if (i === undefined) {
        i = vocab.size;
        vocab.set(t, i);
        df.push(0);
      }
      df[i]! += 1;
    }
  }
  const n = docs.length;
  return docs.map((d) => {
    const v = new Array<number>(vocab.size).fill(0);
    const tf = new Map<number, number>();
    for (const t of d) {
      const i = vocab.get(t)!;
      tf.set(i, (tf.get(i) ?? 0) + 1);
    }
    for (const [i, c] of tf) v[i] = (1 + Math.log(c)) * (Math.log((1 + n) / (1 + df[i]!)) + 1);
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return norm ? v.map((x) => x / norm) : v;
  });
}

/** The local embedder (TF-IDF fitted per call). */
export function tfidfEmbedder(): Embedder {
  return { kind: 'tfidf', stable: false, embed: async (texts) => tfidfVectors(texts) };
}

/**
 * Embeddings from the endpoint (`LlmClient.embed`), memoised in the run store so a resumed run
 * does not ask again. When the endpoint has no embeddings (an LLM error other than budget,
 * auth or cancel), falls back to local TF-IDF for the rest of the run and says so via `onFallback`.
 */
export function endpointEmbedder(client: LlmClient, opts: { model?: string; store?: RunStore; onFallback?: (reason: string) => void } = {}): Embedder {
  let fellBack = false;
  const kind = `endpoint:${opts.model ?? 'default'}`;
  return {
    get kind() {
      return fellBack ? 'tfidf' : kind;
    },
    get stable() {
      return !fellBack;
    },
    async embed(texts, signal) {
      if (fellBack || texts.length === 0) return tfidfVectors(texts);
      const key = hashOf(kind, texts);
      const memo = opts.store?.getMemo<number[][]>('embedding', key);
      if (memo) return memo;
      try {
        const v = await client.embed({ input: texts, model: opts.model, signal });
        opts.store?.putMemo('embedding', key, v);
        return v;
      } catch (e) {
        if (!isOptimizerError(e) || e.family === 'cancelled' || e.code === 'LLM_BUDGET_EXCEEDED' || e.code === 'LLM_AUTH') throw e;
        fellBack = true;
        opts.onFallback?.(`embeddings endpoint failed (${e.message}); using local TF-IDF vectors`);
        return tfidfVectors(texts);
      }
    },
  };
}
