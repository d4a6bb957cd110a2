/**
 * PyYAML's scalar emitter, re-implemented so a write-back writes a prompt as Dify's exporter
 * (`yaml.dump(..., allow_unicode=True)`, PyYAML) would: the same style, line splitting at width 80,
 * escapes and indentation. Ported from the algorithm of PyYAML's lib/yaml/emitter.py
 * (`analyze_scalar`, `choose_scalar_style`, `write_plain`, `write_single_quoted`,
 * `write_double_quoted`, `write_literal`, `write_folded`, `determine_block_hints`) and the implicit
 * resolvers of lib/yaml/resolver.py (a plain scalar must read back as a string).
 *
 * Texts are handled as code points (Python's `str`), so columns count code points as PyYAML does.
 */

export type PyStyle = 'plain' | 'single' | 'double' | 'literal' | 'folded';

export interface ScalarAnalysis {
  empty: boolean;
  multiline: boolean;
  allowFlowPlain: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
  allowDoubleQuoted: boolean;
  allowBlock: boolean;
}

const BREAKS = '\n\x85\u2028\u2029';
const WS_OR_BREAK = '\0 \t\r\n\x85\u2028\u2029';

function isUnicodePrintable(c: number): boolean {
  return c === 0x85 || (c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c < 0x10ffff);
}

