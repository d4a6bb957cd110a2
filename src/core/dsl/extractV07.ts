/**
 * The prompt fields of DSL 0.7.0 (Dify 1.16+), read through the walk of walk.ts (the Extractor of extract.ts). Each field
 * follows Dify's own models; where the text reaches the model is noted with its kind.
 *
 * - Agent v2 node (`type: agent`, `version: '2'`, `agent_node_kind: dify_agent`;
 *   api/core/workflow/nodes/agent_v2/discriminator.py), `data.agent_job` is a
 *   `WorkflowNodeJobConfig` (api/models/agent_config_entities.py; the DSL key is
 *   `AGENT_NODE_JOB_DSL_KEY` of api/services/agent/dsl_entities.py):
 *   - `workflow_prompt`                                   [agent-job-prompt]    `<node>/job_prompt`
 *   - `declared_outputs[i].description`, its `array_item.description`, and the `children[j]`
 *     descriptions of object outputs (`DeclaredOutputChildConfig`, nested; array items too)
 *                                                         [agent-output-description, label]
 *     `<node>/output:<name>`, `…/item`, `…/<child>` (`<node>/declared_outputs/<i>` without a name)
 *   - `declared_outputs[i].check.prompt` when `check.enabled` [agent-output-check] `<node>/output:<name>/check`
 * - Top-level `agent_packages.<ref>` (an `AgentPackage`: schema_version, metadata, soul,
 *   omitted_assets), `soul.prompt.system_prompt`            [agent-soul-prompt]
 *   node id `agent_packages.<ref>`, prompt id `agent_packages.<ref>/soul_prompt`.
 * - knowledge-index node (knowledge pipelines): `summary_index_setting.summary_prompt` when
 *   `summary_index_setting.enable` (api/services/summary_index_service.py sends
 *   `f"{summary_prompt}\n{text}"` as one user message)  [summary-prompt]      `<node>/summary_prompt`
 * - llm node with a completion model (`model.mode: completion`): `memory.role_prefix.user` /
 *   `.assistant`, the names written before each turn of the history text
 *                                                         [memory-role-prefix, label, role user/assistant]
 *   `<node>/role_prefix/user`, `<node>/role_prefix/assistant`
 */
import type { Cur, FieldReader, NodeSpec } from './walk';
import type { ModelInfo } from './types';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `AgentSoulModelConfig` (plugin_id, model_provider, model) as the record's model. */
function soulModelOf(soul: unknown): ModelInfo | undefined {
  if (!isObj(soul) || !isObj(soul.model)) return undefined;
  const m = soul.model;
  const out: ModelInfo = {};
  if (m.model_provider != null) out.provider = String(m.model_provider);
  if (m.model != null) out.name = String(m.model);
  return Object.keys(out).length ? out : undefined;
}

/** The package an Agent v2 node is bound to (`agent_binding.package_ref`), when the export has it. */
function boundPackage(ex: FieldReader, data: Obj): Obj | undefined {
  const ref = isObj(data.agent_binding) ? data.agent_binding.package_ref : undefined;
  const root = ex.rootVal;
  if (typeof ref !== 'string' || !isObj(root) || !isObj(root.agent_packages)) return undefined;
  const pkg = root.agent_packages[ref];
  return isObj(pkg) ? pkg : undefined;
}

export function agentV2Node(ex: FieldReader, dataC: Cur, spec: NodeSpec): void {
  const data = dataC.val as Obj;
  const model = spec.model ?? soulModelOf(boundPackage(ex, data)?.soul);
  const nspec: NodeSpec = { ...spec, ...(model ? { model } : {}) };
  const job = ex.child(dataC, 'agent_job');
  if (!job || job.val == null) return;
  if (!isObj(job.val)) {
    ex.warn('DSL_FIELD_SHAPE', job, `\`agent_job\` of node ${spec.nodeId} is not a mapping; Dify writes a WorkflowNodeJobConfig. It is skipped.`, spec.nodeId);
    return;
  }
  const id = spec.nodeId;
  ex.text(ex.child(job, 'workflow_prompt'), { ...nspec, id: `${id}/job_prompt`, kind: 'agent-job-prompt', role: null });
  for (const [i, out] of ex.list(ex.child(job, 'declared_outputs'), nspec).entries()) {
    if (!isObj(out.val)) continue;
    const name = typeof out.val.name === 'string' && out.val.name !== '' ? out.val.name : undefined;
    const base = name ? `${id}/output:${name}` : `${id}/declared_outputs/${i}`;
    outputDescriptions(ex, out, nspec, base);
    const check = ex.child(out, 'check');
    if (check && isObj(check.val) && check.val.enabled === true) {
      ex.text(ex.child(check, 'prompt'), { ...nspec, id: `${base}/check`, kind: 'agent-output-check', role: null });
    }
  }
}

