import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { atomicWriteFile, tempPathFor, writeTargetOf } from '../../../src/core/util/atomicWrite';
import { decodeFileText, firstInvalidUtf8 } from '../../../src/core/util/encoding';

describe('util: encoding and atomic writes', () => {
  it('finds the first byte that is not UTF-8 exactly where a fatal decoder fails (random bytes, property)', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true });
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let n = 0; n < 3000; n++) {
      const len = 1 + Math.floor(rnd() * 12);
      const bytes = Buffer.from(Array.from({ length: len }, () => (rnd() < 0.5 ? Math.floor(rnd() * 0x80) : 0x80 + Math.floor(rnd() * 0x80))));
      const at = firstInvalidUtf8(bytes);
      let valid = true;
      try {
        fatal.decode(bytes);
      } catch {
        valid = false;
      }
      assert.equal(at === -1, valid, `bytes ${bytes.toString('hex')}: ${at}`);
      if (at > 0) fatal.decode(bytes.subarray(0, at)); // the prefix before it is valid
    }
  });

  it('names line and column (in characters) of the first bad byte; UTF-8 text, a BOM and CJK pass', () => {
    const ok = decodeFileText(Buffer.from('\ufeffapp:\n  name: 提示词\n'), 'a.yml');
    assert.equal(ok.problem, undefined);
    assert.ok(ok.text.startsWith('\ufeff'));
    const bad = decodeFileText(Buffer.concat([Buffer.from('a: 1\nb: 提示'), Buffer.from([0xff]), Buffer.from('x\n')]), 'b.yml');
    assert.deepEqual({ line: bad.problem?.line, column: bad.problem?.column, byte: bad.problem?.byte }, { line: 2, column: 6, byte: 0xff });
    assert.ok(bad.text.includes('\ufffd'));
  });

  it('temp names fit NAME_MAX for any name the file system accepts; writes go through symlinks', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'atomic-'));
    try {
      const name = `${'文'.repeat(81)}.y`; // 245 bytes
      assert.ok(Buffer.byteLength(name) <= 255);
      const tmpName = path.basename(tempPathFor(path.join(dir, name)));
      assert.ok(Buffer.byteLength(tmpName) <= 255, `${Buffer.byteLength(tmpName)} bytes`);
      await atomicWriteFile(path.join(dir, name), 'x');
      assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), 'x');
      fs.writeFileSync(path.join(dir, 'real.yml'), 'old');
      fs.symlinkSync('real.yml', path.join(dir, 'l1'));
      fs.symlinkSync('l1', path.join(dir, 'l2'));
      assert.equal(await writeTargetOf(path.join(dir, 'l2')), path.join(dir, 'real.yml'));
      await atomicWriteFile(path.join(dir, 'l2'), 'new');
      assert.ok(fs.lstatSync(path.join(dir, 'l2')).isSymbolicLink());
      assert.equal(fs.readFileSync(path.join(dir, 'real.yml'), 'utf8'), 'new');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
