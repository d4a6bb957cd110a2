import type { SourcePosition, SourceRange } from './types';

/**
 * Offset → line:column for one text. Offsets are UTF-16 code units of the JS string;
 * lines and columns are 1-based (column counts code units from the line start).
 */
export class LineIndex {
  private readonly starts: number[];

  constructor(readonly text: string) {
    const starts = [0];
    let i = text.indexOf('\n');
    while (i !== -1) {
      starts.push(i + 1);
      i = text.indexOf('\n', i + 1);
    }
    this.starts = starts;
  }

  position(offset: number): SourcePosition {
    const o = Math.max(0, Math.min(offset, this.text.length));
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (s[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { offset: o, line: lo + 1, column: o - s[lo] + 1 };
  }

  range(start: number, end: number): SourceRange {
    return { start: this.position(start), end: this.position(end) };
  }
}
