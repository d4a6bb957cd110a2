import { strict as assert } from 'node:assert';
import { parseDify, replacePrompts, type DifyDocument, type PromptRecord } from '../../../src/core/dsl/index';
import { DslError } from '../../../src/core/errors';
import { allFixtureNames, fixtureNames, readAnyFixture, readFixture, independentValue, independentParse, HARD_TEXTS } from './helpers';


function otherTextsUnchanged(before: DifyDocument, after: DifyDocument, except: Set<string>): void {
  assert.deepEqual(after.prompts.map((p) => p.id), before.prompts.map((p) => p.id));
  for (const p of before.prompts) if (!except.has(p.id)) assert.equal(after.prompts.find((q) => q.id === p.id)!.text, p.text, p.id);
}

/**
 * Prompts whose value style and surroundings (key column, what the next line is) were not seen
 * yet across the corpus, so every encoder path and context is exercised without re-testing
 * thousands of identical cases.
 */
function samplePrompts(doc: DifyDocument, seen: Set<string>): PromptRecord[] {
  const out: PromptRecord[] = [];
  for (const p of doc.prompts) {
    if (!p.range) continue;
    const { offset } = p.range.start;
    const c = doc.text[offset];
    const style = c === '"' || c === "'" || c === '|' || c === '>' ? c : offset === p.range.end.offset ? 'empty' : 'plain';
    const lineEnd = doc.text.indexOf('\n', p.range.end.offset - (style === '|' || style === '>' ? 1 : 0));
    const next = lineEnd === -1 ? 'EOF' : /^([ \t]*)(\S?)/.exec(doc.text.slice(lineEnd + 1))!;
    const nextKind = next === 'EOF' ? 'EOF' : next[2] === '' ? 'blank' : next[2] === '#' ? `comment@${next[1].length - p.range.start.column}` : `indent${Math.sign(next[1].length - (p.range.start.column - 1))}`;
    const eol = doc.text.includes('\r\n') ? 'crlf' : 'lf';
    const sig = `${style}|${nextKind}|${p.range.start.column > 20 ? 'deep' : 'shallow'}|${p.kind}|${eol}`;
    if (seen.has(sig)) continue;
    seen.add(sig);
    out.push(p);
  }
  return out;
}

