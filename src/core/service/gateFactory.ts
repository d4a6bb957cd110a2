/** The engine's evidence gate over this module's pieces (kept apart so hosts can load it lazily). */
import type { DifyDocument } from '../dsl/parse';
import type { EngineConfig } from '../engine/config';
import type { EvidenceGate } from '../engine/gate';
import type { PromptRecord } from '../dsl/types';
import type { LlmClient } from '../llm/types';
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
  /** The endpoint's own model (where requests without a model go), when known. */
  defaultModel?: string;
  /**
   * Other models configured for this run (e.g. model.name), in order of preference: without
   * evidence.judge_model, the judge is the first of them that is not the prompt's task model.
   */
  models?: readonly string[];
}

export type EvidenceGateFactory = (p: EvidenceGateParams) => EvidenceGate;

/** Cases generated once per prompt (then reused), the checklist, the comparison; the record a version keeps. */
export const createEvidenceGate: EvidenceGateFactory = (p) => {
  const env = (prompt: PromptRecord, signal?: AbortSignal): EvidenceEnv => ({
    root: p.root,
    workflowFile: p.workflowFile,
    client: p.client,
    count: p.settings.cases,
    maxCases: p.settings.maxCases,
    minConsistency: p.settings.minConsistency,
    judgeModel: chooseJudgeModel({ judgeModel: p.settings.judgeModel, taskModel: p.settings.taskModel ?? promptContext(p.doc, prompt).spec?.model, defaultModel: p.defaultModel, models: p.models }),
    defaultModel: p.defaultModel,
    taskModel: p.settings.taskModel,
    signal,
    dryRun: p.dryRun,
  });
  return {
    gather: async (prompt, candidate, signal, o) => (await gatherEvidence(env(prompt, signal), promptContext(p.doc, prompt), candidate, { candidates: o?.candidates })).record,
    plan: (prompt) => planEvidence(env(prompt), promptContext(p.doc, prompt)),
  };
};

/**
 * The judge's model: `judgeModel` when set; else, when the model requests go to by default is
 * (or may be) the task model, the first configured model that is not; else undefined (the
 * endpoint's model — the report then says whether judge and task are the same).
 */
export function chooseJudgeModel(o: { judgeModel?: string; taskModel?: string; defaultModel?: string; models?: readonly string[] }): string | undefined {
  if (o.judgeModel) return o.judgeModel;
  const task = o.taskModel ?? o.defaultModel;
  const byDefault = o.defaultModel;
  if (byDefault !== undefined && task !== undefined && byDefault !== task) return undefined;
  return o.models?.find((m) => m && m !== task);
}