/** PyYAML's `Emitter.analyze_scalar`. */
export function analyzeScalar(scalar: string, allowUnicode: boolean): ScalarAnalysis {
  const s = Array.from(scalar);
  if (s.length === 0) {
    return { empty: true, multiline: false, allowFlowPlain: false, allowBlockPlain: true, allowSingleQuoted: true, allowDoubleQuoted: true, allowBlock: false };
  }
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (scalar.startsWith('---') || scalar.startsWith('...')) {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWs = true;
  let followedByWs = s.length === 1 || WS_OR_BREAK.includes(s[1]);
  let previousSpace = false;
  let previousBreak = false;
  for (let index = 0; index < s.length; ) {
    const ch = s[index];
    if (index === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) {
        flowIndicators = true;
        blockIndicators = true;
      }
      if (ch === '?' || ch === ':') {
        flowIndicators = true;
        if (followedByWs) blockIndicators = true;
      }
      if (ch === '-' && followedByWs) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else {
      if (',?[]{}'.includes(ch)) flowIndicators = true;
      if (ch === ':') {
        flowIndicators = true;
        if (followedByWs) blockIndicators = true;
      }
      if (ch === '#' && precededByWs) {
        flowIndicators = true;
        blockIndicators = true;
      }
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    const c = ch.codePointAt(0)!;
    if (!(ch === '\n' || (c >= 0x20 && c <= 0x7e))) {
      if (isUnicodePrintable(c) && c !== 0xfeff) {
        if (!allowUnicode) special = true;
      } else special = true;
    }
    if (ch === ' ') {
      if (index === 0) leadingSpace = true;
      if (index === s.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === s.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    index++;
    precededByWs = WS_OR_BREAK.includes(ch);
    followedByWs = index + 1 >= s.length || WS_OR_BREAK.includes(s[index + 1]);
  }
  const a = { empty: false, multiline: lineBreaks, allowFlowPlain: true, allowBlockPlain: true, allowSingleQuoted: true, allowDoubleQuoted: true, allowBlock: true };
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.allowFlowPlain = a.allowBlockPlain = false;
  if (trailingSpace) a.allowBlock = false;
  if (breakSpace) a.allowFlowPlain = a.allowBlockPlain = a.allowSingleQuoted = false;
  if (spaceBreak || special) a.allowFlowPlain = a.allowBlockPlain = a.allowSingleQuoted = a.allowBlock = false;
  if (lineBreaks) a.allowFlowPlain = a.allowBlockPlain = false;
  if (flowIndicators) a.allowFlowPlain = false;
  if (blockIndicators) a.allowBlockPlain = false;
  return a;
}

// PyYAML's implicit resolvers (lib/yaml/resolver.py); Python's `$` also matches before a final '\n'.
const IMPLICIT = [
  /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)\n?$/,
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\n?$/,
  /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\n?$/,
  /^(?:<<)\n?$/,
  /^(?:~|null|Null|NULL|)\n?$/,
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)\n?$/,
  /^(?:=)\n?$/,
];

/** Whether a plain scalar with this text reads back as a string (PyYAML's `implicit[0]`). */
export function plainResolvesToString(text: string): boolean {
  return !IMPLICIT.some((re) => re.test(text));
}

/**
 * PyYAML's `choose_scalar_style` for a value in a block mapping (not a simple key, not in a flow
 * collection), when the original scalar had `requested` style. `undefined` asks for what
 * `yaml.dump` picks for a str with no style (plain, else single-quoted, else double-quoted).
 */
export function chooseStyle(text: string, requested: PyStyle | undefined, allowUnicode: boolean): PyStyle {
  const a = analyzeScalar(text, allowUnicode);
  if (requested === 'double') return 'double';
  if ((requested === undefined || requested === 'plain') && plainResolvesToString(text) && a.allowBlockPlain) return 'plain';
  if ((requested === 'literal' || requested === 'folded') && a.allowBlock) return requested;
  if ((requested === undefined || requested === 'plain' || requested === 'single') && a.allowSingleQuoted) return 'single';
  return 'double';
}

export interface EmitOptions {
  /** Column (code points) where the scalar starts: after `key: `. */
  column: number;
  /** Indentation of continuation lines / block content (PyYAML: the key's column + 2). */
  indent: number;
  /** The parent mapping's indentation (the key's column); block indentation indicators are relative to it. */
  parentIndent: number;
  allowUnicode: boolean;
  /** Line break written for '\n' (the file's own). */
  eol?: string;
  width?: number;
}

const ESCAPES: Record<string, string> = {
  '\0': '0', '\x07': 'a', '\x08': 'b', '\t': 't', '\n': 'n', '\x0b': 'v', '\x0c': 'f', '\r': 'r',
  '\x1b': 'e', '"': '"', '\\': '\\', '\x85': 'N', '\xa0': '_', '\u2028': 'L', '\u2029': 'P',
};

/** The emitter's state while one scalar is written. */
class Writer {
  out = '';
  column: number;
  whitespace = false;
  indention = false;
  constructor(readonly o: EmitOptions, readonly width: number, readonly eol: string) {
    this.column = o.column;
  }
  write(data: string, len = Array.from(data).length): void {
    this.out += data;
    this.column += len;
  }
  /** PyYAML's `write_indicator` (the separating space after `key:` is already in the file). */
  indicator(ind: string): void {
    this.write(ind);
    this.whitespace = false;
    this.indention = false;
  }
  lineBreak(data?: string): void {
    this.out += data === undefined || data === '\n' ? this.eol : data;
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
  }
  indent(): void {
    const indent = this.o.indent;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.lineBreak();
    if (this.column < indent) {
      this.whitespace = true;
      this.out += ' '.repeat(indent - this.column);
      this.column = indent;
    }
  }
}

/** Writes `text` in `style` as PyYAML's emitter does (the scalar only: from its first byte). */
export function emitScalar(text: string, style: PyStyle, o: EmitOptions): string {
  const w = new Writer(o, o.width ?? 80, o.eol ?? '\n');
  const t = Array.from(text);
  if (style === 'double') writeDoubleQuoted(w, t, o.allowUnicode);
  else if (style === 'single') writeSingleQuoted(w, t);
  else if (style === 'plain') writePlain(w, t);
  else writeBlock(w, t, style === 'folded', o.indent - o.parentIndent);
  return w.out;
}

function writeDoubleQuoted(w: Writer, text: string[], allowUnicode: boolean): void {
  w.indicator('"');
  let start = 0;
  let end = 0;
  const n = text.length;
  while (end <= n) {
    const ch = end < n ? text[end] : undefined;
    const c = ch === undefined ? -1 : ch.codePointAt(0)!;
    if (
      ch === undefined ||
      '"\\\x85\u2028\u2029\ufeff'.includes(ch) ||
      !((c >= 0x20 && c <= 0x7e) || (allowUnicode && ((c >= 0xa0 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd))))
    ) {
      if (start < end) {
        w.write(text.slice(start, end).join(''), end - start);
        start = end;
      }
      if (ch !== undefined) {
        let data: string;
        if (ch in ESCAPES) data = `\\${ESCAPES[ch]}`;
        else if (c <= 0xff) data = `\\x${c.toString(16).toUpperCase().padStart(2, '0')}`;
        else if (c <= 0xffff) data = `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
        else data = `\\U${c.toString(16).toUpperCase().padStart(8, '0')}`;
        w.write(data, data.length);
        start = end + 1;
      }
    }
    if (end > 0 && end < n - 1 && (ch === ' ' || start >= end) && w.column + (end - start) > w.width) {
      const data = `${text.slice(start, end).join('')}\\`;
      const len = end - start + 1;
      if (start < end) start = end;
      w.write(data, len);
      w.indent();
      w.whitespace = false;
      w.indention = false;
      if (text[start] === ' ') w.write('\\', 1);
    }
    end++;
  }
  w.indicator('"');
}

function writeSingleQuoted(w: Writer, text: string[]): void {
  w.indicator("'");
  let spaces = false;
  let breaks = false;
  let start = 0;
  let end = 0;
  const n = text.length;
  while (end <= n) {
    const ch = end < n ? text[end] : undefined;
    if (spaces) {
      if (ch === undefined || ch !== ' ') {
        if (start + 1 === end && w.column > w.width && start !== 0 && end !== n) w.indent();
        else w.write(text.slice(start, end).join(''), end - start);
        start = end;
      }
    } else if (breaks) {
      if (ch === undefined || !BREAKS.includes(ch)) {
        if (text[start] === '\n') w.lineBreak();
        for (const br of text.slice(start, end)) w.lineBreak(br);
        w.indent();
        start = end;
      }
    } else if (ch === undefined || ' \n\x85\u2028\u2029'.includes(ch) || ch === "'") {
      if (start < end) {
        w.write(text.slice(start, end).join(''), end - start);
        start = end;
      }
    }
    if (ch === "'") {
      w.write("''", 2);
      start = end + 1;
    }
    if (ch !== undefined) {
      spaces = ch === ' ';
      breaks = BREAKS.includes(ch);
    }
    end++;
  }
  w.indicator("'");
}

function writePlain(w: Writer, text: string[]): void {
  if (text.length === 0) return;
  w.whitespace = false;
  w.indention = false;
  let spaces = false;
  let breaks = false;
  let start = 0;
  let end = 0;
  const n = text.length;
  while (end <= n) {
    const ch = end < n ? text[end] : undefined;
    if (spaces) {
      if (ch !== ' ') {
        if (start + 1 === end && w.column > w.width) {
          w.indent();
          w.whitespace = false;
          w.indention = false;
        } else w.write(text.slice(start, end).join(''), end - start);
        start = end;
      }
    } else if (breaks) {
      if (ch === undefined || !BREAKS.includes(ch)) {
        if (text[start] === '\n') w.lineBreak();
        for (const br of text.slice(start, end)) w.lineBreak(br);
        w.indent();
        w.whitespace = false;
        w.indention = false;
        start = end;
      }
    } else if (ch === undefined || ' \n\x85\u2028\u2029'.includes(ch)) {
      w.write(text.slice(start, end).join(''), end - start);
      start = end;
    }
    if (ch !== undefined) {
      spaces = ch === ' ';
      breaks = BREAKS.includes(ch);
    }
    end++;
  }
}

/** PyYAML's `determine_block_hints` with the indentation indicator given. */
function blockHints(text: string[], indicator: number): string {
  let hints = '';
  if (text.length > 0) {
    if (' \n\x85\u2028\u2029'.includes(text[0])) hints += String(indicator);
    if (!BREAKS.includes(text[text.length - 1])) hints += '-';
    else if (text.length === 1 || BREAKS.includes(text[text.length - 2])) hints += '+';
  }
  return hints;
}

/** PyYAML's `write_literal` / `write_folded`. */
function writeBlock(w: Writer, text: string[], folded: boolean, indicator: number): void {
  w.indicator((folded ? '>' : '|') + blockHints(text, indicator));
  w.lineBreak();
  let leadingSpace = true;
  let spaces = false;
  let breaks = true;
  let start = 0;
  let end = 0;
  const n = text.length;
  while (end <= n) {
    const ch = end < n ? text[end] : undefined;
    if (breaks) {
      if (ch === undefined || !BREAKS.includes(ch)) {
        if (folded && !leadingSpace && ch !== undefined && ch !== ' ' && text[start] === '\n') w.lineBreak();
        leadingSpace = ch === ' ';
        for (const br of text.slice(start, end)) w.lineBreak(br);
        if (ch !== undefined) w.indent();
        start = end;
      }
    } else if (folded && spaces) {
      if (ch !== ' ') {
        if (start + 1 === end && w.column > w.width) w.indent();
        else w.write(text.slice(start, end).join(''), end - start);
        start = end;
      }
    } else if (ch === undefined || (folded ? ' \n\x85\u2028\u2029' : BREAKS).includes(ch)) {
      // write_literal does not advance the column (PyYAML); write_folded does.
      if (folded) w.write(text.slice(start, end).join(''), end - start);
      else w.out += text.slice(start, end).join('');
      if (ch === undefined) w.lineBreak();
      start = end;
    }
    if (ch !== undefined) {
      breaks = BREAKS.includes(ch);
      spaces = ch === ' ';
    }
    end++;
  }
}
