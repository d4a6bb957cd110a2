/**
 * `npm run bench`: runs every benchmark in its own process, one after the other (so they do not
 * disturb each other), and passes their JSON lines through. Each figure is a median with its
 * baseline measured in the same run. `npm run bench -- dsl llm` runs only those.
 * Benchmarks are scripts, not timed tests: nothing here fails on a slow machine.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const ALL = ['dsl', 'analysis', 'storage', 'llm', 'optimizers', 'evidence', 'package', 'sequential'];
const wanted = process.argv.slice(2).filter((a) => ALL.includes(a));
const suites = wanted.length ? wanted : ALL;
let failed = 0;
for (const name of suites) {
  process.stderr.write(`# bench: ${name}\n`);
  const r = spawnSync(process.execPath, [path.join(__dirname, `${name}.js`)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    process.stderr.write(`# bench: ${name} exited with ${r.status ?? r.signal}\n`);
  }
}
process.exitCode = failed ? 1 : 0;
