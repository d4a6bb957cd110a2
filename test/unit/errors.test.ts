import { strict as assert } from 'node:assert';
import { DslError, toOptimizerError, CancelledError, withLocation, OptimizerError, DatasetError, LlmError } from '../../src/core/errors';
import * as errorsModule from '../../src/core/errors';

describe('errors', () => {
  it('names file, line:column and prompt id in the message', () => {
    const e = new DslError('DSL_INVALID_YAML', 'bad indentation', { file: 'a.yml', line: 3, column: 7 });
    assert.equal(e.message, 'a.yml:3:7: bad indentation');
    assert.equal(e.code, 'DSL_INVALID_YAML');
    assert.equal(e.name, 'DslError');
    assert.equal(withLocation('x', { promptId: 'p1' }), 'prompt p1: x');
  });
  it('wraps foreign errors and aborts', () => {
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    assert.ok(toOptimizerError(abort) instanceof CancelledError);
    const w = toOptimizerError(new TypeError('boom'));
    assert.equal(w.code, 'INTERNAL');
    assert.match(w.message, /boom/);
  });
  it('recognises errors made by another copy of the module (the lazily loaded bundles have their own)', () => {
    const resolved = require.resolve('../../src/core/errors');
    const saved = require.cache[resolved];
    delete require.cache[resolved];
    let copy: typeof errorsModule;
    try {
      copy = require(resolved) as typeof errorsModule;
    } finally {
      require.cache[resolved] = saved;
    }
    assert.notEqual(copy.DatasetError, DatasetError, 'the test needs a second copy of the classes');
    const foreign = new copy.DatasetError('DATASET_FORMAT', 'not valid JSON.', { file: 'bad.jsonl', line: 2 });
    assert.ok(foreign instanceof OptimizerError);
    assert.ok(foreign instanceof DatasetError);
    assert.ok(!(foreign instanceof LlmError));
    assert.ok(!(foreign instanceof CancelledError));
    const same = toOptimizerError(foreign);
    assert.equal(same, foreign);
    assert.equal(same.message, 'bad.jsonl:2: not valid JSON.');
    assert.ok(new copy.CancelledError() instanceof CancelledError);
    assert.ok(!(new Error('x') instanceof OptimizerError));
    assert.ok(!({ name: 'DatasetError' } instanceof DatasetError));
  });
});
