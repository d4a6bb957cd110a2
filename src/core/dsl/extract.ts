/**
 * Walks the event stream next to the constructed value and collects every prompt field of
 * contract v2 (GUIDE §3) with its exact source range, plus a warning for each odd field.
 *
 * One odd field never sinks the file: a prompt field holding a list or a mapping, a message
 * without a role, a prompt_template of an unexpected shape, an unknown node type each give a
 * warning (file, line:column) and are skipped; everything else is still read. A key that is
 * absent gives no record; a key present with an empty (or null) value gives an empty record.
 *
 * Prompt ids (stable across text edits, unique in the file; a clash gets `#2`, `#3`…):
 * - `<node>/msg:<messageId>` or `<node>/prompt_template/<i>`   llm chat message
 * - `<node>/prompt_template`                                   llm completion prompt
 * - `<node>/query_prompt_template`                             llm memory query template
 * - `<node>/structured_output/<path>`                          structured output description
 * - `<node>/instruction`                                       classifier / extractor instruction
 * - `<node>/class:<classId>` or `<node>/classes/<i>`           classifier class name
 * - `<node>/param:<name>` or `<node>/parameters/<i>`           extractor parameter description
 * - `<node>/agent_instruction`, `<node>/agent_query`           agent node
 * - DSL 0.7.0 (extractV07.ts): `<node>/job_prompt`, `<node>/output:<name>…`, `<node>/summary_prompt`,
 *   `<node>/role_prefix/user|assistant`, `agent_packages.<ref>/soul_prompt`
 * - `app/pre_prompt`, `app/chat_prompt/<i>`, `app/completion_prompt`,
 *   `app/agent_prompt/first_prompt|next_iteration`, `app/followup_prompt`,
 *   `app/workflow_followup_prompt`                              app-level fields
 *
 * Shared values: a value reached through an alias (`*a`), through a merge key (`<<: *a`), or
 * one that carries an anchor repeated elsewhere is marked shared, with a note naming both
 * places; write-back refuses to change it (it would change the other place too).
 */
import { SCALAR_STYLE_DOUBLE_QUOTED, SCALAR_STYLE_FOLDED_BLOCK, SCALAR_STYLE_LITERAL_BLOCK, SCALAR_STYLE_SINGLE_QUOTED } from 'js-yaml';
import type { EventTree } from './events';
import { isLabelKind } from './kinds';
import type { LineIndex } from './positions';
import type { DifyAppInfo, DslWarning, DslWarningCode, PromptRecord, PromptRole } from './types';
import { agentModelOf, blockHeaderStart, describe, modelOf } from './extractUtil';
import { findVariables } from './variables';
import { agentPackageSouls, agentV2Node, knowledgeIndexNode, memoryRolePrefixes } from './extractV07';
import type { Cur, FieldReader, NodeSpec, Path, Spec } from './walk';

/** How a prompt's value is written in the file; what write-back and offset mapping need. */
export interface ValueSlot {
  style: 'plain' | 'single' | 'double' | 'literal' | 'folded' | 'alias' | 'empty' | 'missing';
  /** Range replaced on write-back (quotes, block header, alias token included). */
  start: number;
  end: number;
  /** Column (0-based) of the key: the parent block mapping's indentation. */
  keyColumn: number;
  /** The value sits in a flow mapping (`{…}`): block scalars are not allowed there. */
  inFlow: boolean;
  /** The value is shared with another place through a YAML anchor/alias/merge: write-back refuses. */
  shared: boolean;
  /** Plain words naming both places, when shared. */
  sharedNote?: string;
  /** The file is JSON (an export saved as JSON): write-back must keep it JSON. */
  json?: boolean;
}

type Obj = Record<string, unknown>;

