import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { corpusDir, loadCorpusPrompts } from '../../support/corpusPrompts';

describe('test support: corpus prompts', () => {
  it('matches EXPECTED.json (nodeId, kind, role, sha1) for every corpus file', () => {
    const expected = JSON.parse(fs.readFileSync(path.join(corpusDir(), 'EXPECTED.json'), 'utf8')) as Record<
      string,
      { nodeId: string; kind: string; role: string | null; sha1: string }[]
    >;
    const got = loadCorpusPrompts({ all: true });
    for (const [file, list] of Object.entries(expected)) {
      const mine = got
        .filter((p) => p.file === file)
        .map((p) => ({ nodeId: p.nodeId, kind: p.kind, role: p.role, sha1: createHash('sha1').update(p.text, 'utf8').digest('hex') }));
      assert.deepEqual(mine, list, file);
    }
    assert.ok(got.length > 50, `only ${got.length} prompts`);
  });
});
