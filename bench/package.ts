/**
 * Package benchmark: `node out/bench/package.js` (part of `npm run bench`).
 *
 * Extraction from a Dify `.ifpkg` (read and check the package as Dify's read_package does:
 * ZIP directory, manifest, bounded inflation, size and sha256 of every member, the DSL's kind
 * and mode; then `parseDify` on its app.yaml) against, as the baseline measured in the same run
 * on the same DSL, extracting the app.yaml alone as the CLI reads a YAML export (`decodeFileText` +
 * `parseDify`). Packages are
 * built by Python's zipfile as Dify's `AppPackageService.export` builds them
 * (test/support/ifpkg.py). Figures: `package.extract.<name>` with the median of each and their
 * ratio (target: at most 1.3x), for a real export of the corpus and a synthetic 8 MB workflow.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDify } from '../src/core/dsl/index';
import { readPackage } from '../src/core/package/index';
import { decodeFileText } from '../src/core/util/encoding';
import { syntheticWorkflow } from './syntheticDify';
import { median, time } from './timing';

const ROOT = path.resolve(__dirname, '../..');
const SCRIPT = path.join(ROOT, 'test/support/ifpkg.py');

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function measure(name: string, yamlBytes: Buffer, pkgBytes: Buffer, runs: number): void {
  const yaml = () => parseDify(decodeFileText(yamlBytes, 'app.yaml').text, { file: 'app.yaml' });
  const pkg = () => parseDify(readPackage(pkgBytes, 'app.ifpkg').appText, { file: 'app.ifpkg!/app.yaml' });
  for (let i = 0; i < 2; i++) {
    yaml();
    pkg();
  }
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < runs; i++) {
    base.push(time(yaml));
    ours.push(time(pkg));
  }
  const value = round(median(ours));
  const baseline = round(median(base));
  process.stdout.write(`${JSON.stringify({ name: `package.extract.${name}`, value, unit: 'ms', baseline, ratio: round(value / baseline), runs, bytes: yamlBytes.length, packageBytes: pkgBytes.length, target: 1.3 })}\n`);
}

function main(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-bench-ifpkg-'));
  try {
    const build = (dsl: string): Buffer => {
      const out = path.join(tmp, `${path.basename(dsl)}.ifpkg`);
      execFileSync('python3', [SCRIPT, 'build', dsl, out]);
      return fs.readFileSync(out);
    };
    const corpus = path.join(ROOT, 'test/fixtures/dify');
    const largest = fs
      .readdirSync(corpus)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => path.join(corpus, f))
      .filter((f) => /^kind: app\s*$/m.test(fs.readFileSync(f, 'utf8'))) // what Dify packages: kind: app (not the export API's JSON wrapper)
      .sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0];
    measure('corpus-largest', fs.readFileSync(largest), build(largest), 41);
    const synth = path.join(tmp, 'synthetic.yml');
    fs.writeFileSync(synth, syntheticWorkflow(1600, 8 * 1024 * 1024));
    measure('synthetic-8mb', fs.readFileSync(synth), build(synth), 9);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
