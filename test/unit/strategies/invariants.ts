import { strict as assert } from 'node:assert';
import { analyzePrompt } from '../../../src/core/analysis/analyze';
import { buildModel } from '../../../src/core/analysis/text';
import { diffVariables, variableMultiset } from '../../../src/core/dsl/variables';

const GLUED_HEADER = /[^\s#][ \t]*#{1,6}[ \t]+\S/g;
const LIST_THEN_HEADER = /^[ \t]*(?:[-*+]|\d+[.)])[ \t]+#{1,6}[ \t]/gm;

const count = (re: RegExp, s: string): number => (s.match(re) ?? []).length;

/** The invariants every rule-strategy output must keep (see the issue); throws with `where`. */
export function assertInvariants(before: string, after: string, where: string): void {
  const d = diffVariables(before, after);
  assert.deepEqual(d, { missing: [], added: [] }, `${where}: variables changed`);
  assert.deepEqual(variableMultiset(after), variableMultiset(before), where);
  if (before.trim() !== '') assert.ok(after.trim() !== '', `${where}: emptied`);
  const mb = buildModel(before);
  const ma = buildModel(after);
  // Code fences (and jinja regions) verbatim.
  for (const r of mb.ranges.filter((x) => x.kind === 'code-fence' || x.kind === 'jinja-region'))
    assert.ok(after.includes(before.slice(r.start, r.end)), `${where}: block changed: ${before.slice(r.start, r.start + 60)}`);
  assert.equal(ma.fences.length, mb.fences.length, `${where}: fence count`);
  // Header lines verbatim, list items kept.
  const afterLines = new Set(ma.lines.map((l) => l.text));
  for (const l of mb.lines)
    if (l.header) assert.ok(afterLines.has(l.text) || afterLines.has(l.text.replace(/[ \t]+$/, '')), `${where}: header lost: ${l.text}`);
  const lists = (m: typeof mb): number => m.lines.filter((l) => l.listMarker !== '' && !l.block).length;
  const dupLines = analyzePrompt({ text: before }).issues.filter((i) => i.kind === 'duplicate-line').length;
  assert.ok(lists(ma) >= lists(mb) - dupLines, `${where}: list items lost`);
  // Newlines not collapsed: every distinct non-blank line's content keeps its own line.
  const nonBlank = (m: typeof mb): number => new Set(m.lines.filter((l) => !l.blank).map((l) => l.text.trim())).size;
  assert.ok(ma.lines.filter((l) => !l.blank).length >= nonBlank(mb), `${where}: lines joined`);
  // Nothing glued in front of a header.
  assert.ok(count(GLUED_HEADER, after) <= count(GLUED_HEADER, before), `${where}: text glued before a header`);
  assert.ok(count(LIST_THEN_HEADER, after) <= count(LIST_THEN_HEADER, before), `${where}: list marker glued to a header`);
  for (const l of ma.lines) if (l.header) assert.ok(/^ {0,3}#{1,6}( |$)/.test(l.text), `${where}: malformed header ${l.text}`);
}
