import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import * as YAML from 'yaml';
import { load } from 'js-yaml';
import { encodeDoubleQuoted, encodeBlockLiteral, blockLiteralSafe, parseDify, replacePrompts } from '../../../src/core/dsl/index';

/** Strings rich in what breaks YAML encoders: indentation, line breaks, quotes, indicators, non-BMP. */
const tricky = fc.string({
  unit: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(' ', '\n', '\t', '"', "'", '\\', '#', ':', '-', '|', '>', '{', '}', '[', ']', ',', '&', '*', '!', '%', '@', '`', '?') },
    { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.constantFrom('\r', '\u0085', '\u2028', '\ufeff', '\u0000', '\u007f', '😀', '中', '\ud800') },
    { weight: 1, arbitrary: fc.constantFrom('---', '...', '- ', ': ', ' #', '{{#1.text#}}', '\n\n', '  ') },
  ),
  maxLength: 40,
});

const decodeWithYaml = (doc: string) => (YAML.parse(doc, { version: '1.1' }) as { k: string }).k;
const decodeWithJsYaml = (doc: string) => (load(doc) as { k: string }).k;

describe('dsl/encode (property-based)', () => {
  it('a double-quoted scalar decodes to exactly its text, in both YAML readers', () => {
    fc.assert(
      fc.property(tricky, (s) => {
        const doc = `k: ${encodeDoubleQuoted(s)}\n`;
        assert.equal(decodeWithJsYaml(doc), s);
        if (!/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) assert.equal(decodeWithYaml(doc), s);
        assert.ok(!doc.slice(0, -1).includes('\n'), 'one line');
      }),
      { numRuns: 400 },
    );
  });

  it('a block literal, when judged safe, decodes to exactly its text at any indentation', () => {
    fc.assert(
      fc.property(tricky, fc.integer({ min: 0, max: 12 }), (s, col) => {
        fc.pre(blockLiteralSafe(s));
        const doc = `${' '.repeat(col)}k: ${encodeBlockLiteral(s, col)}${' '.repeat(col)}next: 1\n`;
        assert.equal(decodeWithJsYaml(doc), s);
        assert.equal(decodeWithYaml(doc), s);
      }),
      { numRuns: 400 },
    );
  });

  it('write-back of any text into a real-looking file reads back exactly and changes nothing else', () => {
    const file = [
      'app:',
      '  mode: workflow',
      'workflow:',
      '  graph:',
      '    nodes:',
      '    - data:',
      '        type: llm',
      '        prompt_template:',
      '        - role: system',
      "          text: 'a'",
      '        - role: user',
      '          text: "b"',
      '        title: t',
      "      id: '1'",
      '',
    ].join('\n');
    const doc = parseDify(file);
    fc.assert(
      fc.property(tricky, fc.constantFrom(0, 1), (s, which) => {
        const id = doc.prompts[which].id;
        const out = replacePrompts(doc, [{ id, text: s }], { verify: true });
        const again = parseDify(out);
        assert.equal(again.prompts[which].text, s);
        assert.equal(again.prompts[1 - which].text, doc.prompts[1 - which].text);
        const r = doc.prompts[which].range!;
        assert.equal(out.slice(0, r.start.offset), file.slice(0, r.start.offset));
        assert.equal(out.slice(out.length - (file.length - r.end.offset)), file.slice(r.end.offset));
      }),
      { numRuns: 300 },
    );
  });
});
