import { strict as assert } from 'node:assert';
import { parseDify } from '../../../src/core/dsl/index';
import { DslError, type DslErrorCode } from '../../../src/core/errors';

function fails(text: string, code: DslErrorCode, check: (e: DslError) => void = () => undefined, opts = {}): void {
  assert.throws(
    () => parseDify(text, { file: 'app.yml', ...opts }),
    (e: unknown) => {
      assert.ok(e instanceof DslError, `expected DslError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.ok(e.message.includes('app.yml'), e.message);
      check(e);
      return true;
    },
  );
}

const minimal = 'app:\n  mode: workflow\nworkflow:\n  graph:\n    nodes: []\n';

describe('dsl/errors', () => {
  it('parses a minimal app', () => {
    assert.deepEqual(parseDify(minimal).prompts, []);
  });

  it('invalid YAML names line:column', () => {
    fails('app:\n  mode: workflow\n  name: "unterminated\nkind: [app\n', 'DSL_INVALID_YAML', (e) => {
      assert.ok(e.location.line !== undefined && e.location.column !== undefined);
      assert.match(e.message, /app\.yml:\d+:\d+/);
      assert.match(e.message, /line \d+, column \d+/);
    });
    fails('a: 1\n b: 2\n', 'DSL_INVALID_YAML', (e) => assert.equal(e.location.line, 2));
    fails('---\na: 1\n---\nb: 2\n', 'DSL_INVALID_YAML', (e) => assert.match(e.message, /2 YAML documents/));
  });

  it('not a Dify app: says precisely what is missing', () => {
    fails('', 'DSL_NOT_DIFY_APP', (e) => assert.match(e.message, /empty/));
    fails('- a\n- b\n', 'DSL_NOT_DIFY_APP', (e) => assert.match(e.message, /top level is a list/));
    fails('name: x\n', 'DSL_NOT_DIFY_APP', (e) => assert.match(e.message, /`app` is missing/));
    fails('app:\n  name: x\nworkflow: {}\n', 'DSL_NOT_DIFY_APP', (e) => assert.match(e.message, /`app\.mode` is missing/));
    fails('app:\n  mode: workflow\nkind: dataset\nworkflow:\n  graph:\n    nodes: []\n', 'DSL_NOT_DIFY_APP', (e) => assert.match(e.message, /`kind` is "dataset", expected "app"/));
    fails('app:\n  mode: workflow\nkind: app\n', 'DSL_NOT_DIFY_APP', (e) => assert.match(e.message, /`workflow\.graph\.nodes` is missing/));
    fails('app:\n  mode: chat\nkind: app\n', 'DSL_NOT_DIFY_APP', (e) => assert.match(e.message, /`model_config` is missing/));
    fails('{"data": 3}', 'DSL_NOT_DIFY_APP', (e) => assert.match(e.message, /JSON/));
  });

  it('size limit (default 20 MB, configurable)', () => {
    fails(minimal + '#'.repeat(2000), 'DSL_TOO_LARGE', (e) => assert.match(e.message, /1000 bytes|1000/), { maxBytes: 1000 });
    fails(`${minimal}# ${'中'.repeat(400)}\n`, 'DSL_TOO_LARGE', () => undefined, { maxBytes: 1000 }); // 1.2 KB in UTF-8
    assert.ok(parseDify(`${minimal}# ${'中'.repeat(300)}\n`, { maxBytes: 1000 }));
  });

  it('alias bombs and excessive nesting use the parser limits', () => {
    const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 30; i++) lines.push(`a${i}: &a${i} [${Array(40).fill(`*a${i - 1}`).join(', ')}]`);
    fails(`${lines.join('\n')}\n${minimal}`, 'DSL_ALIAS_LIMIT', (e) => assert.match(e.message, /alias/));
    fails(`${'['.repeat(500)}${']'.repeat(500)}\n`, 'DSL_TOO_DEEP');
    fails(`a: ${'['.repeat(12)}1${']'.repeat(12)}\n${minimal}`, 'DSL_TOO_DEEP', () => undefined, { maxDepth: 10 });
  });

  it('duplicate keys name line:column', () => {
    fails('app:\n  mode: workflow\n  mode: chat\nworkflow:\n  graph:\n    nodes: []\n', 'DSL_DUPLICATE_KEY', (e) => {
      assert.equal(e.location.line, 3);
      assert.equal(e.location.column, 3);
    });
  });
});
