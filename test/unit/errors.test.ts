import { strict as assert } from 'node:assert';
import { DslError, toOptimizerError, CancelledError, withLocation } from '../../src/core/errors';

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
});
