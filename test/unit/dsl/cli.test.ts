import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { parseDify } from '../../../src/core/dsl/index';
import { FIXTURES, readFixture } from './helpers';

const ROOT = path.resolve(__dirname, '../../../..');

async function cli(args: string[], cwd = FIXTURES) {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    env: {},
    cwd,
    signal: new AbortController().signal,
  });
  return { code, out, err };
}

describe('cli: promptopt extract / set', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-dsl-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('extract prints a table with node title, kind, role, characters, variables and id', async () => {
    const r = await cli(['extract', 'Claude3 Code Translation.yml']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trimEnd().split('\n');
    assert.match(lines[0], /8 prompts/);
    assert.match(lines[1], /^NODE\s+KIND\s+ROLE\s+CHARS\s+VARIABLES\s+ID$/);
    assert.equal(lines.length, 10);
    assert.match(lines[2], /LLM-生成目标代码签名\s+llm-message\s+system\s+3393\s+\{\{#1720505581749\.src_lang#\}\}/);
    assert.ok(lines[2].endsWith('1720506191043/msg:2e5e4e13-2974-440b-9ee5-c015d9aae4ba'), 'the id is printed whole');
  });

  it('extract --json prints the records', async () => {
    const r = await cli(['extract', '--json', 'basic_llm_chat_workflow.yml']);
    assert.equal(r.code, 0);
    const recs = JSON.parse(r.out) as Record<string, unknown>[];
    const doc = parseDify(readFixture('basic_llm_chat_workflow.yml'));
    assert.equal(recs.length, doc.prompts.length);
    for (const key of ['id', 'nodeId', 'nodeType', 'kind', 'label', 'role', 'text', 'variables', 'range']) assert.ok(key in recs[0], key);
    assert.deepEqual(recs, JSON.parse(JSON.stringify(doc.prompts.map((p) => ({ ...p, label: false })))));
  });

  it('extract marks labels (--json label: true, LABEL in the table) and prints each skipped odd field on stderr with file:line:col', async () => {
    const src = path.resolve(__dirname, '../../../../test/fixtures/dify-source');
    fs.copyFileSync(path.join(src, 'chatflow_labels.yml'), path.join(tmp, 'labels.yml'));
    fs.copyFileSync(path.join(src, 'odd_fields.yml'), path.join(tmp, 'odd.yml'));
    const j = await cli(['extract', '--json', 'labels.yml'], tmp);
    assert.equal(j.code, 0, j.err);
    const recs = JSON.parse(j.out) as { id: string; kind: string; label: boolean }[];
    assert.deepEqual(recs.filter((r) => r.label).map((r) => r.kind), ['classifier-class', 'classifier-class', 'classifier-class', 'extractor-parameter', 'extractor-parameter', 'output-description', 'output-description']);
    assert.ok(recs.filter((r) => !r.label).every((r) => !['classifier-class', 'extractor-parameter', 'output-description'].includes(r.kind)));
    const t = await cli(['extract', 'labels.yml'], tmp);
    assert.match(t.out, /classifier-class LABEL/);
    const odd = await cli(['extract', '--json', 'odd.yml'], tmp);
    assert.equal(odd.code, 0, odd.err);
    assert.equal((JSON.parse(odd.out) as unknown[]).length, 3);
    const lines = odd.err.trim().split('\n');
    assert.equal(lines.length, 4, odd.err);
    assert.match(lines[0], /^warning: odd\.yml:17:20: .*holds a list.*\[DSL_FIELD_NOT_TEXT\]$/);
    assert.match(lines[1], /odd\.yml:26:11: .*has no role/);
  });

  it('bad input: exit 2 and one line on stderr, no stack trace', async () => {
    fs.writeFileSync(path.join(tmp, 'bad.yml'), 'app:\n  mode: workflow\n  name: "x\nkind: [\n');
    fs.writeFileSync(path.join(tmp, 'other.yml'), 'name: ci\non: push\n');
    const cases = [['extract', 'missing.yml'], ['extract', 'bad.yml'], ['extract', 'other.yml'], ['extract'], ['extract', 'a', 'b'], ['extract', '--nope', 'bad.yml']];
    for (const args of cases) {
      const r = await cli(args, tmp);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.out, '');
      assert.equal(r.err.trimEnd().split('\n').length, 1, r.err);
      assert.ok(!/\n\s+at /.test(r.err));
    }
    assert.match((await cli(['extract', 'bad.yml'], tmp)).err, /bad\.yml:\d+:\d+.*\[DSL_INVALID_YAML\]/);
    assert.match((await cli(['extract', 'other.yml'], tmp)).err, /`app` is missing.*\[DSL_NOT_DIFY_APP\]/);
  });

  it('a file over the 20 MB limit is refused before it is read, with exit 2 and its size', async () => {
    const big = path.join(tmp, 'big.yml');
    const fd = fs.openSync(big, 'w');
    fs.ftruncateSync(fd, 21 * 1024 * 1024); // sparse: no 21 MB written
    fs.closeSync(fd);
    const r = await cli(['extract', 'big.yml'], tmp);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /big\.yml: The file is 21\.0 MB, over the limit of 20 MB\. \[DSL_TOO_LARGE\]/);
  });

  it('set writes one prompt in place (--text and --text-file) and leaves the rest byte-identical', async () => {
    const src = readFixture('Claude3 Code Translation.yml');
    const file = path.join(tmp, 'app.yml');
    fs.writeFileSync(file, src);
    const doc = parseDify(src);
    const target = doc.prompts[2];
    let r = await cli(['set', 'app.yml', '--prompt', target.id, '--text', 'New answer:\n  - indented'], tmp);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /updated/);
    let now = fs.readFileSync(file, 'utf8');
    assert.equal(parseDify(now).prompts[2].text, 'New answer:\n  - indented');
    assert.equal(now.slice(0, target.range!.start.offset), src.slice(0, target.range!.start.offset));
    assert.equal(now.slice(now.length - (src.length - target.range!.end.offset)), src.slice(target.range!.end.offset));
    fs.writeFileSync(path.join(tmp, 'new.txt'), target.text);
    r = await cli(['set', 'app.yml', '--prompt', target.id, '--text-file', 'new.txt'], tmp);
    assert.equal(r.code, 0, r.err);
    now = fs.readFileSync(file, 'utf8');
    assert.equal(parseDify(now).prompts[2].text, target.text);
    assert.deepEqual(fs.readdirSync(tmp).sort(), ['app.yml', 'new.txt'], 'no temp file left behind');
  });

  it('set: unknown prompt, missing text, both texts, wrapped file -> exit 2 and file untouched', async () => {
    const file = path.join(tmp, 'app.yml');
    fs.writeFileSync(file, readFixture('basic_chatflow.yml'));
    fs.copyFileSync(path.join(FIXTURES, 'ida29__code-converter_completion.api-export-raw.yml'), path.join(tmp, 'raw.yml'));
    const before = fs.readFileSync(file, 'utf8');
    const cases: [string[], RegExp][] = [
      [['set', 'app.yml', '--prompt', 'no/such', '--text', 'x'], /no\/such.*\[DSL_UNKNOWN_PROMPT\]/],
      [['set', 'app.yml', '--prompt', 'llm/prompt_template/0'], /exactly one of --text or --text-file/],
      [['set', 'app.yml', '--prompt', 'llm/prompt_template/0', '--text', 'a', '--text-file', 'b'], /exactly one/],
      [['set', 'app.yml', '--text', 'a'], /--prompt <id> is required/],
      [['set', 'app.yml', '--prompt', 'llm/prompt_template/0', '--text-file', 'nope.txt'], /No such text file/],
      [['set', 'raw.yml', '--prompt', 'app/pre_prompt', '--text', 'x'], /\[DSL_WRITE_UNSUPPORTED\]/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args, tmp);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.err, re);
      assert.equal(r.err.trimEnd().split('\n').length, 1);
    }
    assert.equal(fs.readFileSync(file, 'utf8'), before);
  });

  it('the bundled dist/cli.js runs extract and set as a real process', function () {
    this.timeout(60000);
    execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: ROOT, stdio: 'pipe' });
    const bin = path.join(ROOT, 'dist/cli.js');
    const file = path.join(tmp, 'app.yml');
    fs.copyFileSync(path.join(FIXTURES, 'basic_chatflow.yml'), file);
    const json = spawnSync(process.execPath, [bin, 'extract', '--json', file], { encoding: 'utf8' });
    assert.equal(json.status, 0, json.stderr);
    const id = (JSON.parse(json.stdout) as { id: string }[])[0].id;
    const set = spawnSync(process.execPath, [bin, 'set', file, '--prompt', id, '--text', 'Hello {{#sys.query#}}'], { encoding: 'utf8' });
    assert.equal(set.status, 0, set.stderr);
    assert.equal(parseDify(fs.readFileSync(file, 'utf8')).prompts[0].text, 'Hello {{#sys.query#}}');
    const bad = spawnSync(process.execPath, [bin, 'extract', path.join(tmp, 'none.yml')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.equal(bad.stderr.trimEnd().split('\n').length, 1);
  });
});
