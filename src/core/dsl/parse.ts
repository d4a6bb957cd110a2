/**
 * Reading a Dify app export: parse, validate the shape, extract every prompt field with its
 * exact source range.
 *
 * Pipeline: js-yaml `parseEvents` (one pass, source offsets for every node) → js-yaml
 * `constructFromEvents` with the YAML 1.1 schema (the values PyYAML's `safe_load` gives; it also
 * rejects duplicate keys and counts aliases) → zod shape check → a walk over the event stream
 * along the few paths that hold prompts, to take each value's range.
 *
 * Prompt ids (stable across text edits, unique in the file):
 * - `<nodeId>/msg:<messageId>`       llm chat message that carries Dify's own `id`
 * - `<nodeId>/prompt_template/<i>`   llm chat message without an id (i = index in the list)
 * - `<nodeId>/prompt_template`       llm completion-mode prompt
 * - `<nodeId>/instruction`           question-classifier / parameter-extractor instruction
 * - `<nodeId>/agent_instruction`     agent node instruction
 * - `app/pre_prompt`                 chat / completion / agent-chat app prompt
 * A clash (two nodes with one id) gets `#2`, `#3`… appended in document order.
 */
import {
  constructFromEvents,
  parseEvents,
  YAML11_SCHEMA,
  YAMLException,
  SCALAR_STYLE_DOUBLE_QUOTED,
  SCALAR_STYLE_SINGLE_QUOTED,
  SCALAR_STYLE_LITERAL_BLOCK,
  SCALAR_STYLE_FOLDED_BLOCK,
  type Event,
} from 'js-yaml';
import { DslError, type DslErrorCode } from '../errors';
import { EventTree } from './events';
import { LineIndex } from './positions';
import { DifyRootSchema, describeShapeProblems } from './schema';
import type { DifyAppInfo, ModelInfo, PromptKind, PromptRecord, PromptRole } from './types';
import { findVariables } from './variables';

export const DEFAULT_MAX_BYTES = 20 * 1024 * 1024;
export const DEFAULT_MAX_DEPTH = 100;
export const DEFAULT_MAX_ALIASES = 1000;

export interface ParseOptions {
  /** Shown in error messages and kept on the document. */
  file?: string;
  /** Larger files are refused with DSL_TOO_LARGE. Default 20 MB (UTF-8 bytes). */
  maxBytes?: number;
  /** Deeper nesting is refused with DSL_TOO_DEEP. Default 100. */
  maxDepth?: number;
  /** More alias nodes (`*ref`) are refused with DSL_ALIAS_LIMIT. Default 1000. */
  maxAliases?: number;
}

/** A parsed Dify export. */
export interface DifyDocument {
  file?: string;
  app: DifyAppInfo;
  /** Every prompt field, in document order. */
  prompts: PromptRecord[];
  /**
   * The YAML text the ranges refer to: the file's text, or for the export API's JSON wrapper
   * (`app.wrapped`) the YAML inside its `data` string.
   */
  text: string;
  /** Only for the JSON wrapper: the file's own text (the JSON), which `text` was decoded from. */
  fileText?: string;
}

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
  /** Reached through a YAML alias of an enclosing node: the value is shared, write-back refuses. */
  shared: boolean;
}

const slotsByDoc = new WeakMap<DifyDocument, Map<string, ValueSlot>>();

/** Internal: the value slots of a parsed document, by prompt id. */
export function slotsOf(doc: DifyDocument): Map<string, ValueSlot> | undefined {
  return slotsByDoc.get(doc);
}

/**
 * Parses a Dify app export (YAML, or the export API's `{"data": "<yaml>"}` JSON wrapper).
 * Throws DslError: DSL_TOO_LARGE, DSL_INVALID_YAML (with line:column), DSL_TOO_DEEP,
 * DSL_ALIAS_LIMIT, DSL_DUPLICATE_KEY, DSL_NOT_DIFY_APP (saying what is missing).
 */
export function parseDify(text: string, opts: ParseOptions = {}): DifyDocument {
  const file = opts.file;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (text.length > maxBytes || (text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes)) {
    throw new DslError('DSL_TOO_LARGE', `The file is larger than the limit of ${formatBytes(maxBytes)}.`, { file });
  }
  const inner = unwrapExportApi(text, file);
  if (inner !== undefined) {
    const doc = parseYamlApp(inner, opts, true);
    doc.fileText = text;
    return doc;
  }
  return parseYamlApp(text, opts, false);
}

