/**
 * Navigation over js-yaml's flat event stream (`parseEvents`).
 *
 * `parseEvents` is js-yaml's own parser: it yields one event per node with exact source offsets
 * and no intermediate tree, which makes it the fastest way to learn where a value sits in the
 * file (the `yaml` package's CST parser measured 6–9x slower than `js-yaml.load` on the corpus).
 * This module only walks that stream: it finds a mapping's value by key, a sequence's items,
 * and follows aliases to their anchors. It never decodes YAML itself; scalar values come from
 * js-yaml's `getScalarValue`.
 */
import {
  EVENT_ALIAS,
  EVENT_MAPPING,
  EVENT_POP,
  EVENT_SCALAR,
  EVENT_SEQUENCE,
  COLLECTION_STYLE_FLOW,
  getScalarValue,
  type Event,
  type ScalarEvent,
} from 'js-yaml';

export class EventTree {
  /** anchor name -> index of the anchored node's event; built lazily, only when an alias is met. */
  private anchors: Map<string, number> | undefined;
  /** anchor name -> indexes of the alias events that repeat it; built lazily. */
  private aliasUses: Map<string, number[]> | undefined;
  /** Memo of `skip` for collection events (index -> index after the node). */
  private readonly ends = new Map<number, number>();

  constructor(
    readonly source: string,
    readonly events: Event[],
  ) {}

  type(i: number): number {
    return this.events[i].type;
  }

  /** Index just past the node starting at event `i`. */
  skip(i: number): number {
    const t = this.events[i].type;
    if (t !== EVENT_MAPPING && t !== EVENT_SEQUENCE) return i + 1;
    const memo = this.ends.get(i);
    if (memo !== undefined) return memo;
    let depth = 0;
    let j = i;
    const ev = this.events;
    for (;;) {
      const tj = ev[j].type;
      if (tj === EVENT_MAPPING || tj === EVENT_SEQUENCE) depth++;
      else if (tj === EVENT_POP) {
        depth--;
        if (depth === 0) break;
      }
      j++;
    }
    this.ends.set(i, j + 1);
    return j + 1;
  }

  /** Follows an alias to its anchored node; other nodes are returned as they are. */
  deref(i: number): number {
    const e = this.events[i];
    if (e.type !== EVENT_ALIAS) return i;
    const name = this.source.slice(e.anchorStart, e.anchorEnd);
    const target = this.anchorMap().get(name);
    return target === undefined ? i : target;
  }

  isAlias(i: number): boolean {
    return this.events[i].type === EVENT_ALIAS;
  }

  private anchorMap(): Map<string, number> {
    if (this.anchors) return this.anchors;
    const m = new Map<string, number>();
    const ev = this.events;
    for (let i = 0; i < ev.length; i++) {
      const e = ev[i];
      if ((e.type === EVENT_SCALAR || e.type === EVENT_MAPPING || e.type === EVENT_SEQUENCE) && e.anchorStart >= 0) {
        m.set(this.source.slice(e.anchorStart, e.anchorEnd), i);
      }
    }
    this.anchors = m;
    return m;
  }

  /** Name of the anchor (`&name`) on the node at event `i`, or undefined. */
  anchorName(i: number): string | undefined {
    const e = this.events[i];
    if ((e.type === EVENT_SCALAR || e.type === EVENT_MAPPING || e.type === EVENT_SEQUENCE) && e.anchorStart >= 0) {
      return this.source.slice(e.anchorStart, e.anchorEnd);
    }
    return undefined;
  }

  /** Name of the anchor an alias event (`*name`) repeats. */
  aliasName(i: number): string {
    const e = this.events[i];
    return e.type === EVENT_ALIAS ? this.source.slice(e.anchorStart, e.anchorEnd) : '';
  }

  /** Alias events (`*name`) that repeat the anchor `name`, in document order. */
  usesOf(name: string): number[] {
    if (!this.aliasUses) {
      const m = new Map<string, number[]>();
      const ev = this.events;
      for (let i = 0; i < ev.length; i++) {
        const e = ev[i];
        if (e.type !== EVENT_ALIAS) continue;
        const n = this.source.slice(e.anchorStart, e.anchorEnd);
        const list = m.get(n);
        if (list) list.push(i);
        else m.set(n, [i]);
      }
      this.aliasUses = m;
    }
    return this.aliasUses.get(name) ?? [];
  }

