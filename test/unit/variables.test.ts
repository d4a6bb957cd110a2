import { strict as assert } from 'node:assert';
import {
  findVariables,
  diffVariables,
  sameVariables,
  protectVariables,
  restoreVariables,
} from '../../src/core/dsl/variables';

describe('variables', () => {
  it('finds every kind with offsets', () => {
    const t =
      'A {{#1718246807593.text#}} B {{#sys.query#}} {{#context#}} {{#histories#}} {{@llm.context@}} {{ name }} {% if x %}y{% endif %} {{query}} {{#env.KEY#}} {{#conversation.topic#}}';
    const vs = findVariables(t);
    assert.deepEqual(
      vs.map((v) => v.kind),
      ['node', 'sys', 'context', 'histories', 'mention', 'jinja', 'jinja-block', 'jinja-block', 'input', 'env', 'conversation'],
    );
    for (const v of vs) assert.equal(t.slice(v.start, v.end), v.raw);
    assert.deepEqual(vs[0].selector, ['1718246807593', 'text']);
  });

  it('compares multisets', () => {
    assert.ok(sameVariables('{{#a.b#}} x {{#a.b#}}', '{{#a.b#}}{{#a.b#}}'));
    const d = diffVariables('{{#a.b#}} {{#a.b#}} {{#sys.query#}}', '{{#a.b#}} {{#sys.files#}}');
    assert.deepEqual(d.missing.sort(), ['{{#a.b#}}', '{{#sys.query#}}']);
    assert.deepEqual(d.added, ['{{#sys.files#}}']);
  });

  it('protects and restores, and reports what an answer broke', () => {
    const src = 'Translate {{#1.text#}} into {{ lang }} using {{#context#}}.';
    const p = protectVariables(src);
    assert.ok(!p.text.includes('{{'));
    assert.equal(restoreVariables(p.text, p.slots).text, src);
    const broken = restoreVariables(p.text.replace('[[VAR_2]]', '').replace('[[VAR_1]]', '[[VAR_1]] [[VAR_1]] [[VAR_9]]'), p.slots);
    assert.equal(broken.ok, false);
    assert.deepEqual(broken.missing, ['{{ lang }}']);
    assert.deepEqual(broken.duplicated, ['{{#1.text#}}']);
    assert.deepEqual(broken.unknown, ['[[VAR_9]]']);
  });
});
