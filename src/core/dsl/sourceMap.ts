/**
 * Mapping an offset in a prompt's decoded text back to its place in the file, for diagnostics
 * inside escaped double-quoted, folded single-quoted, plain and block scalars.
 *
 * The mapper re-reads the value's source with the YAML scalar rules, recording where each decoded
 * character came from, and only trusts the result when its decoded text equals the record's text
 * (which comes from the YAML library); otherwise it falls back to the start of the value.
 */
import { LineIndex } from './positions';
import type { PromptRecord, SourcePosition } from './types';

let cache: { text: string; index: LineIndex } | undefined;
const maps = new WeakMap<PromptRecord, { text: string; offsets: number[] | null }>();

function lineIndex(text: string): LineIndex {
  if (!cache || cache.text !== text) cache = { text, index: new LineIndex(text) };
  return cache.index;
}

/**
 * The file position of character `decodedOffset` of `record.text` (clamped to [0, text.length];
 * the text's length maps to the end of the value's content). Without a range: line 1, column 1.
 */
export function sourceOffsetOf(record: PromptRecord, fileText: string, decodedOffset: number): SourcePosition {
  const idx = lineIndex(fileText);
  if (!record.range) return idx.position(0);
  let m = maps.get(record);
  if (!m || m.text !== fileText) {
    const built = buildMap(fileText, record.range.start.offset, record.range.end.offset);
    m = { text: fileText, offsets: built && built.decoded === record.text ? built.offsets : null };
    maps.set(record, m);
  }
  if (!m.offsets) return idx.position(record.range.start.offset);
  const k = Math.max(0, Math.min(Math.floor(decodedOffset), m.offsets.length - 1));
  return idx.position(m.offsets[k]);
}

interface Built {
  decoded: string;
  /** offsets[k] = file offset of decoded char k; one extra entry for the end. */
  offsets: number[];
}

/** Decodes the scalar in [start, end) of `src` with positions; undefined for aliases. */
export function buildMap(src: string, start: number, end: number): Built | undefined {
  const c = src[start];
  if (start === end) return { decoded: '', offsets: [start] };
  if (c === '*') return undefined;
  if (c === '"') return flow(src, start + 1, end - 1, true);
  if (c === "'") return flow(src, start + 1, end - 1, false);
  if (c === '|' || c === '>') return block(src, start, end);
  return flow(src, start, end, false, true);
}

const ESC: Record<string, string> = {
  '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b',
  ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029',
};

/** Flow scalars (double-quoted with escapes, single-quoted, plain) with YAML line folding. */
function flow(src: string, s: number, e: number, dq: boolean, plain = false): Built {
  let out = '';
  const offs: number[] = [];
  const push = (str: string, at: number) => {
    out += str;
    for (let k = 0; k < str.length; k++) offs.push(at);
  };
  let i = s;
  while (i < e) {
    const ch = src[i];
    if (dq && ch === '\\') {
      const n = src[i + 1];
      if (n === '\n' || (n === '\r' && src[i + 2] === '\n')) {
        i += n === '\r' ? 3 : 2;
        while (i < e && (src[i] === ' ' || src[i] === '\t')) i++;
        continue;
      }
      const hex = n === 'x' ? 2 : n === 'u' ? 4 : n === 'U' ? 8 : 0;
      if (hex) {
        push(String.fromCodePoint(parseInt(src.slice(i + 2, i + 2 + hex), 16)), i);
        i += 2 + hex;
      } else {
        push(ESC[n] ?? n, i);
        i += 2;
      }
      continue;
    }
    if (!dq && !plain && ch === "'" && src[i + 1] === "'") {
      push("'", i);
      i += 2;
      continue;
    }
    if (ch === ' ' || ch === '\t') {
      let j = i;
      while (j < e && (src[j] === ' ' || src[j] === '\t')) j++;
      if (j < e && (src[j] === '\n' || src[j] === '\r')) {
        i = j; // trailing blanks before a line break are not content
        continue;
      }
      for (let k = i; k < j; k++) push(src[k], k);
      i = j;
      continue;
    }
    if (ch === '\n' || ch === '\r') {
      const at = i;
      let breaks = 0;
      let j = i;
      // Count line breaks; blank lines in between count as empty lines.
      for (;;) {
        if (src[j] === '\r' && src[j + 1] === '\n') j += 2;
        else if (src[j] === '\n') j += 1;
        else break;
        breaks++;
        while (j < e && (src[j] === ' ' || src[j] === '\t')) j++;
      }
      if (breaks === 1) push(' ', at);
      else push('\n'.repeat(breaks - 1), at);
      i = j;
      continue;
    }
    push(ch, i);
    i++;
  }
  offs.push(e);
  return { decoded: out, offsets: offs };
}