/** Dify's Agent v2 node (api/core/workflow/nodes/agent_v2/discriminator.py `is_dify_agent_node_data`). */
function isAgentV2(data: Obj): boolean {
  return data.type === 'agent' && String(data.version) === '2' && data.agent_node_kind === 'dify_agent';
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const ROLES = new Set(['system', 'user', 'assistant']);

/** data.type values Dify writes (api/core/workflow/nodes/enums.py over the versions), '' for notes. */
const KNOWN_NODE_TYPES = new Set([
  '', 'start', 'end', 'answer', 'llm', 'knowledge-retrieval', 'knowledge-retrieval-v2', 'if-else', 'code',
  'template-transform', 'question-classifier', 'http-request', 'tool', 'variable-aggregator',
  'variable-assigner', 'assigner', 'loop', 'loop-start', 'loop-end', 'iteration', 'iteration-start',
  'parameter-extractor', 'document-extractor', 'list-operator', 'agent', 'knowledge-index',
  'datasource', 'trigger-webhook', 'trigger-schedule', 'trigger-plugin', 'human-input',
]);

export class Extractor implements FieldReader {
  readonly records: PromptRecord[] = [];
  readonly slots = new Map<string, ValueSlot>();
  readonly warnings: DslWarning[] = [];
  private readonly idCount = new Map<string, number>();

  constructor(
    private readonly tree: EventTree,
    private readonly lines: LineIndex,
    private readonly file: string | undefined,
    private readonly json: boolean,
  ) {}

  // ---- the walk ---------------------------------------------------------------------------

  /** The value at `key` of the mapping at `c` (merge keys followed), or undefined when absent. */
  child(c: Cur | undefined, key: string): Cur | undefined {
    if (!c || !isObj(c.val)) return undefined;
    const t = this.tree;
    const hit = t.getMerged(t.deref(c.ev), key);
    if (!hit) return undefined;
    const val = c.val[key];
    let share = c.share ?? c.alias;
    if (!share && hit.merge !== undefined) {
      share = `comes from a mapping merged in with \`<<\` at ${this.at(hit.merge)}${this.anchorNote(hit.merge)}`;
    }
    return { ev: hit.value, val, path: [...c.path, key], ...this.shareOf(hit.value, share), parentEv: t.deref(c.ev) };
  }

  /** Items of the sequence at `c`. */
  items(c: Cur | undefined): Cur[] {
    if (!c || !Array.isArray(c.val)) return [];
    const evs = this.tree.items(c.ev);
    const arr = c.val as unknown[];
    const out: Cur[] = [];
    for (let i = 0; i < evs.length && i < arr.length; i++) {
      out.push({ ev: evs[i], val: arr[i], path: [...c.path, i], ...this.shareOf(evs[i], c.share ?? c.alias) });
    }
    return out;
  }

  /** Why the node at `ev` is shared (inherited, an alias, or an anchor repeated elsewhere). */
  private shareOf(ev: number, inherited: string | undefined): { share?: string; alias?: string } {
    if (inherited) return { share: inherited };
    const t = this.tree;
    if (t.isAlias(ev)) {
      const name = t.aliasName(ev);
      const target = t.deref(ev);
      return { alias: `reads its value through the alias *${name} at ${this.at(ev)}, which repeats the anchor &${name} at ${this.at(target)}` };
    }
    const name = t.anchorName(ev);
    if (name === undefined) return {};
    const uses = t.usesOf(name);
    if (uses.length === 0) return {};
    const more = uses.length > 1 ? ` (and ${uses.length - 1} more place${uses.length > 2 ? 's' : ''})` : '';
    return { share: `carries the anchor &${name} at ${this.at(ev)}, which is repeated as *${name} at ${this.at(uses[0])}${more}` };
  }

  private anchorNote(ev: number): string {
    const t = this.tree;
    if (!t.isAlias(ev)) return '';
    return ` (the alias *${t.aliasName(ev)}, whose anchor is at ${this.at(t.deref(ev))})`;
  }

  private at(ev: number): string {
    const p = this.lines.position(this.tree.startOf(ev));
    return `line ${p.line}, column ${p.column}`;
  }

  // ---- the fields -------------------------------------------------------------------------

  /** The document's root value (for cross-references such as an Agent v2 node's package). */
  rootVal: unknown;

  workflow(root: Cur): void {
    this.rootVal = root.val;
    const nodes = this.child(this.child(this.child(root, 'workflow'), 'graph'), 'nodes');
    for (const node of this.items(nodes)) this.node(node);
    const features = this.child(this.child(root, 'workflow'), 'features');
    this.followup(features, { nodeId: 'app', nodeTitle: '', nodeType: 'workflow' }, 'app/workflow_followup_prompt');
  }

  private node(node: Cur): void {
    if (!isObj(node.val)) {
      this.warn('DSL_UNKNOWN_NODE', node, `A node of the graph (\`${node.path.join('.')}\`) is not a mapping; it is skipped.`);
      return;
    }
    const nodeId = node.val.id == null ? '' : String(node.val.id);
    const dataC = this.child(node, 'data');
    const data = dataC?.val;
    if (!dataC || !isObj(data) || typeof data.type !== 'string') {
      this.warn('DSL_UNKNOWN_NODE', dataC ?? node, `Node ${nodeId || `#${String(node.path.at(-1))}`} has no \`data.type\`; any prompt it holds is not read.`, nodeId);
      return;
    }
    const spec: NodeSpec = {
      nodeId,
      nodeTitle: typeof data.title === 'string' ? data.title : String(data.title ?? ''),
      nodeType: data.type,
      model: modelOf(data.model),
    };
    switch (data.type) {
      case 'llm':
        this.llm(dataC, spec);
        break;
      case 'question-classifier': {
        const key = 'instruction' in data || !('instructions' in data) ? 'instruction' : 'instructions';
        this.text(this.child(dataC, key), { ...spec, id: `${nodeId}/instruction`, kind: 'classifier-instruction', role: null });
        for (const [i, cls] of this.list(this.child(dataC, 'classes'), spec).entries()) {
          const cid = isObj(cls.val) && cls.val.id != null && cls.val.id !== '' ? String(cls.val.id) : undefined;
          this.text(this.child(cls, 'name'), { ...spec, id: cid ? `${nodeId}/class:${cid}` : `${nodeId}/classes/${i}`, kind: 'classifier-class', role: null });
        }
        break;
      }
      case 'parameter-extractor': {
        this.text(this.child(dataC, 'instruction'), { ...spec, id: `${nodeId}/instruction`, kind: 'extractor-instruction', role: null });
        for (const [i, par] of this.list(this.child(dataC, 'parameters'), spec).entries()) {
          const name = isObj(par.val) && typeof par.val.name === 'string' && par.val.name !== '' ? par.val.name : undefined;
          const opts = isObj(par.val) && Array.isArray(par.val.options) ? par.val.options.filter((o): o is string => typeof o === 'string') : [];
          this.text(this.child(par, 'description'), { ...spec, id: name ? `${nodeId}/param:${name}` : `${nodeId}/parameters/${i}`, kind: 'extractor-parameter', role: null, ...(opts.length ? { options: opts } : {}) });
        }
        break;
      }
      case 'agent': {
        if (isAgentV2(data)) {
          agentV2Node(this, dataC, spec);
          break;
        }
        const ap = this.child(dataC, 'agent_parameters');
        const apv = ap && isObj(ap.val) ? ap.val : undefined;
        const model = apv && isObj(apv.model) ? agentModelOf(apv.model.value) : undefined;
        const aspec = { ...spec, model: model ?? spec.model };
        this.text(this.child(this.child(ap, 'instruction'), 'value'), { ...aspec, id: `${nodeId}/agent_instruction`, kind: 'agent-instruction', role: null });
        this.text(this.child(this.child(ap, 'query'), 'value'), { ...aspec, id: `${nodeId}/agent_query`, kind: 'agent-query', role: null });
        break;
      }
      case 'knowledge-index':
        knowledgeIndexNode(this, dataC, spec);
        break;
      default:
        if (!KNOWN_NODE_TYPES.has(data.type)) {
          const typeC = this.child(dataC, 'type');
          this.warn('DSL_UNKNOWN_NODE', typeC ?? dataC, `Node ${nodeId} has the type "${data.type}", which this version does not know; any prompt it holds is not read.`, nodeId);
        }
        break;
    }
  }

  private llm(dataC: Cur, spec: NodeSpec): void {
    const pt = this.child(dataC, 'prompt_template');
    if (pt && Array.isArray(pt.val)) {
      for (const item of this.items(pt)) {
        const j = item.path.at(-1) as number;
        const m = item.val;
        if (!isObj(m)) {
          this.warn('DSL_FIELD_SHAPE', item, `Message ${j} of \`prompt_template\` in node ${spec.nodeId} is not a mapping; it is skipped.`, spec.nodeId);
          continue;
        }
        const jinja = m.edition_type === 'jinja2';
        const textKey = jinja ? 'jinja2_text' : 'text';
        if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
          // Dify's own context placeholders carry no text; only a message with text is worth a word.
          if (typeof m[textKey] === 'string' && m[textKey] !== '') {
            const what = m.role === undefined || m.role === null || m.role === '' ? 'has no role' : `has the role ${JSON.stringify(m.role)}`;
            this.warn('DSL_MESSAGE_ROLE', this.child(item, 'role') ?? item, `Message ${j} of \`prompt_template\` in node ${spec.nodeId} ${what}; Dify needs system, user or assistant. It is skipped.`, spec.nodeId);
          }
          continue;
        }
        const msgId = typeof m.id === 'string' && m.id !== '' ? m.id : undefined;
        this.text(this.child(item, textKey), {
          ...spec,
          id: msgId ? `${spec.nodeId}/msg:${msgId}` : `${spec.nodeId}/prompt_template/${j}`,
          kind: 'llm-message',
          role: m.role as PromptRole,
          ...(msgId ? { messageId: msgId } : {}),
          messageIndex: j,
          editionType: jinja ? 'jinja2' : 'basic',
        });
      }
    } else if (pt && isObj(pt.val)) {
      const jinja = pt.val.edition_type === 'jinja2';
      this.text(this.child(pt, jinja ? 'jinja2_text' : 'text'), {
        ...spec,
        id: `${spec.nodeId}/prompt_template`,
        kind: 'llm-completion',
        role: null,
        editionType: jinja ? 'jinja2' : 'basic',
      });
    } else if (pt && pt.val != null) {
      this.warn('DSL_FIELD_SHAPE', pt, `\`prompt_template\` of node ${spec.nodeId} is ${describe(pt.val)}; Dify writes a list of messages or a mapping with \`text\`. It is skipped.`, spec.nodeId);
    }
    const memory = this.child(dataC, 'memory');
    this.text(this.child(memory, 'query_prompt_template'), { ...spec, id: `${spec.nodeId}/query_prompt_template`, kind: 'llm-query-template', role: null });
    if (spec.model?.mode === 'completion') memoryRolePrefixes(this, memory, spec);
    const d = dataC.val as Obj;
    if (d.structured_output_enabled === true || d.structured_output_switch_on === true) {
      const so = this.child(dataC, 'structured_output');
      if (so) this.descriptions(so, spec, so.path.length);
    }
  }

  /** Every `description` text inside a structured output schema, in document order. */
  private descriptions(c: Cur, spec: NodeSpec, base: number): void {
    if (Array.isArray(c.val)) {
      for (const item of this.items(c)) this.descriptions(item, spec, base);
      return;
    }
    if (!isObj(c.val)) return;
    for (const key of Object.keys(c.val)) {
      const v = c.val[key];
      if (key === 'description' && (typeof v === 'string' || v === null)) {
        const sub = this.child(c, key);
        if (!sub) continue;
        this.text(sub, { ...spec, id: `${spec.nodeId}/structured_output/${sub.path.slice(base).join('.')}`, kind: 'output-description', role: null });
      } else if (v !== null && typeof v === 'object') {
        const sub = this.child(c, key);
        if (sub) this.descriptions(sub, spec, base);
      }
    }
  }

  /** The soul prompt of each top-level agent package (DSL 0.7.0). */
  agentPackages(root: Cur): void {
    agentPackageSouls(this, root);
  }

  /** App-level fields of `model_config` (chat, completion and agent-chat apps). */
  modelConfig(root: Cur, app: DifyAppInfo): void {
    const mc = this.child(root, 'model_config');
    if (!mc || !isObj(mc.val)) return;
    const spec: NodeSpec = { nodeId: 'app', nodeTitle: app.name, nodeType: String(app.mode), model: modelOf(mc.val.model) };
    const advanced = mc.val.prompt_type === 'advanced';
    if (!advanced) {
      this.text(this.child(mc, 'pre_prompt'), { ...spec, id: 'app/pre_prompt', kind: 'app-pre-prompt', role: null });
    } else {
      const chat = this.child(this.child(mc, 'chat_prompt_config'), 'prompt');
      for (const item of this.list(chat, spec)) {
        const i = item.path.at(-1) as number;
        const m = item.val;
        if (!isObj(m)) {
          this.warn('DSL_FIELD_SHAPE', item, `Message ${i} of \`model_config.chat_prompt_config.prompt\` is not a mapping; it is skipped.`, 'app');
          continue;
        }
        if (typeof m.role !== 'string' || !ROLES.has(m.role)) {
          this.warn('DSL_MESSAGE_ROLE', this.child(item, 'role') ?? item, `Message ${i} of \`model_config.chat_prompt_config.prompt\` has ${m.role == null || m.role === '' ? 'no role' : `the role ${JSON.stringify(m.role)}`}; Dify needs system, user or assistant. It is skipped.`, 'app');
          continue;
        }
        this.text(this.child(item, 'text'), { ...spec, id: `app/chat_prompt/${i}`, kind: 'app-chat-message', role: m.role as PromptRole, messageIndex: i });
      }
      const completion = this.child(this.child(mc, 'completion_prompt_config'), 'prompt');
      if (completion && completion.val != null && !isObj(completion.val)) {
        this.warn('DSL_FIELD_SHAPE', completion, `\`model_config.completion_prompt_config.prompt\` is ${describe(completion.val)}; Dify writes a mapping with \`text\`. It is skipped.`, 'app');
      } else {
        this.text(this.child(completion, 'text'), { ...spec, id: 'app/completion_prompt', kind: 'app-completion-prompt', role: null });
      }
    }
    const agentPrompt = this.child(this.child(mc, 'agent_mode'), 'prompt');
    for (const which of ['first_prompt', 'next_iteration'] as const) {
      this.text(this.child(agentPrompt, which), { ...spec, id: `app/agent_prompt/${which}`, kind: 'app-agent-prompt', role: which });
    }
    this.followup(mc, spec, 'app/followup_prompt');
  }

  private followup(parent: Cur | undefined, spec: NodeSpec, id: string): void {
    const f = this.child(parent, 'suggested_questions_after_answer');
    this.text(this.child(f, 'prompt'), { ...spec, id, kind: 'followup-prompt', role: null });
  }

  /** The items of a list field; a value that is there but not a list gets a warning. */
  list(c: Cur | undefined, spec: NodeSpec): Cur[] {
    if (!c || c.val == null) return [];
    if (!Array.isArray(c.val)) {
      this.warn('DSL_FIELD_SHAPE', c, `\`${c.path.join('.')}\` is ${describe(c.val)}, expected a list; it is skipped.`, spec.nodeId);
      return [];
    }
    return this.items(c);
  }

  // ---- records ----------------------------------------------------------------------------

  /** Records the text at `c`; absent → nothing; not text → a warning. */
  text(c: Cur | undefined, spec: Spec): void {
    if (!c) return;
    const t = this.tree;
    let text: string;
    const v = c.val;
    if (typeof v === 'string') text = v;
    else if (v === null || v === undefined) text = '';
    else {
      const s = t.scalar(t.deref(c.ev));
      if (s && (typeof v === 'number' || typeof v === 'boolean' || v instanceof Date)) {
        // A plain scalar the YAML 1.1 schema reads as a number/bool/date: its text is its source.
        text = t.source.slice(s.valueStart, s.valueEnd);
      } else {
        const what = Array.isArray(v) ? 'a list (a variable selector?)' : 'a mapping';
        this.warn('DSL_FIELD_NOT_TEXT', c, `The ${spec.kind} field \`${c.path.join('.')}\` of ${spec.nodeId === 'app' ? 'the app' : `node ${spec.nodeId}`} holds ${what}, not text; it is skipped.`, spec.nodeId);
        return;
      }
    }
    this.add(spec, c.path, text, this.slot(c));
  }

  warn(code: DslWarningCode, c: Cur, message: string, nodeId?: string): void {
    const off = this.tree.startOf(c.ev);
    const p = this.lines.position(off);
    this.warnings.push({
      code,
      message,
      ...(this.file !== undefined ? { file: this.file } : {}),
      line: p.line,
      column: p.column,
      offset: off,
      yamlPath: c.path,
      ...(nodeId !== undefined ? { nodeId } : {}),
    });
  }

  private slot(c: Cur): ValueSlot {
    const t = this.tree;
    const src = t.source;
    // The key event is the one just before the value in its mapping (merge keys aside: shared anyway).
    const keyEv = c.ev - 1;
    const key = t.scalar(keyEv);
    let keyStart = key ? key.valueStart : 0;
    if (key && (key.style === SCALAR_STYLE_DOUBLE_QUOTED || key.style === SCALAR_STYLE_SINGLE_QUOTED)) keyStart--;
    if (key && key.anchorStart >= 0) keyStart = Math.min(keyStart, key.anchorStart - 1);
    if (key && key.tagStart >= 0) keyStart = Math.min(keyStart, key.tagStart);
    const keyColumn = keyStart - (src.lastIndexOf('\n', keyStart - 1) + 1);
    const inFlow = c.parentEv !== undefined && t.isFlow(c.parentEv);
    const base = { keyColumn, inFlow, shared: c.share !== undefined, ...(c.share ? { sharedNote: c.share } : {}), ...(this.json ? { json: true } : {}) };
    const e = t.events[c.ev];
    if (e.type === 5) return { ...base, style: 'alias', start: e.anchorStart - 1, end: e.anchorEnd };
    if (e.type !== 4) return { ...base, style: 'missing', start: 0, end: 0 };
    switch (e.style) {
      case SCALAR_STYLE_DOUBLE_QUOTED:
        return { ...base, style: 'double', start: e.valueStart - 1, end: e.valueEnd + 1 };
      case SCALAR_STYLE_SINGLE_QUOTED:
        return { ...base, style: 'single', start: e.valueStart - 1, end: e.valueEnd + 1 };
      case SCALAR_STYLE_LITERAL_BLOCK:
      case SCALAR_STYLE_FOLDED_BLOCK: {
        const header = blockHeaderStart(src, e.valueStart, key ? key.valueEnd : 0);
        // Header not found (never seen in practice): report the content, refuse write-back.
        if (header < 0) return { ...base, style: 'missing', start: e.valueStart, end: e.valueEnd };
        return { ...base, style: e.style === SCALAR_STYLE_LITERAL_BLOCK ? 'literal' : 'folded', start: header, end: e.valueEnd };
      }
      default: {
        if (e.valueStart >= 0) return { ...base, style: 'plain', start: e.valueStart, end: e.valueEnd };
        // `key:` with no value: an empty range just after the colon (after the value's props, if any).
        let p = Math.max(key ? key.valueEnd : 0, e.anchorEnd, e.tagEnd);
        if (p === (key ? key.valueEnd : 0)) {
          const colon = src.indexOf(':', p);
          p = colon >= 0 ? colon + 1 : p;
        }
        return { ...base, style: 'empty', start: p, end: p };
      }
    }
  }

  private add(spec: Spec, yamlPath: Path, text: string, slot: ValueSlot | undefined): void {
    const n = (this.idCount.get(spec.id) ?? 0) + 1;
    this.idCount.set(spec.id, n);
    const id = n === 1 ? spec.id : `${spec.id}#${n}`;
    const rec: PromptRecord = {
      id,
      nodeId: spec.nodeId,
      nodeTitle: spec.nodeTitle,
      nodeType: spec.nodeType,
      kind: spec.kind,
      role: spec.role,
      ...(spec.messageId !== undefined ? { messageId: spec.messageId } : {}),
      ...(spec.messageIndex !== undefined ? { messageIndex: spec.messageIndex } : {}),
      yamlPath,
      editionType: spec.editionType ?? 'basic',
      text,
      variables: findVariables(text),
      ...(isLabelKind(spec.kind) ? { label: true } : {}),
      ...(spec.options ? { options: spec.options } : {}),
      ...(slot ? { range: this.lines.range(slot.start, slot.end) } : {}),
      ...(spec.model ? { model: spec.model } : {}),
    };
    this.records.push(rec);
    if (slot) this.slots.set(id, slot);
  }
}
