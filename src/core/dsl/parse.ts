/**
 * Reading a Dify app export: parse, validate the shape, extract every prompt field with its
 * exact source range (extract.ts; the id scheme is described there).
 *
 * Pipeline: js-yaml `parseEvents` (one pass, source offsets for every node; when it refuses
 * under-indented continuation lines of quoted scalars, which PyYAML reads, lenient.ts) → js-yaml
 * `constructFromEvents` with the YAML 1.1 schema (the values PyYAML's `safe_load` gives, merge
 * keys included; it also rejects duplicate keys and counts aliases) → zod shape check → a walk
 * over the event stream along the paths that hold prompts, to take each value's range.
 */
import { constructFromEvents, parseEvents, YAML11_SCHEMA, YAMLException, COLLECTION_STYLE_FLOW, type Event } from 'js-yaml';
import { DslError, type DslErrorCode } from '../errors';
import { EventTree } from './events';
import { Extractor, type ValueSlot } from './extract';
import { isDeficientIndentation, lenientEvents } from './lenient';
import { LineIndex } from './positions';
import { DifyPipelineRootSchema, DifyRootSchema, describeShapeProblems } from './schema';
import type { DifyAppInfo, DslWarning, PromptRecord } from './types';

export type { ValueSlot } from './extract';

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
  /** Odd fields that were skipped (each names the field, with line:column); the rest was read. */
  warnings: DslWarning[];
  /**
   * true when js-yaml refused the file and it was read the way PyYAML reads it (quoted scalars
   * with under-indented continuation lines, see lenient.ts).
   */
  lenient?: boolean;
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
  let lenient = false;
  try {
    const parserOpts = { maxDepth: opts.maxDepth ?? DEFAULT_MAX_DEPTH };
    try {
      events = parseEvents(text, parserOpts);
    } catch (e) {
      const alt = isDeficientIndentation(e) ? lenientEvents(text, parserOpts) : undefined;
      if (!alt) throw e;
      events = alt;
      lenient = true;
    }
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
  const rootObj = root as Record<string, unknown>;
  const { app, hasWorkflow } = appInfoOf(rootObj, where, file, wrapped);
  const tree = new EventTree(text, events);
  const json = !wrapped && tree.isFlow(ROOT_EVENT) && events[ROOT_EVENT].type === 3 && (events[ROOT_EVENT] as { style: number }).style === COLLECTION_STYLE_FLOW;
  const ex = new Extractor(tree, new LineIndex(text), file, json);
  const rootCur = { ev: ROOT_EVENT, val: rootObj, path: [] };
  if (hasWorkflow) ex.workflow(rootCur);
  ex.modelConfig(rootCur, app);
  ex.agentPackages(rootCur);
  const doc: DifyDocument = {
    ...(file !== undefined ? { file } : {}),
    app,
    prompts: ex.records,
    text,
    warnings: ex.warnings,
    ...(lenient ? { lenient: true } : {}),
  };
  slotsByDoc.set(doc, ex.slots);
  return doc;
}

/**
 * What the top level says about the export, checked against what each mode must hold:
 * - `kind: rag_pipeline` (a knowledge pipeline): `rag_pipeline` and `workflow.graph`, no `app`;
 *   its mode is reported as "rag-pipeline" (Dify's AppMode.RAG_PIPELINE).
 * - app mode workflow / advanced-chat (and rag-pipeline): `workflow.graph.nodes`.
 * - chat / completion / agent-chat: `model_config`.
 * - agent (DSL 0.7.0 agent apps: top-level `agent: {package_ref}` and `agent_packages`, no graph):
 *   `agent_packages`.
 * - channel, and any mode this version does not know: whichever of `workflow`, `model_config`,
 *   `agent_packages` it holds (one at least).
 */
function appInfoOf(root: Record<string, unknown>, where: string, file: string | undefined, wrapped: boolean): { app: DifyAppInfo; hasWorkflow: boolean } {
  if (root.kind === 'rag_pipeline') {
    const shape = DifyPipelineRootSchema.safeParse(root);
    if (!shape.success) {
      throw new DslError('DSL_NOT_DIFY_APP', `Not a Dify knowledge pipeline export${where}: ${describeShapeProblems(root, shape.error)}.`, { file });
    }
    const r = shape.data;
    const name = r.rag_pipeline.name == null ? '' : String(r.rag_pipeline.name);
    return { app: { name, mode: 'rag-pipeline', ...(r.version != null ? { version: String(r.version) } : {}), wrapped }, hasWorkflow: true };
  }
  const shape = DifyRootSchema.safeParse(root);
  if (!shape.success) {
    throw new DslError('DSL_NOT_DIFY_APP', `Not a Dify app export${where}: ${describeShapeProblems(root, shape.error)}.`, { file });
  }
  const r = shape.data;
  const mode = r.app.mode;
  const chatLike = mode === 'chat' || mode === 'completion' || mode === 'agent-chat';
  const graphLike = mode === 'workflow' || mode === 'advanced-chat' || mode === 'rag-pipeline';
  const packages = r.agent_packages != null && Object.keys(r.agent_packages).length > 0;
  let need: string | undefined;
  if (chatLike && !r.model_config) need = '`model_config`';
  else if (graphLike && !r.workflow) need = '`workflow.graph.nodes`';
  else if (mode === 'agent' && !packages && !r.workflow) need = '`agent_packages` (the agent app\'s soul)';
  else if (!chatLike && !graphLike && mode !== 'agent' && !r.workflow && !r.model_config && !packages) need = '`workflow.graph.nodes`, `model_config` or `agent_packages`';
  if (need) throw new DslError('DSL_NOT_DIFY_APP', `Not a Dify app export${where}: app mode is "${mode}" but ${need} is missing.`, { file });
  const app: DifyAppInfo = {
    name: r.app.name == null ? '' : String(r.app.name),
    mode,
    ...(r.version != null ? { version: String(r.version) } : {}),
    wrapped,
  };
  return { app, hasWorkflow: r.workflow !== undefined };
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

/**
 * Cheap content check for "is this text a Dify app export?" (no parse): `kind: app` or an `app:`
 * block with `mode:`, plus `workflow:` or `model_config:` at the top level; or the export API's
 * JSON wrapper holding such YAML. Runs in a few milliseconds on a 10 MB file.
 */
export function looksLikeDifyExport(text: string): boolean {
  const head = text.slice(0, 64).trimStart().replace(/^\ufeff/, '');
  if (head.startsWith('{')) {
    if (!/^\{\s*"data"\s*:\s*"/.test(head) && !/"data"\s*:\s*"/.test(text.slice(0, 4096))) return false;
    const app = text.includes('\\nkind: app\\n') || text.includes('\\nkind: rag_pipeline\\n') || text.startsWith('app:', text.indexOf('"data"') + 8) || /"data"\s*:\s*"app:\\n/.test(text.slice(0, 4096));
    return app && (text.includes('\\nworkflow:\\n') || text.includes('\\nmodel_config:\\n') || text.includes('\\nagent_packages:\\n'));
  }
  const hasKind = /^kind:[ \t]*['"]?(?:app|rag_pipeline)['"]?[ \t]*\r?$/m.test(text);
  const hasApp = /^app:[ \t]*\r?$/m.test(text) && /^[ \t]+mode:[ \t]*['"]?(?:workflow|advanced-chat|chat|completion|agent-chat|agent|channel|rag-pipeline)\b/m.test(text);
  if (!hasKind && !hasApp) return false;
  return /^(?:workflow|model_config|agent_packages):[ \t]*\r?$/m.test(text);
}
