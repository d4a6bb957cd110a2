import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DatasetError } from '../../../src/core/errors';
import { loadDataset, parseDataset, splitDataset } from '../../../src/core/evaluation';
import { tempDir } from '../optimizers/helpers';

function fails(fn: () => unknown): DatasetError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DatasetError, `expected DatasetError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a DatasetError');
}

describe('evaluation: datasets', () => {
  it('reads JSONL with Dify keys, labels and the split override', () => {
    const ds = parseDataset(
      [
        '{"sys.query": "hi", "expected": "hello"}',
        '',
        '{"id": "b", "1718246807593.text": "doc", "context": "ctx", "labels": ["x", "y"], "split": "val"}',
        '{"inputs": {"{{#sys.query#}}": "q"}, "expected": {"a": 1}}',
      ].join('\n'),
      { file: 'd.jsonl' },
    );
    assert.equal(ds.examples.length, 3);
    assert.deepEqual(ds.examples[0], { id: 'd.jsonl:1', vars: { 'sys.query': 'hi' }, expected: 'hello', source: { file: 'd.jsonl', line: 1 } });
    assert.deepEqual(ds.examples[1]!.vars, { '1718246807593.text': 'doc', context: 'ctx' });
    assert.deepEqual(ds.examples[1]!.labels, ['x', 'y']);
    assert.equal(ds.examples[1]!.split, 'validation');
    assert.deepEqual(ds.examples[2]!.vars, { 'sys.query': 'q' });
    assert.equal(ds.examples[2]!.expected, '{"a":1}');
    assert.equal(ds.examples[2]!.source.line, 4);
  });

  it('names file and line for bad JSON, a missing expected, a bad split and duplicate ids', () => {
    let e = fails(() => parseDataset('{"sys.query":"a","expected":"b"}\n{"sys.query": oops}\n', { file: 'set.jsonl' }));
    assert.equal(e.code, 'DATASET_FORMAT');
    assert.match(e.message, /^set\.jsonl:2: not valid JSON/);
    e = fails(() => parseDataset('{"sys.query":"a","expected":"b"}\n\n{"sys.query":"a"}\n', { file: 'set.jsonl' }));
    assert.equal(e.code, 'DATASET_INVALID');
    assert.match(e.message, /set\.jsonl:3: .*neither "expected" nor "labels"/);
    e = fails(() => parseDataset('{"q":"a","expected":"b","split":"holdout"}', { file: 's.jsonl' }));
    assert.match(e.message, /s\.jsonl:1: split must be/);
    e = fails(() => parseDataset('{"id":"x","q":"a","expected":"b"}\n{"id":"x","q":"c","expected":"d"}', { file: 's.jsonl' }));
    assert.match(e.message, /s\.jsonl:2: duplicate example id "x" \(first at line 1\)/);
    e = fails(() => parseDataset('{"q":"a","expected":"b","labels":[]}', { file: 's.jsonl' }));
    assert.match(e.message, /s\.jsonl:1: field "labels"/);
    e = fails(() => parseDataset('[1,2]', { file: 's.jsonl' }));
    assert.match(e.message, /s\.jsonl:1: each example must be an object/);
  });

  it('reads YAML (a list or {examples: […]}) with the line of each item', () => {
    const text = ['examples:', '  - sys.query: one', '    expected: "1"', '  - sys.query: |', '      two', '      lines', '    labels: [a, b]', '  - query: three'].join('\n');
    const e = fails(() => parseDataset(text, { file: 'set.yaml' }));
    assert.match(e.message, /^set\.yaml:8: .*neither/);
    const ds = parseDataset(text.split('\n').slice(0, 7).join('\n'), { file: 'set.yaml' });
    assert.equal(ds.examples[1]!.source.line, 4);
    assert.equal(ds.examples[1]!.vars['sys.query'], 'two\nlines\n');
    const bad = fails(() => parseDataset('- a: [1\n', { file: 'b.yml' }));
    assert.equal(bad.code, 'DATASET_FORMAT');
    assert.match(bad.message, /^b\.yml:\d+/);
  });

  it('reads CSV with csv-parse: quoted multi-line fields, labels split on |, lines of rows', () => {
    const text = 'sys.query,expected,labels,split\n"first\nline two",yes,,\nsecond,,a|b,train\nthird,,,validation\n';
    const e = fails(() => parseDataset(text, { file: 'set.csv' }));
    assert.match(e.message, /^set\.csv:5: .*neither/);
    const ds = parseDataset(text.replace('third,,,validation', 'third,no,,validation'), { file: 'set.csv' });
    assert.deepEqual(
      ds.examples.map((x) => [x.source.line, x.vars['sys.query'], x.expected, x.labels, x.split]),
      [
        [2, 'first\nline two', 'yes', undefined, undefined],
        [4, 'second', undefined, ['a', 'b'], 'train'],
        [5, 'third', 'no', undefined, 'validation'],
      ],
    );
    const broken = fails(() => parseDataset('a,expected\n"x,1\n', { file: 'c.csv' }));
    assert.equal(broken.code, 'DATASET_FORMAT');
  });

  it('loads from a path or from .optimizer/datasets/, and says where it looked', async () => {
    const dir = await tempDir();
    await fs.mkdir(path.join(dir, '.optimizer', 'datasets'), { recursive: true });
    await fs.writeFile(path.join(dir, '.optimizer', 'datasets', 'qa.jsonl'), '{"sys.query":"a","expected":"b"}\n');
    const ds = await loadDataset('qa.jsonl', { cwd: dir });
    assert.equal(ds.examples.length, 1);
    assert.equal(ds.file, path.join(dir, '.optimizer', 'datasets', 'qa.jsonl'));
    await assert.rejects(loadDataset('nope.csv', { cwd: dir }), (e: DatasetError) => e.code === 'DATASET_NOT_FOUND' && e.message.includes('nope.csv'));
    await fs.writeFile(path.join(dir, 'x.txt'), 'a');
    await assert.rejects(loadDataset('x.txt', { cwd: dir }), (e: DatasetError) => e.code === 'DATASET_FORMAT');
  });

  it('splits deterministically by seed, 70/30, honouring explicit splits, at least one validation example', () => {
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ id: `e${i}`, q: `q${i}`, expected: 'x', ...(i === 0 ? { split: 'validation' } : {}) }));
    const ds = parseDataset(lines.join('\n'), { file: 'd.jsonl' });
    const a = splitDataset(ds, { seed: 7 });
    const b = splitDataset(ds, { seed: 7 });
    const c = splitDataset(ds, { seed: 8 });
    assert.deepEqual(a.validation.map((e) => e.id), b.validation.map((e) => e.id));
    assert.notDeepEqual(a.validation.map((e) => e.id), c.validation.map((e) => e.id));
    assert.equal(a.validation.length, 1 + Math.round(19 * 0.3));
    assert.equal(a.train.length + a.validation.length, 20);
    assert.ok(a.validation.some((e) => e.id === 'e0'));
    const two = splitDataset(parseDataset('{"q":"a","expected":"b"}\n{"q":"c","expected":"d"}', { file: 't.jsonl' }));
    assert.deepEqual([two.train.length, two.validation.length], [1, 1]);
    const one = fails(() => splitDataset(parseDataset('{"q":"a","expected":"b"}', { file: 'o.jsonl' })));
    assert.equal(one.code, 'DATASET_TOO_SMALL');
    assert.match(one.message, /^o\.jsonl: /);
  });
});

describe('evaluation: dataset vs prompt variables', () => {
  it('a variable the prompt uses but no example gives is an error naming file, line and the keys present', async () => {
    const { checkDatasetCoversPrompt } = await import('../../../src/core/evaluation');
    const ds = parseDataset('{"sys.qeury":"a","expected":"b"}\n{"sys.qeury":"c","expected":"d","context":"x"}', { file: 'd.jsonl' });
    assert.throws(
      () => checkDatasetCoversPrompt(ds, ['Answer {{#sys.query#}} with {{#env.KEY#}} and {{#histories#}}']),
      (e: DatasetError) => e.code === 'DATASET_INVALID' && /^d\.jsonl:1: no example gives a value for \{\{#sys\.query#\}\}.*has: sys\.qeury/.test(e.message),
    );
    assert.deepEqual(checkDatasetCoversPrompt(ds, ['Use {{#context#}} for {{#sys.qeury#}}']), { partlyMissing: ['{{#context#}}'] });
  });
});