  /** Offset in the source where the node at event `i` starts (its anchor/tag included where known). */
  startOf(i: number): number {
    const e = this.events[i];
    if (e.type === EVENT_SCALAR) {
      const s = [e.anchorStart >= 0 ? e.anchorStart - 1 : -1, e.tagStart, e.valueStart].filter((x) => x >= 0);
      return s.length ? Math.min(...s) : 0;
    }
    if (e.type === EVENT_ALIAS) return e.anchorStart - 1;
    if (e.type === EVENT_MAPPING || e.type === EVENT_SEQUENCE) {
      return e.anchorStart >= 0 ? e.anchorStart - 1 : e.start;
    }
    return 0;
  }

  isMapping(i: number): boolean {
    return this.events[i].type === EVENT_MAPPING;
  }

  isSequence(i: number): boolean {
    return this.events[i].type === EVENT_SEQUENCE;
  }

  isFlow(i: number): boolean {
    const e = this.events[i];
    return (e.type === EVENT_MAPPING || e.type === EVENT_SEQUENCE) && e.style === COLLECTION_STYLE_FLOW;
  }

  scalar(i: number): ScalarEvent | undefined {
    const e = this.events[i];
    return e.type === EVENT_SCALAR ? e : undefined;
  }

  /** Decoded text of a scalar event (aliases followed), or undefined for a collection. */
  scalarText(i: number): string | undefined {
    const s = this.scalar(this.deref(i));
    return s ? getScalarValue(this.source, s) : undefined;
  }

  /** Pairs of a mapping: [keyIndex, valueIndex] in document order. */
  *pairs(mapIndex: number): Generator<[number, number]> {
    const m = this.deref(mapIndex);
    if (!this.isMapping(m)) return;
    let j = m + 1;
    while (this.events[j].type !== EVENT_POP) {
      const k = j;
      const v = this.skip(k);
      j = this.skip(v);
      yield [k, v];
    }
  }

  /** The value of `key` in a mapping (last one wins, as in the loader), with its key's event index. */
  get(mapIndex: number, key: string): { key: number; value: number } | undefined {
    let found: { key: number; value: number } | undefined;
    for (const [k, v] of this.pairs(mapIndex)) {
      const ke = this.scalar(k);
      if (!ke) continue;
      // Fast path: most keys are short plain scalars whose source is their text.
      const text = ke.fast ? this.source.slice(ke.valueStart, ke.valueEnd) : getScalarValue(this.source, ke);
      if (text === key) found = { key: k, value: v };
    }
    return found;
  }

  /**
   * Like `get`, and also looks through YAML merge keys (`<<: *base`, `<<: [*a, *b]`) as PyYAML
   * does: an explicit key wins over a merged one; of several merged mappings the first that has
   * the key wins. `merge` is the event of the `<<` value the key came through.
   */
  getMerged(mapIndex: number, key: string, depth = 0): { key: number; value: number; merge?: number } | undefined {
    const direct = this.get(mapIndex, key);
    if (direct || depth > 50) return direct;
    const m = this.get(mapIndex, '<<');
    if (!m) return undefined;
    const target = this.deref(m.value);
    const sources = this.isSequence(target) ? this.items(target) : [m.value];
    for (const src of sources) {
      if (!this.isMapping(this.deref(src))) continue;
      const hit = this.getMerged(src, key, depth + 1);
      if (hit) return { key: hit.key, value: hit.value, merge: hit.merge ?? src };
    }
    return undefined;
  }

  /** Item indexes of a sequence. */
  items(seqIndex: number): number[] {
    const s = this.deref(seqIndex);
    const out: number[] = [];
    if (!this.isSequence(s)) return out;
    let j = s + 1;
    while (this.events[j].type !== EVENT_POP) {
      out.push(j);
      j = this.skip(j);
    }
    return out;
  }
}