describe('dsl/replacePrompts', () => {
  it('writing back the same text gives a byte-identical file, for every prompt of every fixture', () => {
    for (const name of fixtureNames()) {
      const text = readFixture(name);
      const doc = parseDify(text);
      for (const p of doc.prompts) assert.equal(replacePrompts(doc, [{ id: p.id, text: p.text }]), text, `${name} ${p.id}`);
      assert.equal(replacePrompts(text, doc.app.wrapped ? [] : doc.prompts.map((p) => ({ id: p.id, text: p.text }))), text);
    }
  });

  it('hard texts decode exactly (our reader and the yaml package), every other byte unchanged', function () {
    this.timeout(240000);
    const seen = new Set<string>();
    const kinds = new Set<string>();
    // Smallest files first: each signature is then tested where re-parsing is cheapest.
    const bySize = allFixtureNames().sort((a, b) => readAnyFixture(a).length - readAnyFixture(b).length);
    for (const name of bySize) {
      const text = readAnyFixture(name);
      const doc = parseDify(text);
      if (doc.app.wrapped) continue; // write-back refuses the export-API JSON wrapper
      for (const p of samplePrompts(doc, seen)) {
        kinds.add(p.kind);
        for (const hard of HARD_TEXTS) {
          const out = replacePrompts(doc, [{ id: p.id, text: hard }]);
          const start = p.range!.start.offset;
          const tail = text.length - p.range!.end.offset;
          assert.equal(out.slice(0, start), text.slice(0, start), 'bytes before the value');
          assert.equal(out.slice(out.length - tail), text.slice(text.length - tail), 'bytes after the value');
          const again = parseDify(out);
          assert.equal(again.prompts.find((q) => q.id === p.id)!.text, hard, `${p.id} ${JSON.stringify(hard)} (our reader)`);
          // The `yaml` package refuses what lenient.ts reads (PyYAML reads it: pyyaml.test.ts checks those).
          if (!doc.lenient) assert.equal(independentValue(out, p.yamlPath), hard, `${p.id} ${JSON.stringify(hard)} (yaml package)`);
          otherTextsUnchanged(doc, again, new Set([p.id]));
          // And from whatever style the hard text got (block literal, double quotes…) to the next one.
          const hard2 = HARD_TEXTS[(HARD_TEXTS.indexOf(hard) + 7) % HARD_TEXTS.length];
          const rec2 = again.prompts.find((q) => q.id === p.id)!;
          const out2 = replacePrompts(again, [{ id: p.id, text: hard2 }]);
          const tail2 = out.length - rec2.range!.end.offset;
          assert.equal(out2.slice(0, rec2.range!.start.offset), out.slice(0, rec2.range!.start.offset));
          assert.equal(out2.slice(out2.length - tail2), out.slice(out.length - tail2));
          assert.equal(parseDify(out2).prompts.find((q) => q.id === p.id)!.text, hard2, `${JSON.stringify(hard)} then ${JSON.stringify(hard2)}`);
          if (!doc.lenient) assert.equal(independentValue(out2, p.yamlPath), hard2, `${JSON.stringify(hard)} then ${JSON.stringify(hard2)} (yaml package)`);
        }
      }
    }
    assert.ok(seen.size >= 10, `value styles and contexts covered: ${[...seen].join(', ')}`);
    assert.equal(kinds.size, 15, `every kind of contract v2: ${[...kinds].join(', ')}`);
    for (const style of ['"', "'", '|', '>', 'plain']) {
      assert.ok([...seen].some((s) => s.startsWith(`${style}|`) && s.endsWith('|crlf')), `a ${style} value in a CRLF file`);
    }
  });

  it('replaces several prompts at once and keeps comments, key order and quoting elsewhere', () => {
    const text = [
      '# exported by hand',
      'app:',
      '  mode: workflow   # the mode',
      "  name: 'demo'",
      'kind: app',
      'workflow:',
      '  graph:',
      '    nodes:',
      '    - id: a',
      '      data:',
      '        type: llm',
      '        prompt_template:',
      '        - role: system',
      "          text: 'first'",
      '        - role: user',
      '          text: "second"  # keep me',
      '        - role: assistant',
      '          text: |',
      '            third',
      '',
      '          # trailing comment',
      '        title: "A"',
      '',
    ].join('\n');
    const doc = parseDify(text);
    const out = replacePrompts(text, [
      { id: 'a/prompt_template/0', text: 'one\ntwo' },
      { id: 'a/prompt_template/1', text: 'x\ny' },
      { id: 'a/prompt_template/2', text: 'z' },
    ]);
    const lines = out.split('\n');
    assert.equal(lines[0], '# exported by hand');
    assert.ok(out.includes('  mode: workflow   # the mode\n'));
    assert.ok(out.includes("          text: 'one\n\n            two'\n"), 'single-quoted stays single-quoted, folded as PyYAML writes it');
    assert.ok(out.includes('          text: "x\\ny"  # keep me\n'), 'double-quoted stays double-quoted');
    // The blank line belonged to the old block scalar's range (chomped); the comment stays.
    assert.ok(out.includes('          text: |-\n            z\n          # trailing comment\n        title: "A"\n'));
    const again = parseDify(out);
    assert.deepEqual(again.prompts.map((p) => p.text), ['one\ntwo', 'x\ny', 'z']);
    assert.equal(doc.prompts.length, 3);
  });

  it('in a block literal, encodes leading blanks with an indentation indicator and picks the chomping', () => {
    const text = 'app:\n  mode: workflow\nworkflow:\n  graph:\n    nodes:\n    - id: a\n      data:\n        type: parameter-extractor\n        instruction: |\n          x\n';
    const cases: [string, string][] = [
      ['  lead\nb', 'instruction: |2-\n            lead\n          b\n'],
      ['\nnl', 'instruction: |2-\n\n          nl\n'],
      ['a\n', 'instruction: |\n          a\n'],
      ['a\n\n', 'instruction: |+\n          a\n\n'],
      ['', 'instruction: ""\n'],
      ['a\tb\u0085', 'instruction: "a\\tb\\N"\n'],
    ];
    for (const [t, want] of cases) {
      const out = replacePrompts(text, [{ id: 'a/instruction', text: t }]);
      assert.ok(out.endsWith(`        ${want}`), `${JSON.stringify(t)} -> ${JSON.stringify(out.slice(out.indexOf('instruction')))}`);
    }
  });

  it('does not let a block swallow what follows: blank lines after |+, deeper comments, flow context', () => {
    const text = [
      'app: {mode: workflow}',
      'workflow:',
      '  graph:',
      '    nodes:',
      '    - id: a',
      '      data:',
      '        type: llm',
      '        prompt_template:',
      '        - role: system',
      '          text: plain',
      '',
      '            # deeper comment',
      '        - {role: user, text: flow}',
      '        - role: user',
      '          text:',
      '',
    ].join('\n');
    const doc = parseDify(text);
    for (const p of doc.prompts) {
      for (const hard of ['a\n\n', 'multi\nline', 'x']) {
        const out = replacePrompts(text, [{ id: p.id, text: hard }]);
        assert.equal(independentValue(out, p.yamlPath), hard, `${p.id} ${JSON.stringify(hard)}`);
        assert.equal(parseDify(out).prompts.find((q) => q.id === p.id)!.text, hard);
      }
    }
    const out = replacePrompts(text, [{ id: 'a/prompt_template/2', text: 'was empty' }]);
    assert.ok(out.includes('          text: was empty') || out.includes('          text: |-\n            was empty'));
  });

  it('keeps CRLF line endings in a CRLF file', () => {
    const text = 'app:\r\n  mode: workflow\r\nworkflow:\r\n  graph:\r\n    nodes:\r\n    - id: a\r\n      data:\r\n        type: parameter-extractor\r\n        instruction: "x"\r\n';
    const out = replacePrompts(text, [{ id: 'a/instruction', text: 'one\ntwo' }]);
    assert.ok(!/[^\r]\n/.test(out), JSON.stringify(out));
    assert.equal(parseDify(out).prompts[0].text, 'one\ntwo');
    assert.equal(independentValue(out, parseDify(out).prompts[0].yamlPath), 'one\ntwo');
  });

  it('replaces an alias value with a scalar and leaves the anchor alone', () => {
    const text = 'app:\n  mode: workflow\nworkflow:\n  graph:\n    nodes:\n    - id: a\n      data:\n        type: llm\n        prompt_template:\n        - role: system\n          text: &t shared\n        - role: user\n          text: *t\n';
    const out = replacePrompts(text, [{ id: 'a/prompt_template/1', text: 'own' }]);
    assert.deepEqual(parseDify(out).prompts.map((p) => p.text), ['shared', 'own']);
  });

  it('refuses what it cannot write, with typed errors', () => {
    const text = readFixture('basic_chatflow.yml');
    const doc = parseDify(text, { file: 'basic_chatflow.yml' });
    const unknown = () => replacePrompts(doc, [{ id: 'no/such', text: 'x' }]);
    assert.throws(unknown, (e: DslError) => e.code === 'DSL_UNKNOWN_PROMPT' && e.message.includes('no/such') && e.message.includes('basic_chatflow.yml'));
    const id = doc.prompts[0].id;
    assert.throws(() => replacePrompts(doc, [{ id, text: 'a' }, { id, text: 'b' }]), (e: DslError) => e.code === 'DSL_PATCH_INVALID');
    const wrapped = readFixture('ida29__code-converter_completion.api-export-raw.yml');
    assert.throws(() => replacePrompts(wrapped, [{ id: 'app/pre_prompt', text: 'x' }]), (e: DslError) => e.code === 'DSL_WRITE_UNSUPPORTED' && /JSON wrapper/.test(e.message));
    const shared = 'app:\n  mode: workflow\nworkflow:\n  graph:\n    nodes:\n    - id: a\n      data: &d\n        type: parameter-extractor\n        instruction: i\n    - id: b\n      data: *d\n';
    assert.throws(() => replacePrompts(shared, [{ id: 'b/instruction', text: 'x' }]), (e: DslError) => e.code === 'DSL_WRITE_UNSUPPORTED' && /alias \*d at line 11/.test(e.message) && /anchor &d at line 7/.test(e.message));
    // The anchor's own side is refused too: changing it would change node b as well.
    assert.throws(() => replacePrompts(shared, [{ id: 'a/instruction', text: 'x' }]), (e: DslError) => e.code === 'DSL_WRITE_UNSUPPORTED' && /anchor &d at line 7, column 13, which is repeated as \*d at line 11, column 13/.test(e.message));
  });

  it('never changes a field the user did not ask for: an anchored value repeated elsewhere is refused, naming both places', () => {
    const text = 'app:\n  mode: workflow\nworkflow:\n  graph:\n    nodes:\n    - id: a\n      data:\n        type: llm\n        prompt_template:\n        - role: system\n          text: &sp You are terse.\n        note: *sp\n';
    const doc = parseDify(text, { file: 'anchors.yml' });
    assert.throws(
      () => replacePrompts(doc, [{ id: 'a/prompt_template/0', text: 'changed' }]),
      (e: DslError) =>
        e.code === 'DSL_WRITE_UNSUPPORTED' &&
        e.message.includes('anchors.yml') &&
        /line 11, column 17/.test(e.message) &&
        /\*sp at line 12, column 15/.test(e.message),
    );
    // Merge keys: a prompt that comes from the merged base lives in the base; refused too.
    const merged = 'base: &base\n  type: parameter-extractor\n  instruction: from base\napp:\n  mode: workflow\nworkflow:\n  graph:\n    nodes:\n    - id: a\n      data:\n        <<: *base\n        title: T\n';
    const md = parseDify(merged);
    assert.deepEqual(md.prompts.map((p) => [p.id, p.text]), [['a/instruction', 'from base']]);
    assert.throws(() => replacePrompts(md, [{ id: 'a/instruction', text: 'x' }]), (e: DslError) => e.code === 'DSL_WRITE_UNSUPPORTED' && /merged in with `<<` at line 11/.test(e.message));
  });

  it('keeps the independent reader in agreement on the whole file after many edits', () => {
    const text = readFixture('Claude3 Code Translation.yml');
    const doc = parseDify(text);
    const edits = doc.prompts.map((p, i) => ({ id: p.id, text: HARD_TEXTS[i % HARD_TEXTS.length] }));
    const out = replacePrompts(text, edits);
    const root = { root: independentParse(out) };
    for (const [i, p] of doc.prompts.entries()) assert.equal(independentValue(root, p.yamlPath), edits[i].text);
  });
});
