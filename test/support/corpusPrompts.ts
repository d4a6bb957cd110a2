/**
 * Test helper (nodeId is '' for app-level fields, as in EXPECTED.json): the non-empty prompts of
 * the Dify corpus in test/fixtures/dify/ (*.yml, *.yaml), read with the real DSL extractor
 * (contract v2; the export-API wrapper `{"data": "<yaml>"}` is unwrapped by it).
 *
 * By default only the kinds of contract v1 (messages, completion prompts, node instructions, app
 * pre-prompts): the instruction-like texts the analysis and rule calibrations are made for.
 * `{ all: true }` gives every kind (query templates, agent queries, labels…).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseDify } from '../../src/core/dsl/parse';

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

const V1_KINDS = new Set(['llm-message', 'llm-completion', 'classifier-instruction', 'extractor-instruction', 'agent-instruction', 'app-pre-prompt']);

let cache: CorpusPrompt[] | undefined;

/** Non-empty prompt fields of every corpus file, in file order then document order. */
export function loadCorpusPrompts(opts: { all?: boolean } = {}): CorpusPrompt[] {
  if (!cache) {
    const dir = corpusDir();
    const files = fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
    const out: CorpusPrompt[] = [];
    for (const file of files) {
      const doc = parseDify(fs.readFileSync(path.join(dir, file), 'utf8'), { file });
      for (const p of doc.prompts) {
        if (p.text !== '') out.push({ file, nodeId: p.nodeId === 'app' ? '' : p.nodeId, kind: p.kind, role: p.role, text: p.text });
      }
    }
    cache = out;
  }
  return opts.all ? cache : cache.filter((p) => V1_KINDS.has(p.kind));
}
