/**
 * Test helper (nodeId is '' for app pre_prompt, as in EXPECTED.json): every non-empty prompt of the Dify corpus in test/fixtures/dify/*.yml, read with
 * the `yaml` package following the extraction contract of GUIDE §3 (the export-API wrapper
 * `{"data": "<yaml>"}` is unwrapped first).
 *
 * The lead will swap the body for the real DSL extractor; keep the signature.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

export interface CorpusPrompt {
  file: string;
  nodeId: string;
  kind: string;
  role: string | null;
  text: string;
}

/** Folder of the Dify fixtures (works from src `test/support` and compiled `out/test/support`). */
export function corpusDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'test', 'fixtures', 'dify');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('test/fixtures/dify not found above ' + __dirname);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

let cache: CorpusPrompt[] | undefined;

/** All non-empty prompt fields of every corpus file, in file order then document order. */
export function loadCorpusPrompts(): CorpusPrompt[] {
  if (cache) return cache;
  const dir = corpusDir();
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.yml'))
    .sort();
  const out: CorpusPrompt[] = [];
  for (const file of files) {
    let doc: unknown = parse(fs.readFileSync(path.join(dir, file), 'utf8'), { maxAliasCount: -1 });
    if (isObj(doc) && typeof doc.data === 'string' && Object.keys(doc).length === 1) {
      doc = parse(doc.data, { maxAliasCount: -1 });
    }
    if (!isObj(doc)) continue;
    const push = (nodeId: string, kind: string, role: string | null, text: string): void => {
      if (text !== '') out.push({ file, nodeId, kind, role, text });
    };
    const mc = doc.model_config;
    if (isObj(mc)) push('', 'app-pre-prompt', null, str(mc.pre_prompt));
    const wf = doc.workflow;
    const graph = isObj(wf) ? wf.graph : undefined;
    const nodes = isObj(graph) && Array.isArray(graph.nodes) ? graph.nodes : [];
    for (const node of nodes) {
      if (!isObj(node) || !isObj(node.data)) continue;
      const id = String(node.id ?? '');
      const data = node.data;
      const textOf = (m: Obj): string => str(data.edition_type === 'jinja2' || m.edition_type === 'jinja2' ? m.jinja2_text : m.text);
      switch (data.type) {
        case 'llm': {
          const pt = data.prompt_template;
          if (Array.isArray(pt)) {
            for (const m of pt) {
              if (!isObj(m) || typeof m.role !== 'string' || m.role === '') continue;
              push(id, 'llm-message', m.role, str(m.edition_type === 'jinja2' ? m.jinja2_text : m.text));
            }
          } else if (isObj(pt)) {
            push(id, 'llm-completion', null, textOf(pt));
          }
          break;
        }
        case 'question-classifier':
          push(id, 'classifier-instruction', null, str(data.instruction ?? data.instructions));
          break;
        case 'parameter-extractor':
          push(id, 'extractor-instruction', null, str(data.instruction));
          break;
        case 'agent': {
          const ap = data.agent_parameters;
          const ins = isObj(ap) ? ap.instruction : undefined;
          push(id, 'agent-instruction', null, isObj(ins) ? str(ins.value) : '');
          break;
        }
        default:
          break;
      }
    }
  }
  cache = out;
  return out;
}
