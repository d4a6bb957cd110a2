/**
 * Mocha root hooks for the UI tier: start every run with an empty test-results/ folder for the
 * screenshots, keeping test-results/figures/ (figures other tiers wrote, e.g. the activation
 * times of the integration run).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIGURES_DIR, RESULTS_DIR } from './workbench';

/** Empties `resultsDir` (creating it) except the entries named in `keep`. */
export function clearResults(resultsDir: string, keep: readonly string[]): void {
  fs.mkdirSync(resultsDir, { recursive: true });
  for (const name of fs.readdirSync(resultsDir)) {
    if (!keep.includes(name)) fs.rmSync(path.join(resultsDir, name), { recursive: true, force: true });
  }
}

export const mochaHooks = {
  beforeAll(): void {
    clearResults(RESULTS_DIR, [path.basename(FIGURES_DIR)]);
  },
};
