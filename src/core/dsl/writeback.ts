/**
 * Format-preserving write-back: replace the values of some prompts and leave every other byte
 * of the file as it was (comments, key order, quoting of untouched values).
 */
import { DslError } from '../errors';
import { blockLiteralSafe, chompingOf, decodeAsValue, encodeBlockLiteral, encodeDoubleQuoted } from './encode';
import { chooseStyle, emitScalar, type EmitOptions, type PyStyle } from './emitter';
import { parseDify, slotsOf, type DifyDocument, type ValueSlot } from './parse';

export interface PromptEdit {
  /** PromptRecord.id */
  id: string;
  /** The new decoded text. */
  text: string;
}

export interface ReplaceOptions {
  file?: string;
  /**
   * Re-parse the result and check every prompt (edited ones hold the new text, others are
   * unchanged). Default: true when given text, false when given an already parsed document.
   */
  verify?: boolean;
}

/**
 * Returns the new file text with the given prompts replaced. Only the bytes of the replaced
 * values change; edits that keep a prompt's text are no-ops (the file comes back byte-identical). Accepts the file text, or a document from `parseDify` (faster: no re-parse).
 * Throws DslError: DSL_UNKNOWN_PROMPT (naming the id), DSL_WRITE_UNSUPPORTED (export-API JSON
 * wrapper, a field missing from the file, a value shared through a YAML alias),
 * DSL_PATCH_INVALID (the same prompt twice, or a failed check), and parse errors.
 */
export function replacePrompts(source: string | DifyDocument, edits: PromptEdit[], opts: ReplaceOptions = {}): string {
  const doc = typeof source === 'string' ? parseDify(source, { file: opts.file }) : source;
  const file = opts.file ?? doc.file;
  const verify = opts.verify ?? typeof source === 'string';
  const changes = edits.some((e) => doc.prompts.find((p) => p.id === e.id)?.text !== e.text);
  if (doc.app.wrapped && changes) {
    throw new DslError(
      'DSL_WRITE_UNSUPPORTED',
      'This file is the export API\'s JSON wrapper ({"data": "<yaml>"}); writing prompts back into it is not supported. Save the YAML inside `data` as a .yml file and edit that.',
      { file },
    );
  }
  const slots = slotsOf(doc);
  const text = doc.text;
  const seen = new Set<string>();
  const patches: { start: number; end: number; value: string; id: string }[] = [];
  for (const edit of edits) {
    if (seen.has(edit.id)) {
      throw new DslError('DSL_PATCH_INVALID', `Prompt ${edit.id} is edited twice in one write-back.`, { file, promptId: edit.id });
    }
    seen.add(edit.id);
    const rec = doc.prompts.find((p) => p.id === edit.id);
    if (!rec) {
      throw new DslError('DSL_UNKNOWN_PROMPT', `There is no prompt with id "${edit.id}" in this file.`, { file, promptId: edit.id });
    }
    if (typeof edit.text !== 'string') {
      throw new DslError('DSL_PATCH_INVALID', `The new text of prompt ${edit.id} is not a string.`, { file, promptId: edit.id });
    }
    if (edit.text === rec.text) continue;
    const slot = slots?.get(rec.id);
    if (!slot || slot.style === 'missing') {
      throw new DslError('DSL_WRITE_UNSUPPORTED', `Prompt ${rec.id} has no value in the file (the field \`${rec.yamlPath.join('.')}\` is missing), so there is nothing to replace.`, { file, promptId: rec.id });
    }
    if (slot.shared) {
      const lc = `line ${rec.range?.start.line}, column ${rec.range?.start.column}`;
      const why = slot.sharedNote ?? 'is shared with another field through a YAML alias';
      throw new DslError(
        'DSL_WRITE_UNSUPPORTED',
        `Prompt ${rec.id} (\`${rec.yamlPath.join('.')}\` at ${lc}) ${why}; replacing it would change the other place too, so nothing was written. Give each field its own text in the file (replace the alias with a copy of the text), then edit it.`,
        { file, promptId: rec.id },
      );
    }
    const value = encodeFor(text, slot, edit.text, rec.text);
    if (value === undefined) {
      throw new DslError('DSL_PATCH_INVALID', `Could not encode the new text of prompt ${rec.id} as YAML.`, { file, promptId: rec.id });
    }
    patches.push({ start: slot.start, end: slot.end, value, id: rec.id });
  }
  if (patches.length === 0) return doc.fileText ?? text;
  patches.sort((a, b) => a.start - b.start);
  const parts: string[] = [];
  let last = 0;
  for (const p of patches) {
    if (p.start < last) {
      throw new DslError('DSL_PATCH_INVALID', `Prompt ${p.id} overlaps another edited prompt in the file.`, { file, promptId: p.id });
    }
    parts.push(text.slice(last, p.start), p.value);
    last = p.end;
  }
  parts.push(text.slice(last));
  const out = parts.join('');
  if (verify) verifyResult(doc, out, edits, file);
  return out;
}