/** Block scalars: literal `|` exactly, folded `>` with the common folding rules. */
function block(src: string, start: number, end: number): Built {
  const folded = src[start] === '>';
  const headerEnd = src.indexOf('\n', start);
  if (headerEnd === -1 || headerEnd >= end) return { decoded: '', offsets: [end] };
  const header = /^[|>]([1-9]?)([+-]?)([1-9]?)/.exec(src.slice(start, headerEnd)) ?? ['', '', '', ''];
  const digit = header[1] || header[3];
  const chomp = header[2];
  // The parent indentation: the key's column on the header line (after any `- ` sequence marks).
  const lineStart = src.lastIndexOf('\n', start - 1) + 1;
  let k = lineStart;
  for (;;) {
    while (src[k] === ' ') k++;
    if (src[k] === '-' && (src[k + 1] === ' ' || src[k + 1] === '\t')) k += 1;
    else break;
  }
  const parent = k - lineStart;
  const lines: { from: number; to: number }[] = [];
  let p = headerEnd + 1;
  while (p < end) {
    const nl = src.indexOf('\n', p);
    const to = nl === -1 || nl >= end ? end : nl;
    lines.push({ from: p, to: src[to - 1] === '\r' ? to - 1 : to });
    p = to + 1;
  }
  let indent = digit ? parent + Number(digit) : -1;
  if (indent < 0) {
    for (const l of lines) {
      const t = src.slice(l.from, l.to);
      if (t.trim() !== '') {
        indent = t.length - t.trimStart().length;
        break;
      }
    }
    if (indent < 0) indent = parent + 1;
  }
  let out = '';
  const offs: number[] = [];
  let pendingBreaks: number[] = [];
  let prevMoreIndented = true;
  let hadContent = false;
  for (const l of lines) {
    const isEmpty = l.to - l.from <= indent && src.slice(l.from, l.to).trim() === '';
    if (isEmpty) {
      pendingBreaks.push(l.to);
      continue;
    }
    const cs = l.from + indent;
    const moreIndented = src[cs] === ' ' || src[cs] === '\t';
    if (hadContent) {
      // The line break ending the previous content line, then the empty lines.
      const [first, ...rest] = pendingBreaks;
      if (folded && !prevMoreIndented && !moreIndented) {
        if (rest.length === 0) {
          out += ' ';
          offs.push(first);
        } else
          for (const b of rest) {
            out += '\n';
            offs.push(b);
          }
      } else
        for (const b of pendingBreaks) {
          out += '\n';
          offs.push(b);
        }
    } else
      for (const b of pendingBreaks) {
        out += '\n';
        offs.push(b);
      }
    pendingBreaks = [];
    for (let q = cs; q < l.to; q++) {
      out += src[q];
      offs.push(q);
    }
    pendingBreaks.push(l.to);
    hadContent = true;
    prevMoreIndented = moreIndented;
  }
  // Chomping of the final line break and trailing empty lines.
  if (chomp === '+') {
    for (const b of pendingBreaks) {
      out += '\n';
      offs.push(b);
    }
  } else if (chomp === '' && hadContent && pendingBreaks.length) {
    out += '\n';
    offs.push(pendingBreaks[0]);
  }
  offs.push(end);
  return { decoded: out, offsets: offs };
}
