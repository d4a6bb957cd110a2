import { strict as assert } from 'node:assert';
import { parseDify, sourceOffsetOf } from '../../../src/core/dsl/index';
import { fixtureNames, readFixture } from './helpers';

function doc(value: string) {
  const text = `app:\n  mode: workflow\nworkflow:\n  graph:\n    nodes:\n    - id: a\n      data:\n        type: parameter-extractor\n        instruction: ${value}\nafter: 1\n`;
  const d = parseDify(text);
  return { text, rec: d.prompts[0] };
}

describe('dsl/sourceOffsetOf', () => {
  it('maps into escaped double-quoted text, including \\u escapes and line continuations', () => {
    const { text, rec } = doc('"A\\u4F60 {{#x.y#}}\\n\\\n          \\ B"');
    assert.equal(rec.text, 'A你 {{#x.y#}}\n B');
    const at = (k: number) => text.slice(sourceOffsetOf(rec, text, k).offset);
    assert.ok(at(1).startsWith('\\u4F60'));
    assert.ok(at(3).startsWith('{{#x.y#}}'));
    assert.ok(at(12).startsWith('\\n'));
    assert.ok(at(13).startsWith('\\ B'), 'an escaped space maps to its escape');
    const p = sourceOffsetOf(rec, text, 14);
    assert.equal(text[p.offset], 'B');
    assert.equal(p.line, 10);
  });

  it('maps into folded single-quoted, block literal and plain multi-line values', () => {
    const sq = doc("'it''s\n\n          {{#sys.query#}}'");
    assert.equal(sq.rec.text, "it's\n{{#sys.query#}}");
    assert.ok(sq.text.slice(sourceOffsetOf(sq.rec, sq.text, 5).offset).startsWith('{{#sys.query#}}'));
    assert.equal(sq.text[sourceOffsetOf(sq.rec, sq.text, 2).offset], "'");
    const lit = doc('|2-\n            lead\n          {{#a.b#}}');
    assert.equal(lit.rec.text, '  lead\n{{#a.b#}}');
    const q = sourceOffsetOf(lit.rec, lit.text, 7);
    assert.ok(lit.text.slice(q.offset).startsWith('{{#a.b#}}'));
    assert.equal(q.line, 11);
    assert.equal(q.column, 11);
    const plain = doc('one\n          two {{#c.d#}}');
    assert.equal(plain.rec.text, 'one two {{#c.d#}}');
    assert.ok(plain.text.slice(sourceOffsetOf(plain.rec, plain.text, 8).offset).startsWith('{{#c.d#}}'));
  });

  it('finds every variable of every corpus prompt at its place in the file', () => {
    let checked = 0;
    for (const name of fixtureNames()) {
      const d = parseDify(readFixture(name));
      const text = d.text; // for the export-API wrapper, the YAML inside it: what ranges refer to
      for (const p of d.prompts) {
        if (!p.range) continue;
        for (const v of p.variables) {
          const pos = sourceOffsetOf(p, text, v.start);
          // Variables hold no escapes in these files, so their source is their text (unless the
          // file folds a line inside one, e.g. `{{"type":` / `"string"}}` in a JSON example).
          const src = text.slice(pos.offset, pos.offset + v.raw.length);
          if (/\n/.test(text.slice(pos.offset, sourceOffsetOf(p, text, v.end).offset))) assert.equal(src[0], v.raw[0], `${name} ${p.id} ${v.raw}`);
          else assert.equal(src, v.raw, `${name} ${p.id} ${v.raw}`);
          checked++;
        }
        const end = sourceOffsetOf(p, text, p.text.length);
        assert.ok(end.offset <= p.range.end.offset && end.offset >= p.range.start.offset);
      }
    }
    assert.ok(checked > 100, `checked ${checked}`);
  });
});
