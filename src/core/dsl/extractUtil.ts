/** Small helpers of the extractor: value descriptions, block scalar headers, model info. */
import type { ModelInfo } from './types';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (isObj(v)) return 'a mapping';
  if (typeof v === 'string') return 'a text';
  return `the ${typeof v} ${String(v)}`;
}

/**
 * Start of a block scalar's header (`|`, `>-`, `|2+` …). js-yaml reports the content start, which
 * is the line after the header; the header is the first `|`/`>` on that previous line after the
 * key that is followed only by indicators, blanks and an optional comment.
 */
export function blockHeaderStart(src: string, contentStart: number, keyEnd: number): number {
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

export function modelOf(m: unknown): ModelInfo | undefined {
  if (!isObj(m)) return undefined;
  const out: ModelInfo = {};
  if (m.provider != null) out.provider = String(m.provider);
  if (m.name != null) out.name = String(m.name);
  if (m.mode != null) out.mode = String(m.mode);
  return Object.keys(out).length ? out : undefined;
}

export function agentModelOf(v: unknown): ModelInfo | undefined {
  if (!isObj(v)) return undefined;
  const out: ModelInfo = {};
  if (v.provider != null) out.provider = String(v.provider);
  if (v.model != null) out.name = String(v.model);
  else if (v.name != null) out.name = String(v.name);
  if (v.mode != null) out.mode = String(v.mode);
  return Object.keys(out).length ? out : undefined;
}
