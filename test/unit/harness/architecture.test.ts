import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The house rules a reader relies on, checked on the sources (not the build): the core and the
 * CLI never load `vscode`; no two modules import each other, directly or around a loop (type-only
 * imports included: a loop is one concern split wrongly), between modules or between the rooms
 * (folders) of src/core; no module grows far past ~500 lines.
 */
const SRC = path.resolve(__dirname, '..', '..', '..', '..', 'src');
const MAX_LINES = 550;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** Module specifiers of static imports / re-exports, `require(…)` and `import(…)`. */
export function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/g)) out.push(m[1]!);
  for (const m of text.matchAll(/\b(?:require|import)\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) out.push(m[1]!);
  return out;
}

function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  return [`${base}.ts`, path.join(base, 'index.ts')].find((c) => fs.existsSync(c));
}

/** The strongly connected components of more than one module (Tarjan). */
export function cycles(graph: Map<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const c: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        c.push(w);
      } while (w !== v);
      if (c.length > 1) out.push(c.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('architecture: what the sources may import, and how big a module grows', () => {
  const files = sources(SRC);
  const text = new Map(files.map((f) => [f, fs.readFileSync(f, 'utf8')]));
  const rel = (f: string) => path.relative(SRC, f).split(path.sep).join('/');

  it('finds the sources and reads every kind of import (the checks below can fail)', () => {
    assert.ok(files.length > 100, `${files.length} sources under ${SRC}`);
    assert.deepEqual(specifiers("import type { A } from './a';\nexport { b } from \"./b\";\nimport './c';\nconst v = require('vscode');\nawait import('./d');"), ['./a', './b', './c', 'vscode', './d']);
    const loop = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]);
    assert.deepEqual(cycles(loop), [['a', 'b', 'c']]);
    assert.deepEqual(cycles(new Map([['a', ['b']], ['b', []]])), []);
  });

  it('src/core and src/cli never load vscode', () => {
    const bad = files.filter((f) => /^(core|cli)\//.test(rel(f)) && specifiers(text.get(f)!).some((s) => s === 'vscode' || s.startsWith('vscode/')));
    assert.deepEqual(bad.map(rel), []);
  });

  it('src/core never imports the extension or the CLI', () => {
    const bad = files.filter((f) => rel(f).startsWith('core/')).flatMap((f) =>
      specifiers(text.get(f)!)
        .map((s) => resolveLocal(f, s))
        .filter((t): t is string => !!t && !rel(t).startsWith('core/'))
        .map((t) => `${rel(f)} → ${rel(t)}`),
    );
    assert.deepEqual(bad, []);
  });

  it('no import cycles between modules (type-only imports included)', () => {
    const graph = new Map(files.map((f) => [f, [...new Set(specifiers(text.get(f)!).map((s) => resolveLocal(f, s)).filter((t): t is string => !!t))]]));
    assert.deepEqual(cycles(graph).map((c) => c.map(rel).join(' ↔ ')), []);
  });

  it('no two rooms of src/core (its folders) import each other, directly or around a loop', () => {
    const roomOf = (f: string) => {
      const parts = rel(f).split('/');
      return parts[0] === 'core' && parts.length > 2 ? parts[1]! : undefined;
    };
    const rooms = new Map<string, Set<string>>();
    for (const f of files) {
      const from = roomOf(f);
      if (!from) continue;
      for (const t of specifiers(text.get(f)!).map((sp) => resolveLocal(f, sp))) {
        const to = t && roomOf(t);
        if (to && to !== from) (rooms.get(from) ?? rooms.set(from, new Set()).get(from)!).add(to);
      }
    }
    assert.ok(rooms.size > 5, `${rooms.size} rooms`);
    const graph = new Map([...rooms].map(([k, v]) => [k, [...v]]));
    assert.deepEqual(cycles(graph).map((c) => c.join(' ↔ ')), []);
  });

  it(`no module past ${MAX_LINES} lines (split along its seams at ~500)`, () => {
    const big = files.map((f) => [rel(f), text.get(f)!.split('\n').length] as const).filter(([, n]) => n > MAX_LINES);
    assert.deepEqual(big, []);
  });
});
