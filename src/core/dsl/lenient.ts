/**
 * PyYAML parity for one thing js-yaml is stricter about: the continuation lines of a multi-line
 * quoted scalar ('…' or "…") that are indented less than the node (PyYAML's scanner does not
 * check their indentation; js-yaml throws "deficient indentation"). Seen in hand-edited exports.
 *
 * Only taken when the strict parse fails with that error. The parse then runs on a shadow of
 * the text of the same length in which the line break before each such line is replaced by
 * spaces (so every event offset is an offset of the real text), retried once per offending line.
 * The decoded values come from the real text: a quoted scalar's value folds line breaks and
 * drops the leading blanks of continuation lines whatever their indentation, which is what
 * PyYAML gives. A break that would land anywhere but inside a quoted scalar gives up and the
 * strict error stands.
 */
import { parseEvents, YAMLException, SCALAR_STYLE_DOUBLE_QUOTED, SCALAR_STYLE_SINGLE_QUOTED, type Event, type ParserOptions } from 'js-yaml';

/** At most this many under-indented lines are mended (each costs one parse of the file). */
export const MAX_LENIENT_FIXES = 200;

export function isDeficientIndentation(e: unknown): boolean {
  return e instanceof YAMLException && /deficient indentation/.test(e.reason || e.message);
}

/**
 * Events for `text` read as PyYAML reads it, or undefined when the lenient reading does not
 * apply (the caller then reports the strict error). Offsets in the events refer to `text`.
 */
export function lenientEvents(text: string, opts: ParserOptions): Event[] | undefined {
  let shadow = text;
  const mended = new Set<number>(); // offsets of replaced line breaks (the '\n')
  let pending: YAMLException | undefined;
  for (let round = 0; round <= MAX_LENIENT_FIXES; round++) {
    let err: unknown;
    if (pending) {
      err = pending;
      pending = undefined;
    } else {
      try {
        const events = parseEvents(shadow, opts);
        return mended.size ? settle(events, [...mended]) : events;
      } catch (e) {
        err = e;
      }
    }
    if (!isDeficientIndentation(err) || round === MAX_LENIENT_FIXES) return undefined;
    const pos = (err as YAMLException).mark?.position;
    if (pos === undefined) return undefined;
    let lineStart = pos;
    while (lineStart > 0 && shadow[lineStart - 1] !== '\n') lineStart--;
    const nl = lineStart - 1;
    if (nl < 0 || mended.has(nl)) return undefined;
    // The rest of the scalar is mended in one go: every break from here to its closing quote (as
    // PyYAML finds it, for a single- then a double-quoted scalar), so a value whose continuation
    // runs over hundreds of lines costs a parse or two, not one per line. The first reading that
    // gets past this scalar is kept; with neither, only this line is mended.
    let next: { shadow: string; breaks: number[]; err?: YAMLException } | undefined;
    for (const quote of ["'", '"'] as const) {
      const close = closingQuote(shadow, lineStart, quote);
      if (close < 0) continue;
      const breaks = breaksIn(shadow, nl, close);
      const cand = mendBreaks(shadow, breaks);
      try {
        parseEvents(cand, opts);
        next = { shadow: cand, breaks };
      } catch (e) {
        const p2 = e instanceof YAMLException ? e.mark?.position : undefined;
        if (isDeficientIndentation(e) && p2 !== undefined && p2 > close) next = { shadow: cand, breaks, err: e as YAMLException };
      }
      if (next) break;
    }
    if (!next) next = { shadow: mendBreaks(shadow, [nl]), breaks: [nl] };
    shadow = next.shadow;
    for (const b of next.breaks) mended.add(b);
    pending = next.err;
  }
  return undefined;
}

/** Offset of the quote that closes a `quote`-quoted scalar read on from `from` (PyYAML's rules), or -1. */
function closingQuote(text: string, from: number, quote: "'" | '"'): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quote === "'" && c === "'") {
      if (text[i + 1] === "'") {
        i++;
        continue;
      }
      return i;
    }
    if (quote === '"') {
      if (c === '\\') {
        i++;
        continue;
      }
      if (c === '"') return i;
    }
  }
  return -1;
}

/** Offsets of the line breaks ('\n') in [from, to). */
function breaksIn(text: string, from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) out.push(i);
  return out;
}

/** The text with each given line break (and a '\r' before it) replaced by spaces: same length. */
function mendBreaks(text: string, breaks: number[]): string {
  if (breaks.length === 0) return text;
  const chars = text.split('');
  for (const nl of breaks) {
    chars[nl] = ' ';
    if (nl > 0 && chars[nl - 1] === '\r') chars[nl - 1] = ' ';
  }
  return chars.join('');
}

/** Every mended break must sit inside a quoted scalar; those scalars are decoded the slow way. */
function settle(events: Event[], mended: number[]): Event[] | undefined {
  const left = new Set(mended);
  for (const e of events) {
    if (e.type !== 4 || (e.style !== SCALAR_STYLE_SINGLE_QUOTED && e.style !== SCALAR_STYLE_DOUBLE_QUOTED)) continue;
    let hit = false;
    for (const nl of left) {
      if (nl >= e.valueStart && nl < e.valueEnd) {
        left.delete(nl);
        hit = true;
      }
    }
    if (hit) e.fast = false;
    if (left.size === 0) break;
  }
  return left.size === 0 ? events : undefined;
}
