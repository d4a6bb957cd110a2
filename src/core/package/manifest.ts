import { isAlias, isMap, isScalar, isSeq, parseDocument, visit, type Document, type Scalar } from 'yaml';
import { DslError } from '../errors';

/**
 * `manifest.yaml` of an app package, checked as Dify's `AppPackageManifest` (pydantic,
 * `extra="forbid"`) checks it: langgenius/dify `api/services/app_package_service.py` and
 * `api/services/agent/roster_package_entities.py` (`RosterAgentPackageApp`,
 * `RosterAgentPackageSkill`, `RosterAgentPackageFile`). The YAML is read as Dify's
 * `_PackageYamlLoader` reads it: no aliases, no duplicate keys, string keys only.
 */

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

/** Parses the manifest's YAML as Dify's strict loader does. */
export function parseManifestYaml(text: string, file: string): Document.Parsed {
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) throw invalid(file, doc.errors[0].message.split('\n')[0]);
  visit(doc, {
    Alias() {
      throw invalid(file, 'it uses a YAML alias');
    },
    Pair(_, pair) {
      if (!isScalar(pair.key) || typeof pair.key.value !== 'string') throw invalid(file, 'a mapping key is not a string');
    },
  });
  return doc;
}

/** The `format` of a manifest, or undefined; read before the app checks (a roster agent is told apart by it). */
export function manifestFormat(doc: Document.Parsed): unknown {
  const root = doc.contents;
  return isMap(root) ? root.get('format') : undefined;
}

function checkKeys(m: unknown, allowed: string[], where: string, file: string): void {
  if (!isMap(m)) throw invalid(file, `${where} is not a mapping`);
  for (const it of m.items) {
    const k = String((it.key as Scalar).value);
    if (!allowed.includes(k)) throw invalid(file, `${where} has an unexpected key ${JSON.stringify(k)}`);
  }
}

function str(m: unknown, key: string, where: string, file: string, opts: { min?: number; max?: number; optional?: boolean } = {}): string | undefined {
  const v = isMap(m) ? m.get(key) : undefined;
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string') throw invalid(file, `${where}.${key} is ${v === undefined ? 'missing' : 'not a string'}`);
  if (opts.min !== undefined && v.length < opts.min) throw invalid(file, `${where}.${key} is too short`);
  if (opts.max !== undefined && v.length > opts.max) throw invalid(file, `${where}.${key} is longer than ${opts.max} characters`);
  return v;
}

function resource(node: unknown, kind: ManifestResource['kind'], where: string, file: string): ManifestResource {
  const common = ['path', 'size', 'sha256', 'audit'];
  const extra =
    kind === 'app'
      ? []
      : kind === 'skill'
        ? ['id', 'scope', 'name', 'display_name', 'description', 'priority', 'mime_type']
        : ['id', 'role', 'original_name', 'mime_type', 'platform', 'arch'];
  checkKeys(node, [...common, ...extra], where, file);
  const m = node as import('yaml').YAMLMap;
  const p = str(m, 'path', where, file, { min: 1, max: 255 }) as string;
  const size = m.get('size');
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) throw invalid(file, `${where}.size is not a whole number of bytes`);
  const sha = str(m, 'sha256', where, file) as string;
  if (!SHA256.test(sha)) throw invalid(file, `${where}.sha256 is not a lowercase SHA-256 digest`);
  if (kind === 'app') {
    if (p.includes('/') || p.includes('\\') || !(p.endsWith('.yaml') || p.endsWith('.yml'))) throw invalid(file, `${where}.path must be a root-level YAML member`);
    if (p.toLowerCase() === 'manifest.yaml') throw invalid(file, `${where}.path must not be the manifest's name`);
  } else {
    const id = str(m, 'id', where, file) as string;
    if (kind === 'skill') {
      if (!/^s_[0-9]{6}$/.test(id)) throw invalid(file, `${where}.id is not a skill id (s_000001)`);
      if (p !== `${id}.zip`) throw invalid(file, `${where}.path must be the skill id with .zip`);
      str(m, 'name', where, file, { min: 1, max: 64 });
      const scope = m.get('scope');
      if (scope !== 'agent_config' && scope !== 'workspace') throw invalid(file, `${where}.scope is not agent_config or workspace`);
    } else {
      if (!/^f_[0-9]{6}$/.test(id)) throw invalid(file, `${where}.id is not a file id (f_000001)`);
      if (p === id || !p.startsWith(`${id}.`) || p.includes('/') || p.includes('\\')) throw invalid(file, `${where}.path must start with the file id and have an extension`);
      const role = m.get('role');
      if (role !== 'agent_config_file' && role !== 'binary_dependency') throw invalid(file, `${where}.role is not agent_config_file or binary_dependency`);
      str(m, 'original_name', where, file, { min: 1, max: 255 });
    }
  }
  return { path: p, size, sha256: sha, kind };
}

/** Checks a `format: dify.app` manifest and locates its app entry's `size` and `sha256` values. */
export function checkAppManifest(doc: Document.Parsed, text: string, file: string): Manifest {
  const root = doc.contents;
  checkKeys(root, ['format', 'format_version', 'apps', 'agent_resources'], 'the manifest', file);
  const m = root as import('yaml').YAMLMap;
  if (m.get('format') !== 'dify.app') throw invalid(file, '`format` is not "dify.app"');
  if (m.get('format_version') !== 1) throw invalid(file, '`format_version` is not 1');
  const apps = m.get('apps', true);
  if (!isSeq(apps)) throw invalid(file, '`apps` is not a list');
  if (apps.items.length !== 1) throw invalid(file, `\`apps\` holds ${apps.items.length} entries; an app package holds exactly one`);
  const appNode = apps.items[0];
  const app = resource(appNode, 'app', 'apps[0]', file);
  const resources: ManifestResource[] = [];
  const ids = new Set<string>();
  const groups = m.get('agent_resources', true);
  if (groups !== undefined && groups !== null && !(isScalar(groups) && groups.value === null)) {
    if (!isMap(groups)) throw invalid(file, '`agent_resources` is not a mapping');
    for (const g of groups.items) {
      const ref = String((g.key as Scalar).value);
      checkKeys(g.value, ['skills', 'files'], `agent_resources.${ref}`, file);
      for (const [key, kind] of [['skills', 'skill'], ['files', 'file']] as const) {
        const list = (g.value as import('yaml').YAMLMap).get(key, true);
        if (list === undefined) continue;
        if (!isSeq(list)) throw invalid(file, `agent_resources.${ref}.${key} is not a list`);
        list.items.forEach((it, i) => {
          const r = resource(it, kind, `agent_resources.${ref}.${key}[${i}]`, file);
          const id = String((it as import('yaml').YAMLMap).get('id'));
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
  const sizeNode = (appNode as import('yaml').YAMLMap).get('size', true) as Scalar;
  const shaNode = (appNode as import('yaml').YAMLMap).get('sha256', true) as Scalar;
  if (isAlias(sizeNode) || isAlias(shaNode) || !sizeNode.range || !shaNode.range) throw invalid(file, 'the app entry cannot be located');
  return {
    format: 'dify.app',
    app,
    resources,
    text,
    sizeRange: [sizeNode.range[0], sizeNode.range[1]],
    shaRange: [shaNode.range[0], shaNode.range[1]],
  };
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
