import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';

export const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/dify');

export function fixtureNames(): string[] {
  return fs.readdirSync(FIXTURES).filter((n) => n.endsWith('.yml')).sort();
}

export function readFixture(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** Reads the value at `yamlPath` with the `yaml` package: a reader independent of ours (js-yaml). */
export function independentValue(text: string | { root: unknown }, yamlPath: (string | number)[]): unknown {
  let cur: unknown = typeof text === 'string' ? independentParse(text) : text.root;
  for (const k of yamlPath) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

export function independentParse(text: string): unknown {
  return YAML.parse(text, { uniqueKeys: true, version: '1.1' });
}
