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
  const mended: number[] = []; // offsets of replaced line breaks (the '\n')
  for (let round = 0; round <= MAX_LENIENT_FIXES; round++) {
    let events: Event[];
    try {
      events = parseEvents(shadow, opts);
    } catch (e) {
      if (!isDeficientIndentation(e) || round === MAX_LENIENT_FIXES) return undefined;
      const pos = (e as YAMLException).mark?.position;
      if (pos === undefined) return undefined;
      let lineStart = pos;
      while (lineStart > 0 && shadow[lineStart - 1] !== '\n') lineStart--;
      const nl = lineStart - 1;
      if (nl < 0 || mended.includes(nl)) return undefined;
      const from = nl > 0 && shadow[nl - 1] === '\r' ? nl - 1 : nl;
      shadow = shadow.slice(0, from) + ' '.repeat(nl + 1 - from) + shadow.slice(nl + 1);
      mended.push(nl);
      continue;
    }
    return mended.length ? settle(events, mended) : events;
  }
  return undefined;
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
