import * as fs from 'node:fs';
import * as path from 'node:path';
import * as YAML from 'yaml';

export const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/dify');

export function fixtureNames(): string[] {
  return fs.readdirSync(FIXTURES).filter((n) => /\.ya?ml$/.test(n)).sort();
}

export function readFixture(name: string): string {
  return fs.readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** Fixtures written from Dify's source for the kinds no public export has (see its README.md). */
export const SOURCE_FIXTURES = path.resolve(FIXTURES, '../dify-source');

/** Every fixture: the real exports by name, then `dify-source/<name>`. */
export function allFixtureNames(): string[] {
  const source = fs.readdirSync(SOURCE_FIXTURES).filter((n) => /\.ya?ml$/.test(n)).sort();
  return [...fixtureNames(), ...source.map((n) => `dify-source/${n}`)];
}

export function readAnyFixture(name: string): string {
  return name.startsWith('dify-source/') ? fs.readFileSync(path.join(SOURCE_FIXTURES, name.slice('dify-source/'.length)), 'utf8') : readFixture(name);
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

/** Texts that stress the encoder: every YAML indicator, whitespace at the edges, escapes, CJK, emoji, empty. */
export const HARD_TEXTS = [
  'line one\nline two\n\nline four',
  '  leading spaces',
  '\nleading newline',
  '\n\n  leading newlines then indent\n',
  'tab\tinside\tand\tat end\t',
  '\ttab at start',
  'trailing spaces   ',
  'trailing newline\n',
  'trailing newlines\n\n\n',
  'say "hi" and \'bye\'',
  '# looks like a comment',
  'key: value',
  'back\\slash \\n not an escape',
  'Use {{#1718246807593.text#}} and {{#sys.query#}} {{#context#}}',
  '中文提示：请用简体中文回答。',
  'emoji 😀 and 👩‍💻',
  '',
  '|',
  '>',
  '- a\n- b',
  '---',
  '...',
  '--- \n...\n',
  '  \n  ',
  'crlf\r\nline',
  'control \u0007 bell, NEL \u0085, LS \u2028, BOM \ufeff',
  '@at start',
  '`backtick` start',
  '%percent',
  '&anchor-like *alias-like !tag',
  '? question\n: colon',
  '{"json": [1, 2]}',
  "'single' start",
  '"double" start',
  'ends with colon:',
  'null',
  '123',
  'yes',
  '  two\n   three\n\n',
];
