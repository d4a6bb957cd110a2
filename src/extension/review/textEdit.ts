/** The smallest single replacement turning `before` into `after` (common prefix and suffix kept). */
export interface MinimalEdit {
  start: number;
  end: number;
  text: string;
}

/**
 * Returns the one replacement (offsets in `before`) that turns `before` into `after`, or
 * undefined when they are equal. The write-back changes one value's bytes, so this is exactly
 * that value's range: undo restores it, and nothing else in the document is touched.
 */
export function minimalEdit(before: string, after: string): MinimalEdit | undefined {
  if (before === after) return undefined;
  let start = 0;
  const max = Math.min(before.length, after.length);
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  let endB = before.length;
  let endA = after.length;
  while (endB > start && endA > start && before.charCodeAt(endB - 1) === after.charCodeAt(endA - 1)) {
    endB--;
    endA--;
  }
  return { start, end: endB, text: after.slice(start, endA) };
}