/**
 * Encoded replacement for one slot. A scalar of the file's own style (plain, single-quoted,
 * double-quoted, literal, folded) is rewritten in that style exactly as PyYAML's emitter writes
 * it (Dify exports with `yaml.dump`), with the file's indentation and its `allow_unicode` choice,
 * so setting a prompt's old text back restores the file's bytes. Where that style cannot hold the
 * text (or when the original is in the style yaml.dump picks for its text, so the file was written by
 * PyYAML), the style PyYAML would choose; in flow mappings and JSON files a one-line double-quoted scalar.
 */
export function encodeFor(text: string, slot: ValueSlot, value: string, old?: string): string | undefined {
  if (!slot.inFlow && !slot.json) {
    const enc = encodePyYaml(text, slot, value, old);
    if (enc !== undefined) return enc;
  }
  return encodeLegacy(text, slot, value);
}

const PY_STYLES: Partial<Record<ValueSlot['style'], PyStyle>> = { plain: 'plain', single: 'single', double: 'double', literal: 'literal', folded: 'folded' };

function encodePyYaml(text: string, slot: ValueSlot, value: string, old: string | undefined): string | undefined {
  const eol = eolAt(text, slot.start);
  const isBlockOriginal = slot.style === 'literal' || slot.style === 'folded';
  const endsWithBreak = isBlockOriginal && slot.end > slot.start && text[slot.end - 1] === '\n';
  const allowUnicode = allowUnicodeFor(text, slot, value, old);
  const lineStart = text.lastIndexOf('\n', slot.start - 1) + 1;
  const lead = slot.style === 'empty' ? ' ' : '';
  const column = codePoints(text.slice(lineStart, slot.start)) + lead.length;
  const indent = originalIndent(text, slot) ?? slot.keyColumn + 2;
  const original = PY_STYLES[slot.style];
  let requested = original;
  // A scalar in the style yaml.dump picks for its text was written by PyYAML (Dify's exporter,
  // which never asks for a style): the new text gets the style yaml.dump picks for it.
  if (old !== undefined && original !== undefined && chooseStyle(old, undefined, allowUnicode) === original) requested = undefined;
  let style = chooseStyle(value, requested, allowUnicode);
  if ((style === 'literal' || style === 'folded') && !blockFits(text, slot, value, true)) style = 'double';
  const opts: EmitOptions = { column, indent, parentIndent: slot.keyColumn, allowUnicode, eol };
  if (old !== undefined && original !== undefined) opts.width = widthOf(text, slot, old, original, opts);
  const enc = emitScalar(value, style, opts);
  const isBlock = style === 'literal' || style === 'folded';
  if (decodeAsValue(isBlock ? enc : enc + eol, slot.keyColumn) !== value) return undefined;
  return lead + enc + (!isBlock && endsWithBreak ? eol : '');
}

/**
 * The line width the original scalar was written with: PyYAML's 80 when emitting the old text
 * that way gives the file's bytes, else unlimited (one line, e.g. a hand-written file) or the
 * width that reproduces them; 80 when none does.
 */
function widthOf(text: string, slot: ValueSlot, old: string, style: PyStyle, opts: EmitOptions): number {
  if (style === 'literal') return 80;
  const bytes = text.slice(slot.start, slot.end);
  const gives = (width: number): boolean => emitScalar(old, style, { ...opts, width }) === bytes;
  if (gives(80)) return 80;
  if (gives(Infinity)) return Infinity;
  if (!bytes.includes('\n')) return 80;
  if (old.length <= 100000) {
    for (let width = 20; width <= 240; width++) if (width !== 80 && gives(width)) return width;
  }
  return 80;
}

// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * PyYAML's `allow_unicode` as this file shows it. Only non-ASCII text depends on it, so the file is
 * scanned only then (a 10 MB file costs about 10 ms).
 */
function allowUnicodeFor(text: string, slot: ValueSlot, value: string, old: string | undefined): boolean {
  if (!NON_ASCII.test(value) && !(old !== undefined && NON_ASCII.test(old))) return true;
  if (NON_ASCII.test(text.slice(slot.start, slot.end))) return true;
  return fileAllowsUnicode(text);
}

/** Whether the file shows `allow_unicode=True` (raw non-ASCII) or not (only `\uXXXX` escapes). */
function fileAllowsUnicode(text: string): boolean {
  if (Buffer.byteLength(text, 'utf8') !== text.length) return true;
  // PyYAML without allow_unicode writes \xA0-\xFF as `\xXX` and the rest of the BMP as `\uXXXX` (upper-case hex).
  return !/\\(?:x[A-F][0-9A-F]|u(?!00|FEFF|FFF[EF]|202[89])[0-9A-F]{4})/.test(text);
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff || i === 0 || s.charCodeAt(i - 1) < 0xd800 || s.charCodeAt(i - 1) > 0xdbff) n++;
  }
  return n;
}

