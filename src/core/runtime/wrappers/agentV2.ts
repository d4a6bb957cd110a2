/**
 * Dify's Agent v2 (DSL 0.7.0): the request of an agent node's job prompt or an agent package's
 * soul prompt, and a knowledge pipeline's summary prompt, for one case.
 *
 * Followed: langgenius/dify api/core/workflow/nodes/agent_v2/runtime_request_builder.py
 * (build, _build_workflow_task_prompt, _build_workflow_context_prompt, _build_output_config,
 * _schema_for_type), api/clients/agent_backend (build_for_workflow_node: the soul prompt layer,
 * then the job prompt layer, both prompt prefixes, then the user prompt layer) and
 * api/services/agent/prompt_mentions.py (expand_prompt_mentions, the soul and job resolvers,
 * scrub_mention_markers).
 *
 * - The soul prompt and the job prompt have their mentions expanded (a tool to its name, a
 *   dataset to its name, a previous node's output to its reference name, a declared output to
 *   "name (type)"; an unresolved one to its label, then its id; any mention-shaped rest scrubbed).
 * - The system text is the soul prompt and then the job prompt (prompt layers are prefixes, in
 *   layer order; joined by a blank line here — the agent backend that joins them is not in
 *   Dify's repository), the job prompt falling back to Dify's "Use the workflow user prompt for
 *   this run.".
 * - The user message is the workflow context: the user query and the previous nodes' outputs the
 *   job prompt mentions, with Dify's wording, or "Use the current workflow context.".
 * - Declared outputs become the answer's JSON schema (the output layer).
 * Tools, knowledge retrieval, skills and the shell are layers of the agent backend that no
 * request here can carry: the run is the model's first answer, and says so.
 */
import type { ChatMessage } from '../../llm/types';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

const MENTION_RE = /\[§(skill|file|tool|cli_tool|knowledge|human|node_output|output):([^:§]+?)(?::([^§]*?))?§\]/g;
const RESIDUAL_RE = /\[§([A-Za-z_][A-Za-z0-9_]*:[^§]*?)§\]/g;
const MAX_LABEL = 255;
const MAX_REF = 6144;

export interface Mention {
  kind: string;
  id: string;
  label?: string;
}
export type MentionResolver = (m: Mention) => string | undefined;

/** expand_prompt_mentions: each mention to the resolver's text, else its label, else its id; then the scrub. */
export function expandMentions(prompt: string, resolve: MentionResolver): string {
  if (!prompt) return prompt;
  const out = prompt.replace(MENTION_RE, (_raw, kind: string, id: string, label?: string) => {
    const fallback = (label || id).slice(0, MAX_LABEL);
    if (id.length > MAX_REF || (label !== undefined && label.length > MAX_LABEL)) return fallback;
    const r = resolve({ kind, id, label: label || undefined });
    return r === undefined || !r.trim() ? fallback : r.slice(0, MAX_LABEL);
  });
  return out.replace(RESIDUAL_RE, (_raw, inner: string) => {
    const parts = splitN(inner, ':', 3);
    if (parts.length >= 3 && parts[2]!.trim()) return parts[2]!.trim().slice(0, MAX_LABEL);
    if (parts.length >= 2 && parts[1]!.trim()) return parts[1]!.trim().slice(0, MAX_LABEL);
    return inner.slice(0, MAX_LABEL);
  });
}

/** Python's str.split(sep, n - 1). */
function splitN(s: string, sep: string, n: number): string[] {
  const parts = s.split(sep);
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}

function humanContact(contacts: Obj[], id: string): string | undefined {
  for (const c of contacts) {
    if ([c.id, c.contact_id, c.human_id].includes(id)) {
      const channel = str(c.channel) || str(c.method) || str(c.contact_method);
      const who = str(c.name) || str(c.email) || id;
      return channel ? `${channel.toUpperCase()} · ${who}` : who;
    }
  }
  return undefined;
}

/** build_soul_mention_resolver (tools by name or provider/name, cli tools, datasets, human contacts). */
export function soulResolver(soul: Obj): MentionResolver {
  const tools = isObj(soul.tools) ? soul.tools : {};
  const knowledge = isObj(soul.knowledge) ? soul.knowledge : {};
  const human = isObj(soul.human) ? soul.human : {};
  return (m) => {
    if (m.kind === 'tool') {
      for (const t of list(tools.dify_tools)) {
        const prefixes = new Set([str(t.provider), str(t.provider_id), str(t.plugin_id)].filter((p): p is string => !!p));
        if (str(t.plugin_id) && str(t.provider)) prefixes.add(`${t.plugin_id}/${t.provider}`);
        const name = str(t.tool_name);
        if (!name) {
          const display = str(t.provider) || str(t.provider_id) || str(t.plugin_id);
          if ([...prefixes].some((p) => m.id === `${p}/*`)) return `all ${display} tools`;
          for (const p of [...prefixes].sort((a, b) => b.length - a.length)) {
            const single = m.id.startsWith(`${p}/`) ? m.id.slice(p.length + 1) : m.id;
            if (single !== m.id && single && !single.includes('/')) return single;
          }
          continue;
        }
        const aliases = new Set([name, ...[...prefixes].map((p) => `${p}/${name}`)]);
        if (aliases.has(m.id)) return str(t.name) || name;
      }
    } else if (m.kind === 'cli_tool') {
      for (const c of list(tools.cli_tools)) if (m.id === c.id || m.id === c.name) return str(c.name) || str(c.id);
    } else if (m.kind === 'knowledge') {
      for (const d of list(knowledge.datasets)) if (m.id === d.id) return str(d.name) || str(d.id);
    } else if (m.kind === 'human') return humanContact(list(human.contacts), m.id);
    return undefined;
  };
}

