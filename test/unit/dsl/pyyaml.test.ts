import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDify, replacePrompts } from '../../../src/core/dsl/index';
import { allFixtureNames, HARD_TEXTS, readAnyFixture } from './helpers';

/**
 * Dify's importer reads exports with PyYAML (`yaml.safe_load`). Every prompt of every fixture
 * gets hard texts written back, and PyYAML itself must read exactly those texts: the C loader
 * for all of them, the pure-Python SafeLoader (what Dify runs without libyaml) for one per prompt.
 * Needs python3 with PyYAML: Debian's python3-yaml, which `.ci/run` installs.
 */
const READER = `
import json, sys, yaml
C = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
out = []
for job in json.load(sys.stdin):
    with open(job['file'], encoding='utf-8') as f:
        doc = yaml.load(f, Loader=(yaml.SafeLoader if job['pure'] else C))
    cur = doc
    for k in job['path']:
        cur = cur[k]
    out.append(cur)
json.dump(out, sys.stdout)
`;

function python(): string {
  for (const exe of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(exe, ['-c', 'import yaml'], { encoding: 'utf8' });
    if (r.status === 0) return exe;
  }
  throw new Error('python3 with PyYAML is needed for this test: apt-get install python3-yaml (.ci/run installs it)');
}

describe('dsl/replacePrompts read back by PyYAML (what Dify imports with)', () => {
  it('every prompt of every fixture, with hard texts, decodes to exactly the text written', function () {
    this.timeout(300000);
    const exe = python();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-pyyaml-'));
    try {
      const jobs: { file: string; path: (string | number)[]; pure: boolean; want: string; what: string }[] = [];
      let n = 0;
      const kinds = new Set<string>();
      for (const name of allFixtureNames()) {
        const doc = parseDify(readAnyFixture(name));
        if (doc.app.wrapped) continue; // the export-API JSON wrapper: write-back refuses it
        doc.prompts.forEach((p, i) => {
          if (!p.range) return; // a field missing from the file: nothing to write back into
          kinds.add(p.kind);
          // Three hard texts per prompt, rotating so that every hard text meets every style.
          for (let j = 0; j < 3; j++) {
            const hard = HARD_TEXTS[(n + j * 13) % HARD_TEXTS.length];
            const file = path.join(dir, `${n}-${j}.yml`);
            fs.writeFileSync(file, replacePrompts(doc, [{ id: p.id, text: hard }]));
            jobs.push({ file, path: p.yamlPath, pure: j === 0, want: hard, what: `${name} ${p.id} (#${i}) ← ${JSON.stringify(hard)}` });
          }
          n++;
        });
      }
      assert.ok(n >= 100, `only ${n} prompts in the fixtures`);
      assert.equal(kinds.size, 15, `every kind of contract v2 is written back: ${[...kinds].join(', ')}`);
      const r = spawnSync(exe, ['-c', READER], {
        input: JSON.stringify(jobs.map(({ file, path: p, pure }) => ({ file, path: p, pure }))),
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      assert.equal(r.status, 0, r.stderr);
      const got = JSON.parse(r.stdout) as unknown[];
      assert.equal(got.length, jobs.length);
      // PyYAML gives None for an empty plain scalar; Dify treats it as empty text.
      jobs.forEach((j, i) => assert.equal(got[i] ?? '', j.want, j.what));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