/** The `data` text of the export API's JSON wrapper, or undefined when `text` is not one. */
function unwrapExportApi(text: string, file: string | undefined): string | undefined {
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t' || text[i] === '\ufeff')) i++;
  if (text[i] !== '{') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(i));
  } catch {
    return undefined; // not JSON: let the YAML parser report the problem with line:column
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const obj = parsed as Record<string, unknown>;
  if ('app' in obj) return undefined; // a Dify export written as JSON: read it as YAML
  if (typeof obj.data !== 'string') {
    throw new DslError(
      'DSL_NOT_DIFY_APP',
      'This JSON file is not a Dify app export: it has no `data` text holding the app (the export API answers `{"data": "<yaml>"}`).',
      { file },
    );
  }
  return obj.data;
}

function parseYamlApp(text: string, opts: ParseOptions, wrapped: boolean): DifyDocument {
  const file = opts.file;
  const where = wrapped ? ' (in the YAML inside the JSON `data` field)' : '';
  let events: Event[];
  let docs: unknown[];
  try {
    events = parseEvents(text, { maxDepth: opts.maxDepth ?? DEFAULT_MAX_DEPTH });
    docs = constructFromEvents(events, {
      source: text,
      schema: YAML11_SCHEMA,
      maxAliases: opts.maxAliases ?? DEFAULT_MAX_ALIASES,
    });
  } catch (e) {
    throw yamlError(e, file, where);
  }
  if (docs.length === 0) throw new DslError('DSL_NOT_DIFY_APP', `The file is empty${where}: no Dify app in it.`, { file });
  if (docs.length > 1) {
    throw new DslError('DSL_INVALID_YAML', `The file holds ${docs.length} YAML documents${where}; a Dify export holds one.`, { file });
  }
  const root = docs[0];
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new DslError(
      'DSL_NOT_DIFY_APP',
      `Not a Dify app export${where}: the top level is ${Array.isArray(root) ? 'a list' : 'not a mapping'}; expected keys \`app\`, \`kind: app\` and \`workflow\` or \`model_config\`.`,
      { file },
    );
  }
  const shape = DifyRootSchema.safeParse(root);
  if (!shape.success) {
    throw new DslError('DSL_NOT_DIFY_APP', `Not a Dify app export${where}: ${describeShapeProblems(root, shape.error)}.`, { file });
  }
  const r = shape.data;
  const rootObj = root as Record<string, unknown>;
  const mode = r.app.mode;
  const chatLike = mode === 'chat' || mode === 'completion' || mode === 'agent-chat';
  if (!r.workflow && !(chatLike && r.model_config)) {
    const need = chatLike ? '`model_config`' : '`workflow.graph.nodes`';
    throw new DslError('DSL_NOT_DIFY_APP', `Not a Dify app export${where}: app mode is "${mode}" but ${need} is missing.`, { file });
  }
  const app: DifyAppInfo = {
    name: r.app.name == null ? '' : String(r.app.name),
    mode,
    ...(r.version != null ? { version: String(r.version) } : {}),
    wrapped,
  };
  const doc: DifyDocument = { ...(file !== undefined ? { file } : {}), app, prompts: [], text };
  const ex = new Extractor(new EventTree(text, events), new LineIndex(text), file);
  const rootEv = ROOT_EVENT;
  if (r.workflow) ex.workflow(rootEv, rootObj);
  if (rootObj.model_config && typeof rootObj.model_config === 'object' && (chatLike || 'pre_prompt' in (rootObj.model_config as object))) {
    ex.prePrompt(rootEv, rootObj, app);
  }
  doc.prompts = ex.records;
  slotsByDoc.set(doc, ex.slots);
  return doc;
}

/** events[0] is the DOCUMENT event; the root node follows it. */
const ROOT_EVENT = 1;

