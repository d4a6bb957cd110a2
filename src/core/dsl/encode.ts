/**
 * Encoding a prompt text as a YAML scalar that decodes to exactly that text.
 *
 * Two forms: a block literal (`|`, `|-`, `|+`, with an indentation indicator when the text starts
 * with a blank or a line break) where that is safe, else a one-line double-quoted scalar with
 * escapes, which is valid anywhere (block or flow context) and for every string.
 */
import { getScalarValue, parseEvents, EVENT_SCALAR, type Event } from 'js-yaml';

/** Characters that must be escaped in YAML (non-printable, BOM, line separators, NEL, lone surrogates). */
const NEEDS_ESCAPE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * A one-line YAML double-quoted scalar for `text` (quotes included). With `json`, only escapes
 * JSON also has (`\uXXXX` instead of `\0`, `\xXX`), so a JSON file stays valid JSON.
 */
export function encodeDoubleQuoted(text: string, json = false): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const ch = text[i];
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (json && (c < 0x20 || (c >= 0x7f && c <= 0x9f))) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
    else if (c === 0) out += '\\0';
    else if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) out += `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (c === 0x2028 || c === 0x2029 || c === 0xfeff || c === 0xfffe || c === 0xffff) out += `\\u${c.toString(16).toUpperCase()}`;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += ch + text[i + 1];
        i++;
      } else out += `\\u${c.toString(16).toUpperCase()}`;
    } else if (c >= 0xdc00 && c <= 0xdfff) out += `\\u${c.toString(16).toUpperCase()}`;
    else out += ch;
  }
  return `${out}"`;
}

export type Chomping = 'strip' | 'clip' | 'keep';

/** Whether `text` can be written as a block literal at all (independent of where it goes). */
export function blockLiteralSafe(text: string): boolean {
  if (!/\S/.test(text)) return false; // empty or blank-only: a block literal would be ambiguous
  if (text.includes('\r') || NEEDS_ESCAPE.test(text)) return false;
  // A blank line made of spaces/tabs is read differently by different parsers near the end of a block.
  if (/(?:^|\n)[ \t]+(?:\n|$)/.test(text)) return false;
  return true;
}

export function chompingOf(text: string): Chomping {
  if (!text.endsWith('\n')) return 'strip';
  return text.endsWith('\n\n') ? 'keep' : 'clip';
}

/**
 * A block literal: header (`|2-` …) + line break + the indented lines, each ending with `eol`.
 * `contentIndent` is the column of the content; `parentIndent` the key's column.
 */
export function encodeBlockLiteral(text: string, parentIndent: number, eol = '\n'): string {
  const contentIndent = parentIndent + 2;
  const chomp = chompingOf(text);
  const body = chomp === 'strip' ? text : text.slice(0, -1);
  const needsIndicator = /^[ \t\n]/.test(text);
  const header = `|${needsIndicator ? '2' : ''}${chomp === 'strip' ? '-' : chomp === 'keep' ? '+' : ''}`;
  const pad = ' '.repeat(contentIndent);
  const lines = body.split('\n').map((l) => (l === '' ? '' : pad + l));
  return header + eol + lines.join(eol) + eol;
}

/**
 * Decodes `encoded` as the value of a key at column `keyColumn`, with js-yaml, so an encoding can
 * be checked before it goes into a file. Returns undefined when the snippet is not valid YAML.
 */
export function decodeAsValue(encoded: string, keyColumn: number): string | undefined {
  const snippet = `${' '.repeat(keyColumn)}k: ${encoded}${encoded.endsWith('\n') ? '' : '\n'}`;
  let events: Event[];
  try {
    events = parseEvents(snippet, {});
  } catch {
    return undefined;
  }
  let seen = 0;
  for (const e of events) {
    if (e.type === EVENT_SCALAR && ++seen === 2) return getScalarValue(snippet, e);
  }
  return undefined;
}
