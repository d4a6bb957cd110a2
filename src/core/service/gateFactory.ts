/** The engine's evidence gate over this module's pieces (kept apart so hosts can load it lazily). */
import type { DifyDocument } from '../dsl/parse';
import type { EngineConfig } from '../engine/config';
import type { EvidenceGate } from '../engine/gate';
import type { LlmClient } from '../llm/types';
import type { NodeRunner } from '../runtime/runner';
import { gatherEvidence, planEvidence, promptContext, type EvidenceEnv } from '../evidence/gather';

export interface EvidenceGateParams {
  root: string;
  /** Absolute path of the workflow file. */
  workflowFile: string;
  doc: DifyDocument;
  client: LlmClient;
  settings: EngineConfig['evidence'];
  /** Write nothing (cases, checklist, reports): the estimate's replay over the cache. */
  dryRun?: boolean;
  /**
   * Opens the runner both prompts run on, once per comparison, closed after it (the runner on Dify
   * deletes its app copies then, on cancel and error too). Absent, or in a dry run: the node's
   * request on a model through `client` (the estimate counts a Dify run as one call either way).
   */
  runtime?: () => Promise<NodeRunner & { close(): Promise<unknown> }>;
}

export type EvidenceGateFactory = (p: EvidenceGateParams) => EvidenceGate;

/** Cases generated once per prompt (then reused), the checklist, the comparison; the record a version keeps. */
export const createEvidenceGate: EvidenceGateFactory = (p) => {
  const env = (signal?: AbortSignal): EvidenceEnv => ({
    root: p.root,
    workflowFile: p.workflowFile,
    client: p.client,
    count: p.settings.cases,
    judgeModel: p.settings.judgeModel,
    taskModel: p.settings.taskModel,
    signal,
    dryRun: p.dryRun,
  });
  return {
    gather: async (prompt, candidate, signal) => {
      const runner = p.runtime && !p.dryRun ? await p.runtime() : undefined;
      try {
        return (await gatherEvidence({ ...env(signal), runner }, promptContext(p.doc, prompt), candidate)).record;
      } finally {
        await runner?.close();
      }
    },
    plan: (prompt) => planEvidence(env(), promptContext(p.doc, prompt)),
  };
};
