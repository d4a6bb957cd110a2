import { EVENT_ID, getScalarValue, parseEvents, SCALAR_STYLE, type Event } from 'js-yaml';
import { DslError } from '../errors';

/**
 * `manifest.yaml` of an app package, checked as Dify's `AppPackageManifest` (pydantic,
 * `extra="forbid"`) checks it: langgenius/dify `api/services/app_package_service.py` and
 * `api/services/agent/roster_package_entities.py` (`RosterAgentPackageApp`,
 * `RosterAgentPackageSkill`, `RosterAgentPackageFile`). The YAML is read as Dify's
 * `_PackageYamlLoader` reads it: no aliases, no duplicate keys, string keys only; from js-yaml's
 * event stream, keeping each scalar's source range (for the in-place edit of size and sha256).
 */

type Node = MapNode | SeqNode | ScalarNode;
interface MapNode {
  t: 'map';
  entries: Map<string, Node>;
}
interface SeqNode {
  t: 'seq';
  items: Node[];
}
interface ScalarNode {
  t: 'scalar';
  value: string | number | boolean | null;
  range: [number, number];
}

/** A plain scalar's value as YAML 1.1 (PyYAML) resolves the few types a manifest uses. */
function resolvePlain(s: string): string | number | boolean | null {
  if (s === '' || s === '~' || /^(null|Null|NULL)$/.test(s)) return null;
  if (/^(true|True|TRUE|yes|Yes|YES|on|On|ON)$/.test(s)) return true;
  if (/^(false|False|FALSE|no|No|NO|off|Off|OFF)$/.test(s)) return false;
  if (/^[-+]?(0|[1-9][0-9_]*)$/.test(s)) return Number(s.replace(/_/g, ''));
  if (/^[-+]?0[0-7_]+$/.test(s) || /^[-+]?0x[0-9a-fA-F_]+$/.test(s) || /^[-+]?0b[01_]+$/.test(s)) return NaN; // other ints: not a size Dify wrote
  if (/^[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?$/.test(s) || /^[-+]?\.(inf|Inf|INF)$/.test(s) || /^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  return s;
}

function buildTree(text: string, file: string): Node | undefined {
  let events: Event[];
  try {
    events = parseEvents(text, {});
  } catch (e) {
    throw invalid(file, `its YAML does not parse (${(e as Error).message.split('\n')[0]})`);
  }
  let i = 0;
  const next = (): Node => {
    const ev = events[i++];
    if (ev.type === EVENT_ID.ALIAS) throw invalid(file, 'it uses a YAML alias');
    if (ev.type === EVENT_ID.SCALAR) {
      const raw = getScalarValue(text, ev);
      const value = ev.style === SCALAR_STYLE.PLAIN && ev.tagStart < 0 ? resolvePlain(raw) : raw;
      return { t: 'scalar', value, range: [ev.valueStart, ev.valueEnd] };
    }
    if (ev.type === EVENT_ID.SEQUENCE) {
      const items: Node[] = [];
      while (events[i].type !== EVENT_ID.POP) items.push(next());
      i++;
      return { t: 'seq', items };
    }
    if (ev.type === EVENT_ID.MAPPING) {
      const entries = new Map<string, Node>();
      while (events[i].type !== EVENT_ID.POP) {
        const k = next();
        if (k.t !== 'scalar' || typeof k.value !== 'string') throw invalid(file, 'a mapping key is not a string');
        if (entries.has(k.value)) throw invalid(file, `the key ${JSON.stringify(k.value)} appears twice`);
        entries.set(k.value, next());
      }
      i++;
      return { t: 'map', entries };
    }
    throw invalid(file, 'its YAML has an unexpected structure');
  };
  const docs: Node[] = [];
  while (i < events.length) {
    const ev = events[i];
    if (ev.type === EVENT_ID.DOCUMENT) {
      i++;
      if (events[i] && events[i].type !== EVENT_ID.POP) docs.push(next());
      if (events[i] && events[i].type === EVENT_ID.POP) i++;
    } else i++;
  }
  if (docs.length > 1) throw invalid(file, 'it holds more than one YAML document');
  return docs[0];
}

/** The parsed manifest (the root node and its text). */
export interface ManifestDoc {
  root: Node | undefined;
}

/** Parses the manifest's YAML as Dify's strict loader does. */
export function parseManifestYaml(text: string, file: string): ManifestDoc {
  return { root: buildTree(text, file) };
}

const val = (n: Node | undefined): unknown => (n && n.t === 'scalar' ? n.value : n);

/** The `format` of a manifest, or undefined; read before the app checks (a roster agent is told apart by it). */
export function manifestFormat(doc: ManifestDoc): unknown {
  return doc.root?.t === 'map' ? val(doc.root.entries.get('format')) : undefined;
}

export interface ManifestResource {
  path: string;
  size: number;
  sha256: string;
  /** 'app', or the kind of agent resource. */
  kind: 'app' | 'skill' | 'file';
}

export interface Manifest {
  format: string;
  app: ManifestResource;
  resources: ManifestResource[];
  /** The manifest's text and where its app entry's `size` and `sha256` values are (for in-place edits). */
  text: string;
  sizeRange: [number, number];
  shaRange: [number, number];
}

const SHA256 = /^[0-9a-f]{64}$/;

function invalid(file: string, why: string): DslError {
  return new DslError('PACKAGE_MANIFEST_INVALID', `manifest.yaml is not a valid app package manifest: ${why}.`, { file });
}

function checkKeys(m: Node | undefined, allowed: string[], where: string, file: string): MapNode {
  if (!m || m.t !== 'map') throw invalid(file, `${where} is not a mapping`);
  for (const k of m.entries.keys()) if (!allowed.includes(k)) throw invalid(file, `${where} has an unexpected key ${JSON.stringify(k)}`);
  return m;
}

function str(m: MapNode, key: string, where: string, file: string, opts: { min?: number; max?: number } = {}): string {
  const v = val(m.entries.get(key));
  if (typeof v !== 'string') throw invalid(file, `${where}.${key} is ${v === undefined ? 'missing' : 'not a string'}`);
  if (opts.min !== undefined && v.length < opts.min) throw invalid(file, `${where}.${key} is too short`);
  if (opts.max !== undefined && v.length > opts.max) throw invalid(file, `${where}.${key} is longer than ${opts.max} characters`);
  return v;
}

function resource(node: Node | undefined, kind: ManifestResource['kind'], where: string, file: string): ManifestResource {
  const common = ['path', 'size', 'sha256', 'audit'];
  const extra =
    kind === 'app'
      ? []
      : kind === 'skill'
        ? ['id', 'scope', 'name', 'display_name', 'description', 'priority', 'mime_type']
        : ['id', 'role', 'original_name', 'mime_type', 'platform', 'arch'];
  const m = checkKeys(node, [...common, ...extra], where, file);
  const p = str(m, 'path', where, file, { min: 1, max: 255 });
  const size = val(m.entries.get('size'));
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw invalid(file, `${where}.size is not a whole number of bytes`);
  const sha = str(m, 'sha256', where, file);
  if (!SHA256.test(sha)) throw invalid(file, `${where}.sha256 is not a lowercase SHA-256 digest`);
  if (kind === 'app') {
    if (p.includes('/') || p.includes('\\') || !(p.endsWith('.yaml') || p.endsWith('.yml'))) throw invalid(file, `${where}.path must be a root-level YAML member`);
    if (p.toLowerCase() === 'manifest.yaml') throw invalid(file, `${where}.path must not be the manifest's name`);
  } else {
    const id = str(m, 'id', where, file);
    if (kind === 'skill') {
      if (!/^s_[0-9]{6}$/.test(id)) throw invalid(file, `${where}.id is not a skill id (s_000001)`);
      if (p !== `${id}.zip`) throw invalid(file, `${where}.path must be the skill id with .zip`);
      str(m, 'name', where, file, { min: 1, max: 64 });
      const scope = val(m.entries.get('scope'));
      if (scope !== 'agent_config' && scope !== 'workspace') throw invalid(file, `${where}.scope is not agent_config or workspace`);
    } else {
      if (!/^f_[0-9]{6}$/.test(id)) throw invalid(file, `${where}.id is not a file id (f_000001)`);
      if (p === id || !p.startsWith(`${id}.`) || p.includes('/') || p.includes('\\')) throw invalid(file, `${where}.path must start with the file id and have an extension`);
      const role = val(m.entries.get('role'));
      if (role !== 'agent_config_file' && role !== 'binary_dependency') throw invalid(file, `${where}.role is not agent_config_file or binary_dependency`);
      str(m, 'original_name', where, file, { min: 1, max: 255 });
    }
  }
  return { path: p, size, sha256: sha, kind };
}

/** Checks a `format: dify.app` manifest and locates its app entry's `size` and `sha256` values. */
export function checkAppManifest(doc: ManifestDoc, text: string, file: string): Manifest {
  const m = checkKeys(doc.root, ['format', 'format_version', 'apps', 'agent_resources'], 'the manifest', file);
  if (val(m.entries.get('format')) !== 'dify.app') throw invalid(file, '`format` is not "dify.app"');
  if (val(m.entries.get('format_version')) !== 1) throw invalid(file, '`format_version` is not 1');
  const apps = m.entries.get('apps');
  if (!apps || apps.t !== 'seq') throw invalid(file, '`apps` is not a list');
  if (apps.items.length !== 1) throw invalid(file, `\`apps\` holds ${apps.items.length} entries; an app package holds exactly one`);
  const appNode = apps.items[0];
  const app = resource(appNode, 'app', 'apps[0]', file);
  const resources: ManifestResource[] = [];
  const ids = new Set<string>();
  const groups = m.entries.get('agent_resources');
  if (groups !== undefined && !(groups.t === 'scalar' && groups.value === null)) {
    if (groups.t !== 'map') throw invalid(file, '`agent_resources` is not a mapping');
    for (const [ref, g] of groups.entries) {
      const gm = checkKeys(g, ['skills', 'files'], `agent_resources.${ref}`, file);
      for (const [key, kind] of [['skills', 'skill'], ['files', 'file']] as const) {
        const list = gm.entries.get(key);
        if (list === undefined) continue;
        if (list.t !== 'seq') throw invalid(file, `agent_resources.${ref}.${key} is not a list`);
        list.items.forEach((it, i) => {
          const r = resource(it, kind, `agent_resources.${ref}.${key}[${i}]`, file);
          const id = String(val((it as MapNode).entries.get('id')));
          if (ids.has(id)) throw invalid(file, `resource id ${id} appears twice`);
          ids.add(id);
          resources.push(r);
        });
      }
    }
  }
  const seen = new Set<string>();
  for (const r of [app, ...resources]) {
    const k = r.path.toLowerCase();
    if (seen.has(k)) throw invalid(file, `path ${JSON.stringify(r.path)} appears twice`);
    seen.add(k);
  }
  const sizeNode = (appNode as MapNode).entries.get('size') as ScalarNode;
  const shaNode = (appNode as MapNode).entries.get('sha256') as ScalarNode;
  return { format: 'dify.app', app, resources, text, sizeRange: sizeNode.range, shaRange: quotedRange(text, shaNode.range) };
}

/** A quoted scalar's range including its quotes (js-yaml's value range is the inside). */
function quotedRange(text: string, r: [number, number]): [number, number] {
  const q = text[r[0] - 1];
  return (q === "'" || q === '"') && text[r[1]] === q ? [r[0] - 1, r[1] + 1] : r;
}

/** A scalar PyYAML would read back as a string, written in the style of the one it replaces. */
function scalarLike(original: string, value: string): string {
  const q = original[0];
  if (q === "'") return `'${value}'`;
  if (q === '"') return `"${value}"`;
  // Plain, unless YAML 1.1 would resolve it as a number (a digest of decimal digits only).
  return /^[0-9_]+$/.test(value) || /^[0-9_]*[eE][0-9_]*$/.test(value) ? `'${value}'` : value;
}

/**
 * The manifest text with the app entry's `size` and `sha256` set to the given values, edited in
 * place: only the two values change, every other byte stays.
 */
export function editManifest(man: Manifest, size: number, sha256: string): string {
  const t = man.text;
  const edits = [
    { range: man.sizeRange, text: String(size) },
    { range: man.shaRange, text: scalarLike(t.slice(man.shaRange[0], man.shaRange[1]), sha256) },
  ].sort((a, b) => b.range[0] - a.range[0]);
  let out = t;
  for (const e of edits) out = out.slice(0, e.range[0]) + e.text + out.slice(e.range[1]);
  return out;
}
