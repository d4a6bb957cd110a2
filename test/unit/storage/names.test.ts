import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { decodeName, encodeName, MAX_NAME_BYTES } from '../../../src/core/storage/names';
import { StorageError } from '../../../src/core/errors';

const HOSTILE = [
  '..', '.', '../../etc/passwd', '/abs/path', 'a\\b\\..\\c', 'nul\0byte', 'tab\tnew\nline\r', '\x7f\x1b[31m',
  'CON', 'con', 'aux.txt', 'LPT1', 'com9.json', 'Nul.tar.gz', 'prn.', 'trailing.', 'trailing ', ' leading',
  '%2f', '%', '~h0123456789', 'a~b', 'Foo', 'foo', 'FOO', 'café', 'cafe\u0301', '中文提示', 'emoji 😀',
  '1718246807593/prompt_template/0', '1718246807593/msg:3b1d-aa', 'x'.repeat(500), 'é'.repeat(300),
  '\u2028\u2029', 'a:b*c?d"e<f>g|h',
];

function foldedUnique(names: string[]): boolean {
  const seen = new Set(names.map((n) => n.normalize('NFD').toLowerCase()));
  return seen.size === names.length;
}

describe('storage names', () => {
  it('encodes hostile ids into one safe path component and decodes them back', () => {
    for (const id of HOSTILE) {
      const n = encodeName(id);
      assert.ok(!/[/\\\0]/.test(n), `separator or NUL in ${JSON.stringify(n)}`);
      assert.ok(!/[\x00-\x1f\x7f]/.test(n), `control char in ${JSON.stringify(n)}`);
      assert.notEqual(n, '.');
      assert.notEqual(n, '..');
      assert.ok(!n.startsWith('.'), `hidden name ${n}`);
      assert.ok(!/[. ]$/.test(n), `trailing dot/space in ${n}`);
      assert.ok(!/^(con|prn|aux|nul|com\d|lpt\d)(\.|$)/i.test(n), `reserved name ${n}`);
      assert.ok(Buffer.byteLength(n) <= MAX_NAME_BYTES, `too long: ${n.length}`);
      if (Buffer.byteLength(id) < 100) assert.equal(decodeName(n), id, `round trip of ${JSON.stringify(id)}`);
    }
  });

  it('keeps distinct ids distinct even on case-insensitive, normalising file systems', () => {
    assert.ok(foldedUnique(HOSTILE.map((id) => encodeName(id))));
    assert.notEqual(encodeName('x'.repeat(500)), encodeName(`${'x'.repeat(499)}y`));
  });

  it('is reversible and fold-safe for arbitrary strings (property)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }), { minLength: 2, maxLength: 8 }), (ids) => {
        const names = ids.map((id) => encodeName(id));
        for (let i = 0; i < ids.length; i++) {
          const d = decodeName(names[i]!);
          // only names cut for length (marked ~t<hash>) may be undecodable
          if (d === undefined ? !/~t[0-9a-f]{10}$/.test(names[i]!) : d !== ids[i]) return false;
          if (Buffer.byteLength(names[i]!) > MAX_NAME_BYTES) return false;
          if (/[/\\\0]/.test(names[i]!)) return false;
        }
        return foldedUnique(names);
      }),
      { numRuns: 300 },
    );
  });

  it('rejects empty ids and lone surrogates with STORAGE_INVALID_ID', () => {
    for (const bad of ['', 'a\uD800b', '\uDC00']) {
      assert.throws(() => encodeName(bad), (e: unknown) => e instanceof StorageError && e.code === 'STORAGE_INVALID_ID');
    }
  });

  it('does not decode names it cannot have produced', () => {
    assert.equal(decodeName('a%zz'), undefined);
    assert.equal(decodeName('Foo'), undefined); // uppercase without its hash suffix
    assert.equal(decodeName(encodeName('x'.repeat(500))), undefined); // truncated
  });
});
