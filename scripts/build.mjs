// Bundles the extension and the CLI with esbuild. `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { chmodSync } from 'node:fs';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  legalComments: 'none',
  // Class names identify typed errors across the separately loaded bundles (see core/errors.ts).
  keepNames: true,
  logLevel: 'warning',
};

const builds = [
  // Banner and footer time the evaluation of the bundle (the extension reports it with its activation time).
  {
    ...common,
    entryPoints: ['src/extension/extension.ts'],
    outfile: 'dist/extension.js',
    external: ['vscode'],
    banner: { js: 'var __promptOptLoadStart = performance.now();' },
    footer: { js: 'var __promptOptLoadEnd = performance.now();' },
  },
  // The openai SDK and the LLM client, required by the extension only when a run needs a model.
  { ...common, entryPoints: ['src/extension/llmEntry.ts'], outfile: 'dist/llm.js', external: ['vscode'] },
  // Datasets and the dataset optimizers, required only by "Optimize Prompt with Dataset…".
  { ...common, entryPoints: ['src/extension/trainingEntry.ts'], outfile: 'dist/training.js' },
  // Test cases and the evidence gate, required only when a run gathers evidence or "Generate Test Cases…" runs.
  { ...common, entryPoints: ['src/extension/evidenceEntry.ts'], outfile: 'dist/evidence.js' },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', banner: { js: '#!/usr/bin/env node' } },
];

if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  chmodSync('dist/cli.js', 0o755);
}