/** The `node.var` a previous-node-output ref names (_selector_from_ref). */
function refSelector(ref: Obj): [string, string] | undefined {
  for (const c of [ref.selector, ref.variable_selector, ref.value_selector]) {
    if (Array.isArray(c) && c.length >= 2) return [String(c[0]), String(c[1])];
  }
  const node = str(ref.node_id);
  const out = str(ref.output) || str(ref.variable) || str(ref.key);
  return node && out ? [node, out] : undefined;
}

/** build_node_job_mention_resolver (previous node outputs to their names, declared outputs to "name (type)", human contacts). */
export function jobResolver(job: Obj): MentionResolver {
  return (m) => {
    if (m.kind === 'node_output') {
      for (const ref of list(job.previous_node_output_refs)) {
        const s = refSelector(ref);
        if (s && `${s[0]}.${s[1]}` === m.id) return str(ref.name) || m.label || m.id;
      }
    } else if (m.kind === 'output') {
      for (const o of list(job.declared_outputs)) if (o.name === m.id) return `${o.name} (${str(o.type) ?? 'string'})`;
    } else if (m.kind === 'human') return humanContact(list(job.human_contacts), m.id);
    return undefined;
  };
}

/** The `node.var` selectors the job prompt's node_output mentions name, in order (the refs Dify derives from the task text). */
export function nodeOutputSelectors(prompt: string): string[] {
  const out: string[] = [];
  for (const m of prompt.matchAll(MENTION_RE)) {
    if (m[1] !== 'node_output') continue;
    const [node, ...rest] = m[2]!.split('.');
    if (node && rest.length) {
      const sel = `${node}.${rest.join('.')}`;
      if (!out.includes(sel)) out.push(sel);
    }
  }
  return out;
}

function schemaForType(type: string, arrayItem?: Obj, children?: Obj[]): Obj {
  switch (type) {
    case 'number':
      return { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'object': {
      const s: Obj = { type: 'object' };
      applyChildren(s, children ?? []);
      return s;
    }
    case 'array': {
      const item = schemaForType(str(arrayItem?.type) ?? 'object', undefined, list(arrayItem?.children));
      if (str(arrayItem?.description)) item.description = arrayItem!.description;
      return { type: 'array', items: item };
    }
    case 'file':
      return { type: 'object', description: 'a file (transfer_method and reference, or url)' };
    default:
      return { type: 'string' };
  }
}

function applyChildren(schema: Obj, children: Obj[]): void {
  if (!children.length) return;
  const properties: Obj = {};
  const required: string[] = [];
  for (const c of children) {
    const s = schemaForType(str(c.type) ?? 'string', isObj(c.array_item) ? c.array_item : undefined, list(c.children));
    if (str(c.description)) s.description = c.description;
    properties[String(c.name)] = s;
    if (c.required === true) required.push(String(c.name));
  }
  schema.properties = properties;
  if (required.length) schema.required = required;
}

/** _build_output_config: the declared outputs as one object schema (undefined when none are declared). */
export function declaredOutputSchema(outputs: readonly Obj[]): Record<string, unknown> | undefined {
  if (!outputs.length) return undefined;
  const properties: Obj = {};
  const required: string[] = [];
  for (const o of outputs) {
    const s = schemaForType(str(o.type) ?? 'string', isObj(o.array_item) ? o.array_item : undefined, list(o.children));
    if (str(o.description)) s.description = o.description;
    properties[String(o.name)] = s;
    if (o.required === true) required.push(String(o.name));
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}

const JOB_FALLBACK = 'Use the workflow user prompt for this run.';
const USER_FALLBACK = 'Use the current workflow context.';

/** _build_workflow_context_prompt: the query and the mentioned previous outputs (each value cut at 2,000 characters). */
export function workflowContextPrompt(query: string, outputs: ReadonlyArray<{ label: string; value: string }>): string {
  if (!query && !outputs.length) return '';
  const lines = ['Workflow context loaded for this run:'];
  if (query) lines.push(`- User query: ${query}`);
  if (outputs.length) {
    lines.push('- Previous node outputs:');
    for (const o of outputs) lines.push(`  - ${o.label}: ${o.value.length > 2000 ? `${o.value.slice(0, 2000)}...[truncated]` : o.value}`);
  }
  lines.push('The above workflow context is run-specific. Do not treat it as Agent Soul or persistent memory.');
  return lines.join('\n');
}

/** The messages of an Agent v2 run's first model call: the soul and job prompts as the system text, the workflow context as the user message. */
export function agentV2Messages(o: { soulPrompt: string; soul: Obj; jobPrompt: string; job: Obj; vars: Record<string, string> }): ChatMessage[] {
  const soul = expandMentions(o.soulPrompt, soulResolver(o.soul)).trim();
  const task = expandMentions(o.jobPrompt, jobResolver(o.job)).trim();
  const outputs = nodeOutputSelectors(o.jobPrompt).map((sel) => ({ label: sel, value: o.vars[sel] ?? '' }));
  const user = workflowContextPrompt(o.vars['sys.query'] ?? '', outputs) || USER_FALLBACK;
  const system = [soul, task || JOB_FALLBACK].filter(Boolean).join('\n\n');
  return [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
}

/** A knowledge pipeline's summary call: f"{summary_prompt}\n{text}" as the one user message. */
export function summaryMessages(prompt: string, text: string): ChatMessage[] {
  return [{ role: 'user', content: `${prompt}\n${text}` }];
}