/** The description of a declared output (or child), of its array item, and of its children, depth first. */
function outputDescriptions(ex: FieldReader, c: Cur, spec: NodeSpec, id: string): void {
  ex.text(ex.child(c, 'description'), { ...spec, id, kind: 'agent-output-description', role: null });
  const item = ex.child(c, 'array_item');
  if (item && isObj(item.val)) {
    ex.text(ex.child(item, 'description'), { ...spec, id: `${id}/item`, kind: 'agent-output-description', role: null });
    children(ex, item, spec, `${id}/item`);
  }
  children(ex, c, spec, id);
}

function children(ex: FieldReader, c: Cur, spec: NodeSpec, id: string): void {
  for (const [j, ch] of ex.list(ex.child(c, 'children'), spec).entries()) {
    if (!isObj(ch.val)) continue;
    const name = typeof ch.val.name === 'string' && ch.val.name !== '' ? ch.val.name : `children/${j}`;
    outputDescriptions(ex, ch, spec, `${id}/${name}`);
  }
}

export function agentPackageSouls(ex: FieldReader, root: Cur): void {
  const pkgs = ex.child(root, 'agent_packages');
  if (!pkgs || pkgs.val == null) return;
  if (!isObj(pkgs.val)) {
    ex.warn('DSL_FIELD_SHAPE', pkgs, '`agent_packages` is not a mapping of package refs; Dify writes `<ref>: {metadata, soul}`. It is skipped.');
    return;
  }
  for (const ref of Object.keys(pkgs.val)) {
    const pkg = ex.child(pkgs, ref);
    if (!pkg || !isObj(pkg.val)) continue;
    const nodeId = `agent_packages.${ref}`;
    const meta = isObj(pkg.val.metadata) ? pkg.val.metadata : {};
    const model = soulModelOf(pkg.val.soul);
    const spec: NodeSpec = {
      nodeId,
      nodeTitle: meta.name == null ? ref : String(meta.name),
      nodeType: 'agent-package',
      ...(model ? { model } : {}),
    };
    const prompt = ex.child(ex.child(pkg, 'soul'), 'prompt');
    ex.text(ex.child(prompt, 'system_prompt'), { ...spec, id: `${nodeId}/soul_prompt`, kind: 'agent-soul-prompt', role: null });
  }
}

export function knowledgeIndexNode(ex: FieldReader, dataC: Cur, spec: NodeSpec): void {
  const sis = ex.child(dataC, 'summary_index_setting');
  if (!sis || !isObj(sis.val) || sis.val.enable !== true) return;
  const v = sis.val;
  const model: ModelInfo = {};
  if (v.model_provider_name != null) model.provider = String(v.model_provider_name);
  if (v.model_name != null) model.name = String(v.model_name);
  ex.text(ex.child(sis, 'summary_prompt'), {
    ...spec,
    ...(Object.keys(model).length ? { model } : {}),
    id: `${spec.nodeId}/summary_prompt`,
    kind: 'summary-prompt',
    role: null,
  });
}

export function memoryRolePrefixes(ex: FieldReader, memory: Cur | undefined, spec: NodeSpec): void {
  const rp = ex.child(memory, 'role_prefix');
  if (!rp || !isObj(rp.val)) return;
  for (const role of ['user', 'assistant'] as const) {
    ex.text(ex.child(rp, role), { ...spec, id: `${spec.nodeId}/role_prefix/${role}`, kind: 'memory-role-prefix', role });
  }
}