function yamlError(e: unknown, file: string | undefined, where: string): DslError {
  if (e instanceof YAMLException) {
    const reason = e.reason || e.message;
    const loc = e.mark ? { file, line: e.mark.line + 1, column: e.mark.column + 1 } : { file };
    let code: DslErrorCode = 'DSL_INVALID_YAML';
    let msg = `Invalid YAML${where}: ${reason}.`;
    if (/maxDepth/.test(reason)) {
      code = 'DSL_TOO_DEEP';
      msg = `The YAML nests deeper than allowed${where} (${reason}).`;
    } else if (/maxAliases/.test(reason)) {
      code = 'DSL_ALIAS_LIMIT';
      msg = `The YAML uses more aliases than allowed${where} (${reason}); this looks like an alias bomb.`;
    } else if (/duplicated mapping key/.test(reason)) {
      code = 'DSL_DUPLICATE_KEY';
      msg = `Duplicate key in a mapping${where}: a key appears twice, so the file is ambiguous.`;
    }
    if (loc.line !== undefined) msg = msg.replace(/\.$/, '') + ` at line ${loc.line}, column ${loc.column}.`;
    return new DslError(code, msg, loc, e);
  }
  if (e instanceof RangeError) {
    return new DslError('DSL_TOO_DEEP', `The YAML nests too deeply to read${where}.`, { file }, e);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new DslError('DSL_INVALID_YAML', `Could not read the YAML${where}: ${msg}`, { file }, e);
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const ROLES = new Set(['system', 'user', 'assistant']);

interface FieldSpec {
  id: string;
  nodeId: string;
  nodeTitle: string;
  nodeType: string;
  kind: PromptKind;
  role: PromptRole;
  messageId?: string;
  messageIndex?: number;
  editionType: 'basic' | 'jinja2';
  model?: ModelInfo;
}

/** Walks the event stream next to the constructed value and collects prompt records. */
class Extractor {
  readonly records: PromptRecord[] = [];
  readonly slots = new Map<string, ValueSlot>();
  private readonly idCount = new Map<string, number>();

  constructor(
    private readonly tree: EventTree,
    private readonly lines: LineIndex,
    private readonly file: string | undefined,
  ) {}

  workflow(rootEv: number, root: Obj): void {
    const t = this.tree;
    const wf = t.get(rootEv, 'workflow');
    const graph = wf && t.get(t.deref(wf.value), 'graph');
    const nodesEv = graph && t.get(t.deref(graph.value), 'nodes');
    if (!nodesEv) return;
    const shared = t.isAlias(wf.value) || t.isAlias(graph.value) || t.isAlias(nodesEv.value);
    const jsNodes = ((root.workflow as Obj).graph as Obj).nodes as Obj[];
    const evNodes = t.items(nodesEv.value);
    const base: (string | number)[] = ['workflow', 'graph', 'nodes'];
    for (let i = 0; i < jsNodes.length; i++) {
      const node = jsNodes[i];
      const data = node.data as Obj;
      const nodeEv = evNodes[i];
      const dataEv = t.get(t.deref(nodeEv), 'data');
      if (!dataEv) continue;
      const nodeShared = shared || t.isAlias(nodeEv) || t.isAlias(dataEv.value);
      const nodeId = String(node.id);
      const spec = {
        nodeId,
        nodeTitle: typeof data.title === 'string' ? data.title : String(data.title ?? ''),
        nodeType: String(data.type),
        model: modelOf(data.model),
      };
      const path = [...base, i, 'data'];
      const d = dataEv.value;
      switch (data.type) {
        case 'llm':
          this.llm(d, data, path, spec, nodeShared);
          break;
        case 'question-classifier': {
          const key = 'instruction' in data || !('instructions' in data) ? 'instruction' : 'instructions';
          this.field(d, data, [key], path, { ...spec, id: `${nodeId}/instruction`, kind: 'classifier-instruction', role: null, editionType: 'basic' }, nodeShared);
          break;
        }
        case 'parameter-extractor':
          this.field(d, data, ['instruction'], path, { ...spec, id: `${nodeId}/instruction`, kind: 'extractor-instruction', role: null, editionType: 'basic' }, nodeShared);
          break;
        case 'agent': {
          const ap = isObj(data.agent_parameters) ? data.agent_parameters : undefined;
          const model = ap && isObj(ap.model) ? agentModelOf(ap.model.value) : undefined;
          this.field(
            d,
            data,
            ['agent_parameters', 'instruction', 'value'],
            path,
            { ...spec, model: model ?? spec.model, id: `${nodeId}/agent_instruction`, kind: 'agent-instruction', role: null, editionType: 'basic' },
            nodeShared,
          );
          break;
        }
        default:
          break;
      }
    }
  }

  prePrompt(rootEv: number, root: Obj, app: DifyAppInfo): void {
    const t = this.tree;
    const mc = t.get(rootEv, 'model_config');
    if (!mc) return;
    this.field(mc.value, root.model_config as Obj, ['pre_prompt'], ['model_config'], {
      id: 'app/pre_prompt',
      nodeId: 'app',
      nodeTitle: app.name,
      nodeType: String(app.mode),
      kind: 'app-pre-prompt',
      role: null,
      editionType: 'basic',
      model: modelOf((root.model_config as Obj).model),
    }, t.isAlias(mc.value));
  }

  private llm(dataEv: number, data: Obj, path: (string | number)[], spec: Omit<FieldSpec, 'id' | 'kind' | 'role' | 'editionType'>, shared: boolean): void {
    const t = this.tree;
    const pt = data.prompt_template;
    const ptEv = t.get(t.deref(dataEv), 'prompt_template');
    if (!ptEv) return;
    const ptPath = [...path, 'prompt_template'];
    const ptShared = shared || t.isAlias(ptEv.value);
    if (Array.isArray(pt)) {
      const items = t.items(ptEv.value);
      for (let j = 0; j < pt.length; j++) {
        const item = pt[j];
        if (!isObj(item) || typeof item.role !== 'string' || !ROLES.has(item.role)) continue;
        const jinja = item.edition_type === 'jinja2';
        const msgId = typeof item.id === 'string' && item.id !== '' ? item.id : undefined;
        this.field(items[j], item, [jinja ? 'jinja2_text' : 'text'], [...ptPath, j], {
          ...spec,
          id: msgId ? `${spec.nodeId}/msg:${msgId}` : `${spec.nodeId}/prompt_template/${j}`,
          kind: 'llm-message',
          role: item.role as PromptRole,
          ...(msgId ? { messageId: msgId } : {}),
          messageIndex: j,
          editionType: jinja ? 'jinja2' : 'basic',
        }, ptShared || t.isAlias(items[j]));
      }
    } else if (isObj(pt)) {
      const jinja = pt.edition_type === 'jinja2';
      this.field(ptEv.value, pt, [jinja ? 'jinja2_text' : 'text'], ptPath, {
        ...spec,
        id: `${spec.nodeId}/prompt_template`,
        kind: 'llm-completion',
        role: null,
        editionType: jinja ? 'jinja2' : 'basic',
      }, ptShared);
    }
  }

  /** Records the value at `keys` below the mapping `mapEv` (whose constructed value is `obj`). */
  private field(mapEv: number, obj: Obj, keys: string[], path: (string | number)[], spec: FieldSpec, shared: boolean): void {
    const t = this.tree;
    let ev = mapEv;
    let cur: unknown = obj;
    let parentEv = t.deref(mapEv);
    let keyEv = -1;
    let valueEv = -1;
    const fullPath = [...path, ...keys];
    for (let k = 0; k < keys.length; k++) {
      parentEv = t.deref(ev);
      const hit = isObj(cur) ? t.get(parentEv, keys[k]) : undefined;
      if (!hit) {
        this.add(spec, fullPath, '', undefined);
        return;
      }
      if (k < keys.length - 1 && t.isAlias(hit.value)) shared = true;
      cur = (cur as Obj)[keys[k]];
      keyEv = hit.key;
      valueEv = hit.value;
      ev = hit.value;
    }
    const text = this.textOf(cur, valueEv, fullPath, spec.id);
    const slot = this.slot(keyEv, valueEv, parentEv, shared);
    this.add(spec, fullPath, text, slot);
  }

  private textOf(value: unknown, valueEv: number, path: (string | number)[], id: string): string {
    if (typeof value === 'string') return value;
    if (value === null || value === undefined) return '';
    const s = this.tree.scalar(this.tree.deref(valueEv));
    if (s && (typeof value === 'number' || typeof value === 'boolean' || value instanceof Date)) {
      // A plain scalar the YAML 1.1 schema reads as a number/bool/date: its text is its source.
      return this.tree.source.slice(s.valueStart, s.valueEnd);
    }
    throw new DslError(
      'DSL_NOT_DIFY_APP',
      `Not a Dify app export: prompt field \`${path.join('.')}\` holds ${Array.isArray(value) ? 'a list' : 'a mapping'}, expected text.`,
      { file: this.file, promptId: id, ...this.where(valueEv) },
    );
  }

  private where(ev: number): { line?: number; column?: number } {
    const e = this.tree.events[ev];
    const off = e.type === 4 ? e.valueStart : e.type === 2 || e.type === 3 ? e.start : -1;
    if (off < 0) return {};
    const p = this.lines.position(off);
    return { line: p.line, column: p.column };
  }

  private slot(keyEv: number, valueEv: number, parentEv: number, shared: boolean): ValueSlot {
    const t = this.tree;
    const src = t.source;
    const key = t.scalar(keyEv);
    let keyStart = key ? key.valueStart : 0;
    if (key && (key.style === SCALAR_STYLE_DOUBLE_QUOTED || key.style === SCALAR_STYLE_SINGLE_QUOTED)) keyStart--;
    if (key && key.anchorStart >= 0) keyStart = Math.min(keyStart, key.anchorStart - 1);
    if (key && key.tagStart >= 0) keyStart = Math.min(keyStart, key.tagStart);
    const keyColumn = keyStart - (src.lastIndexOf('\n', keyStart - 1) + 1);
    const inFlow = t.isFlow(parentEv);
    const base = { keyColumn, inFlow, shared };
    const e = t.events[valueEv];
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

  private add(spec: FieldSpec, yamlPath: (string | number)[], text: string, slot: ValueSlot | undefined): void {
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
      editionType: spec.editionType,
      text,
      variables: findVariables(text),
      ...(slot ? { range: this.lines.range(slot.start, slot.end) } : {}),
      ...(spec.model ? { model: spec.model } : {}),
    };
    this.records.push(rec);
    if (slot) this.slots.set(id, slot);
  }
}

/**
 * Start of a block scalar's header (`|`, `>-`, `|2+` …). js-yaml reports the content start, which
 * is the line after the header; the header is the first `|`/`>` on that previous line after the
 * key that is followed only by indicators, blanks and an optional comment.
 */
function blockHeaderStart(src: string, contentStart: number, keyEnd: number): number {
  let lineEnd = contentStart - 1;
  if (lineEnd > 0 && src[lineEnd - 1] === '\r') lineEnd--;
  if (contentStart >= src.length || src[contentStart - 1] !== '\n') lineEnd = contentStart; // header on the last line
  const lineStart = src.lastIndexOf('\n', lineEnd - 1) + 1;
  const from = keyEnd > lineStart && keyEnd <= lineEnd ? keyEnd : lineStart;
  const line = src.slice(from, lineEnd);
  const m = /(^|[\s:])[|>](?:[1-9][+-]?|[+-][1-9]?)?[ \t]*(?:#.*)?$/.exec(line);
  if (m) return from + m.index + m[1].length;
  return -1;
}

function modelOf(m: unknown): ModelInfo | undefined {
  if (!isObj(m)) return undefined;
  const out: ModelInfo = {};
  if (m.provider != null) out.provider = String(m.provider);
  if (m.name != null) out.name = String(m.name);
  if (m.mode != null) out.mode = String(m.mode);
  return Object.keys(out).length ? out : undefined;
}

function agentModelOf(v: unknown): ModelInfo | undefined {
  if (!isObj(v)) return undefined;
  const out: ModelInfo = {};
  if (v.provider != null) out.provider = String(v.provider);
  if (v.model != null) out.name = String(v.model);
  else if (v.name != null) out.name = String(v.name);
  if (v.mode != null) out.mode = String(v.mode);
  return Object.keys(out).length ? out : undefined;
}

/**
 * Cheap content check for "is this text a Dify app export?" (no parse): `kind: app` or an `app:`
 * block with `mode:`, plus `workflow:` or `model_config:` at the top level; or the export API's
 * JSON wrapper holding such YAML. Runs in a few milliseconds on a 10 MB file.
 */
export function looksLikeDifyExport(text: string): boolean {
  const head = text.slice(0, 64).trimStart().replace(/^\ufeff/, '');
  if (head.startsWith('{')) {
    if (!/^\{\s*"data"\s*:\s*"/.test(head) && !/"data"\s*:\s*"/.test(text.slice(0, 4096))) return false;
    const app = text.includes('\\nkind: app\\n') || text.startsWith('app:', text.indexOf('"data"') + 8) || /"data"\s*:\s*"app:\\n/.test(text.slice(0, 4096));
    return app && (text.includes('\\nworkflow:\\n') || text.includes('\\nmodel_config:\\n'));
  }
  const hasKind = /^kind:[ \t]*['"]?app['"]?[ \t]*\r?$/m.test(text);
  const hasApp = /^app:[ \t]*\r?$/m.test(text) && /^[ \t]+mode:[ \t]*['"]?(?:workflow|advanced-chat|chat|completion|agent-chat)\b/m.test(text);
  if (!hasKind && !hasApp) return false;
  return /^(?:workflow|model_config):[ \t]*\r?$/m.test(text);
}
