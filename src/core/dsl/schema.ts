/**
 * The shape a YAML file must have to be read as a Dify app export, checked with zod.
 * Only what extraction relies on is required; every other key is left alone.
 */
import * as z from 'zod';

const idLike = z.union([z.string(), z.number()]);

export const DifyNodeSchema = z.looseObject({
  id: idLike,
  data: z.looseObject({ type: z.string() }),
});

const WorkflowSchema = z.looseObject({
  graph: z.looseObject({
    // Each node is checked on its own while extracting: an odd node gives a warning, it
    // never makes the whole file unreadable.
    nodes: z.array(z.unknown()),
  }),
});

/** Top-level `agent_packages` of DSL 0.7.0: package ref → AgentPackage (checked field by field while extracting). */
const AgentPackagesSchema = z.record(z.string(), z.unknown()).nullish();

export const DifyRootSchema = z.looseObject({
  app: z.looseObject({
    mode: z.string(),
    name: z.union([z.string(), z.number()]).nullish(),
  }),
  kind: z.literal('app').optional(),
  version: z.union([z.string(), z.number()]).nullish(),
  workflow: WorkflowSchema.optional(),
  model_config: z.looseObject({}).nullish(),
  agent_packages: AgentPackagesSchema,
});

export type DifyRoot = z.infer<typeof DifyRootSchema>;

/**
 * A knowledge pipeline export (langgenius/dify api/services/rag_pipeline/rag_pipeline_dsl_service.py
 * `export_rag_pipeline_dsl`): `kind: rag_pipeline`, `rag_pipeline: {name, icon…, description}`,
 * `workflow.graph`; no `app` key.
 */
export const DifyPipelineRootSchema = z.looseObject({
  kind: z.literal('rag_pipeline'),
  rag_pipeline: z.looseObject({
    name: z.union([z.string(), z.number()]).nullish(),
  }),
  version: z.union([z.string(), z.number()]).nullish(),
  workflow: WorkflowSchema,
});

/** Plain words for the first few problems, each naming the YAML path, e.g. "`app.mode` is missing". */
export function describeShapeProblems(root: unknown, error: z.ZodError): string {
  const parts: string[] = [];
  for (const issue of error.issues.slice(0, 3)) {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    const value = valueAt(root, issue.path);
    if (value === undefined) parts.push(`\`${path}\` is missing`);
    else if (issue.code === 'invalid_value' && path === 'kind') parts.push(`\`kind\` is ${JSON.stringify(value)}, expected "app" (or "rag_pipeline" for a knowledge pipeline)`);
    else parts.push(`\`${path}\` ${lowerFirst(issue.message)} (found ${describeValue(value)})`);
  }
  if (error.issues.length > 3) parts.push(`and ${error.issues.length - 3} more problem(s)`);
  return parts.join('; ');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `the text ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
