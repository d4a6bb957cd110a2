import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { parseDify, replacePrompts } from '../../../src/core/dsl';
import { minimalEdit } from '../../../src/extension/review/textEdit';

const apply = (s: string, e: { start: number; end: number; text: string }) => s.slice(0, e.start) + e.text + s.slice(e.end);

describe('extension/review minimalEdit', () => {
  it('returns undefined for equal texts', () => {
    assert.equal(minimalEdit('abc', 'abc'), undefined);
  });

  it('turns before into after with the smallest single replacement', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (pre, mid1, mid2, post) => {
        const before = pre + mid1 + post;
        const after = pre + mid2 + post;
        const e = minimalEdit(before, after);
        if (before === after) return e === undefined;
        assert.ok(e);
        assert.equal(apply(before, e), after);
        // Never larger than the replaced middle.
        assert.ok(e.end - e.start <= mid1.length);
        assert.ok(e.text.length <= mid2.length);
        return true;
      }),
    );
  });

  it('covers only the prompt value changed by a corpus write-back', () => {
    const file = path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'dify', 'translation_workflow.yml');
    const text = fs.readFileSync(file, 'utf8');
    const rec = parseDify(text).prompts[2];
    const after = replacePrompts(text, [{ id: rec.id, text: `${rec.text}\n\n## Output format\nA list.` }]);
    const e = minimalEdit(text, after)!;
    assert.equal(apply(text, e), after);
    assert.ok(e.start >= rec.range!.start.offset && e.end <= rec.range!.end.offset, 'the edit leaves the value range');
  });
});