/** The indentation the original scalar's continuation (or content) lines show, when it has any. */
function originalIndent(text: string, slot: ValueSlot): number | undefined {
  if (slot.end <= slot.start) return undefined;
  const body = text.slice(slot.start, slot.end);
  if (slot.style === 'literal' || slot.style === 'folded') {
    const m = /^[|>](?:([1-9])[-+]?|[-+]([1-9])?)?/.exec(body);
    const d = m?.[1] ?? m?.[2];
    if (d) return slot.keyColumn + Number(d);
  }
  const lines = body.split('\n');
  for (let i = 1; i < lines.length; i++) {
    const m = /^( *)[^ \r]/.exec(lines[i]);
    if (m) return m[1].length > slot.keyColumn ? m[1].length : undefined;
  }
  return undefined;
}

/** The encoding before PyYAML's emitter: a block literal where safe, else a double-quoted scalar. */
function encodeLegacy(text: string, slot: ValueSlot, value: string): string | undefined {
  const eol = eolAt(text, slot.start);
  const isBlockOriginal = slot.style === 'literal' || slot.style === 'folded';
  // Block originals end after their last line break (or at the end of the file).
  const endsWithBreak = isBlockOriginal && slot.end > slot.start && text[slot.end - 1] === '\n';
  const lead = slot.style === 'empty' ? ' ' : '';
  if (!slot.inFlow && !slot.json && blockLiteralSafe(value) && blockFits(text, slot, value, isBlockOriginal)) {
    const enc = encodeBlockLiteral(value, slot.keyColumn, eol);
    if (decodeAsValue(enc, slot.keyColumn) === value) {
      // After a flow/plain value the file's own line break follows (blockFits checked it): drop ours.
      const fileBreakFollows = !isBlockOriginal && text.indexOf('\n', slot.end) !== -1;
      return lead + (fileBreakFollows ? enc.slice(0, -eol.length) : enc);
    }
  }
  const dq = encodeDoubleQuoted(value, slot.json === true);
  if (decodeAsValue(dq, slot.keyColumn) !== value) return undefined;
  return lead + dq + (endsWithBreak ? eol : '');
}

/** Whether a block literal can replace the slot without changing how the lines after it are read. */
function blockFits(text: string, slot: ValueSlot, value: string, isBlockOriginal: boolean): boolean {
  const contentIndent = slot.keyColumn + 2;
  let p: number;
  if (isBlockOriginal) {
    p = slot.end;
  } else {
    // Nothing may follow the value on its line (no blanks, comment or flow punctuation).
    const nl = text.indexOf('\n', slot.end);
    const rest = text.slice(slot.end, nl === -1 ? text.length : nl);
    if (!/^\r?$/.test(rest)) return false;
    if (nl === -1) return true;
    p = nl + 1;
  }
  const keep = chompingOf(value) === 'keep';
  while (p < text.length) {
    const nl = text.indexOf('\n', p);
    const line = text.slice(p, nl === -1 ? text.length : nl).replace(/\r$/, '');
    if (/^[ \t]*$/.test(line)) {
      // A blank line right after a keep (`|+`) block would join it; one with as many spaces as
      // the content indentation would be read as content.
      if (keep || line.length >= contentIndent || line.includes('\t')) return false;
    } else {
      const indent = line.length - line.trimStart().length;
      return indent < contentIndent && !line.startsWith('\t');
    }
    if (nl === -1) break;
    p = nl + 1;
  }
  return true;
}

function eolAt(text: string, offset: number): string {
  const nl = text.indexOf('\n', offset);
  if (nl > 0 && text[nl - 1] === '\r') return '\r\n';
  if (nl === -1) {
    const prev = text.lastIndexOf('\n', offset);
    if (prev > 0 && text[prev - 1] === '\r') return '\r\n';
  }
  return '\n';
}

function verifyResult(before: DifyDocument, out: string, edits: PromptEdit[], file: string | undefined): void {
  const after = parseDify(out, { file });
  const want = new Map(before.prompts.map((p) => [p.id, p.text] as const));
  for (const e of edits) want.set(e.id, e.text);
  const got = new Map(after.prompts.map((p) => [p.id, p.text] as const));
  for (const [id, t] of want) {
    if (got.get(id) !== t) {
      throw new DslError('DSL_PATCH_INVALID', `Write-back check failed: prompt ${id} does not read back as the intended text.`, { file, promptId: id });
    }
  }
  if (got.size !== want.size) {
    throw new DslError('DSL_PATCH_INVALID', 'Write-back check failed: the set of prompts changed.', { file });
  }
}
