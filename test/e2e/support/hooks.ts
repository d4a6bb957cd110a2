/** Mocha root hooks for the UI tier: start every run with an empty test-results/ folder. */
import * as fs from 'node:fs';
import { RESULTS_DIR } from './workbench';

export const mochaHooks = {
  beforeAll(): void {
    fs.rmSync(RESULTS_DIR, { recursive: true, force: true });
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
  },
};
