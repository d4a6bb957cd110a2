import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Analysis } from '../../../src/core/analysis/types';

export const KEY = 'sk-test-SECRET-0123456789abcdef';

export function msgs(text: string) {
  return [{ role: 'user' as const, content: text }];
}

export async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'promptopt-llm-'));
}

/** Rejection of `p`, failing the test when it resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<Error & { code?: string; status?: number }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected a rejection, got a result');
}

/** A hand-made analysis (the analysis module is another part; strategies only read these fields). */
export function analysisOf(text: string, language: Analysis['language'] = 'en'): Analysis {
  return {
    overall: 61,
    clarity: 55,
    efficiency: 70,
    structure: 58,
    issues: [
      { kind: 'vague-term', severity: 'warning', message: 'Vague term "some" near {{#sys.query#}}', start: 0, end: 4, suggestion: 'Name the items' },
      { kind: 'missing-structure', severity: 'info', message: 'No sections', start: 0, end: 0 },
    ],
    language,
    characters: text.length,
    tokens: Math.ceil(text.length / 4),
    variableCount: 0,
  };
}
