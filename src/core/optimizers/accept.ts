import type { EmbeddingIndex, IndexEntry } from './embeddingIndex';
import type { OptimizerReport } from './types';
import type { Embedder } from './vectors';

/**
 * Records the best candidate of a report as an accepted version in the embeddings index (call
 * it when the user accepts it), so later optimizations can start from it. Returns undefined
 * when the report has nothing accepted.
 */
export async function recordAccepted(report: OptimizerReport, index: EmbeddingIndex, opts: { kind?: string; embedder?: Embedder; signal?: AbortSignal } = {}): Promise<IndexEntry | undefined> {
  if (!report.accepted) return undefined;
  return index.add({ promptId: report.promptId, ...(opts.kind ? { kind: opts.kind } : {}), text: report.best.text, score: report.best.validationScore ?? 0, runId: report.runId }, opts.embedder, opts.signal);
}
