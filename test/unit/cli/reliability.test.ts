import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { parseDify } from '../../../src/core/dsl';
import { VersionStore, workflowKey } from '../../../src/core/storage';
import { runCliProcess } from '../../support/cliProcess';

/** The compiled CLI (tsc output), run as real processes for the concurrency tests. */
const proc = (args: string[], cwd: string, timeoutMs = 60_000) => runCliProcess(args, cwd, { timeoutMs });
const FIXTURE = path.resolve(__dirname, '../../../../test/fixtures/messy/support_bot.yml');

async function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), env, cwd, signal: new AbortController().signal });
  return { code, out, err };
}


/** A workflow with `n` LLM nodes, one system prompt each (ids `<node>/msg:p<i>`). */
function workflowYaml(n: number, title = (i: number) => `Node ${i}`, extra = ''): string {
  const nodes = Array.from(
    { length: n },
    (_, i) => `    - id: '10${i}'
      data:
        type: llm
        title: ${JSON.stringify(title(i))}
        prompt_template:
        - id: p${i}
          role: system
          text: "You are helper number ${i}. Answer the question."
`,
  ).join('');
  return `app:\n  name: concurrency\n  mode: workflow\n  description: "${extra}"\nkind: app\nversion: 0.1.5\nworkflow:\n  graph:\n    nodes:\n${nodes}`;
}

describe('reliability: nothing lost, nothing claimed falsely', function () {
  this.timeout(120_000);
  let ws: string;
  beforeEach(() => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-rel-'));
    fs.mkdirSync(path.join(ws, '.git'));
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('8 concurrent `promptopt set` processes on different prompts of one file keep all 8 edits (3 rounds)', async () => {
    const file = path.join(ws, 'app.yml');
    fs.writeFileSync(file, workflowYaml(8));
    const ids = parseDify(fs.readFileSync(file, 'utf8')).prompts.map((p) => p.id);
    assert.equal(ids.length, 8);
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all(ids.map((id, i) => proc(['set', 'app.yml', '--prompt', id, '--text', `round ${round} edit ${i}`], ws)));
      for (const r of runs) assert.equal(r.code, 0, r.err);
      const texts = parseDify(fs.readFileSync(file, 'utf8')).prompts.map((p) => p.text);
      assert.deepEqual(texts, ids.map((_, i) => `round ${round} edit ${i}`), `round ${round}: an edit was lost`);
    }
    assert.deepEqual(fs.readdirSync(ws).sort(), ['.git', 'app.yml'], 'lock or temp files left beside the export');
  });

  it('8 concurrent `optimize --write` runs: accepted versions only for the text that reached the file; the others exit 1 and record proposals', async () => {
    const file = path.join(ws, 'support_bot.yml');
    fs.copyFileSync(FIXTURE, file);
    const runs = await Promise.all(Array.from({ length: 8 }, () => proc(['optimize', '--write', 'support_bot.yml'], ws)));
    let wrote = 0;
    for (const r of runs) {
      assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.err}`);
      if (r.code === 1) {
        assert.match(r.err, /changed while optimizing it/);
        assert.match(r.err, /recorded under \.optimizer\/ as proposed versions, not accepted/);
        assert.match(r.err, /STORAGE_CONFLICT/);
      } else if (/written to support_bot\.yml/.test(r.err)) wrote++;
    }
    assert.ok(wrote >= 1, 'no run wrote the file');
    const store = await VersionStore.open(ws, { readOnly: true });
    const wf = workflowKey(ws, file);
    const doc = parseDify(fs.readFileSync(file, 'utf8'));
    let accepted = 0;
    for (const id of await store.listPrompts(wf)) {
      const vs = await store.list(wf, id, { limit: 1000 });
      const acc = vs.filter((v) => v.status === 'accepted');
      accepted += acc.length;
      // the newest accepted version of a prompt is what the file holds
      if (acc.length) assert.equal(acc[0]!.text, doc.prompts.find((p) => p.id === id)!.text, `prompt ${id}`);
      assert.ok(acc.length <= wrote, `prompt ${id}: ${acc.length} accepted versions for ${wrote} writing run(s)`);
    }
    assert.ok(accepted >= 1);
    await store.close();
  });

  it('optimize --write on the export-API JSON wrapper records proposals, not accepted versions, and says so', async () => {
    const yaml = fs.readFileSync(FIXTURE, 'utf8');
    const file = path.join(ws, 'export.json');
    fs.writeFileSync(file, JSON.stringify({ data: yaml }));
    const before = fs.readFileSync(file, 'utf8');
    const r = await cli(['optimize', '--write', 'export.json'], ws);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /was not written; the \d+ improved prompt\(s\) are recorded under \.optimizer\/ as proposed versions, not accepted/);
    assert.equal(fs.readFileSync(file, 'utf8'), before);
    const store = await VersionStore.open(ws, { readOnly: true });
    const wf = workflowKey(ws, file);
    const statuses = (await Promise.all((await store.listPrompts(wf)).map((id) => store.list(wf, id)))).flat().map((v) => v.status);
    assert.ok(statuses.includes('proposed'));
    assert.ok(!statuses.includes('accepted'), statuses.join(','));
    await store.close();
  });

  it('a workflow file named with 78 CJK characters: set and optimize --write work (temp names fit)', async () => {
    const name = `${'提示词优化工作流'.repeat(10).slice(0, 78)}.yml`;
    assert.equal([...name].length, 82);
    fs.copyFileSync(FIXTURE, path.join(ws, name));
    const id = parseDify(fs.readFileSync(FIXTURE, 'utf8')).prompts[0]!.id;
    const s = await cli(['set', name, '--prompt', id, '--text', 'Short and clear.'], ws);
    assert.equal(s.code, 0, s.err);
    const o = await cli(['optimize', '--write', name], ws);
    assert.equal(o.code, 0, o.err);
    assert.doesNotMatch(o.err, /internal error|ENAMETOOLONG/);
    const store = await VersionStore.open(ws, { readOnly: true });
    const wf = workflowKey(ws, path.join(ws, name));
    const all = (await Promise.all((await store.listPrompts(wf)).map((p) => store.list(wf, p)))).flat();
    assert.ok(all.some((v) => v.status === 'accepted'));
    await store.close();
  });

  it('refuses to write a file that is not UTF-8 (GBK, a stray 0xFF), naming the first bad byte; reading warns and goes on', async () => {
    const yaml = workflowYaml(2);
    const id = parseDify(yaml).prompts[0]!.id;
    // GBK bytes of 你好 in the description (line 4), and a file with one stray 0xFF
    const gbk = Buffer.concat([Buffer.from(yaml.slice(0, yaml.indexOf('description: "') + 14)), Buffer.from([0xc4, 0xe3, 0xba, 0xc3]), Buffer.from(yaml.slice(yaml.indexOf('description: "') + 14))]);
    const stray = Buffer.from(yaml, 'utf8');
    const at = stray.indexOf('helper number 1') + 'helper number 1'.length;
    const strayLine = yaml.slice(0, at).split('\n');
    const strayBytes = Buffer.concat([stray.subarray(0, at), Buffer.from([0xff]), stray.subarray(at)]);
    for (const [name, bytes, where] of [
      ['gbk.yml', gbk, 'gbk.yml:4:17'],
      ['stray.yml', strayBytes, `stray.yml:${strayLine.length}:${strayLine.at(-1)!.length + 1}`],
    ] as const) {
      fs.writeFileSync(path.join(ws, name), bytes);
      const r = await cli(['set', name, '--prompt', id, '--text', 'new'], ws);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, /not valid UTF-8: byte 0x(C4|FF) at line \d+, column \d+/);
      assert.ok(r.err.includes(where), `${r.err} should name ${where}`);
      assert.match(r.err, /DSL_ENCODING/);
      assert.ok(fs.readFileSync(path.join(ws, name)).equals(bytes), `${name} was changed`);
      const e = await cli(['extract', name], ws);
      assert.equal(e.code, 0, e.err);
      assert.match(e.err, /warning: .*not valid UTF-8.*never written back/);
      assert.ok(e.err.includes(where));
      const o = await cli(['optimize', '--write', name], ws);
      assert.equal(o.code, 2);
      assert.ok(fs.readFileSync(path.join(ws, name)).equals(bytes));
    }
    // UTF-16 is named as such, not as a null byte
    fs.writeFileSync(path.join(ws, 'u16.yml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(yaml, 'utf16le')]));
    fs.writeFileSync(path.join(ws, 'u16nobom.yml'), Buffer.from(yaml, 'utf16le'));
    for (const f of ['u16.yml', 'u16nobom.yml']) {
      const r = await cli(['extract', f], ws);
      assert.equal(r.code, 2);
      assert.match(r.err, /encoded as UTF-16 \(little-endian\)/);
      assert.doesNotMatch(r.err, /null byte/);
    }
  });

  it('set writes through a symlinked export, cleans a killed writer\'s temp file, and never follows .optimizer out of the workspace', async () => {
    const realDir = path.join(ws, 'real');
    fs.mkdirSync(realDir);
    fs.copyFileSync(FIXTURE, path.join(realDir, 'target.yml'));
    fs.symlinkSync(path.join('real', 'target.yml'), path.join(ws, 'link.yml'));
    const leftover = path.join(realDir, '.target.yml.tmp-999999999-deadbeef');
    fs.writeFileSync(leftover, 'a full copy left by kill -9');
    const id = parseDify(fs.readFileSync(FIXTURE, 'utf8')).prompts[0]!.id;
    const r = await cli(['set', 'link.yml', '--prompt', id, '--text', 'Through the link.'], ws);
    assert.equal(r.code, 0, r.err);
    assert.ok(fs.lstatSync(path.join(ws, 'link.yml')).isSymbolicLink(), 'the link was replaced by a file');
    assert.equal(parseDify(fs.readFileSync(path.join(realDir, 'target.yml'), 'utf8')).prompts[0]!.text, 'Through the link.');
    assert.ok(!fs.existsSync(leftover), 'the dead writer\'s temp file was left');

    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-outside-'));
    try {
      fs.symlinkSync(outside, path.join(ws, '.optimizer'));
      const o = await cli(['optimize', '--write', 'link.yml'], ws);
      assert.equal(o.code, 1, o.err);
      assert.match(o.err, /symbolic link to .*outside the workspace.*STORAGE_UNSAFE_PATH/);
      assert.deepEqual(fs.readdirSync(outside), []);
      const v = await cli(['versions', 'link.yml'], ws);
      assert.equal(v.code, 1);
      assert.match(v.err, /STORAGE_UNSAFE_PATH/);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });

  it('escapes control characters of an export in human output; --json stays valid and exact', async () => {
    const title = (i: number) => (i === 0 ? '\u001b[2J\u001b]0;pwned\u0007Evil\u009b31m' : `Node ${i}`);
    fs.writeFileSync(path.join(ws, 'esc.yml'), workflowYaml(2, title));
    const e = await cli(['extract', 'esc.yml'], ws);
    assert.equal(e.code, 0, e.err);
    assert.doesNotMatch(e.out, /[\u001b\u0007\u009b]/);
    assert.match(e.out, /\\u001b\[2J/);
    const a = await cli(['analyze', 'esc.yml'], ws);
    assert.doesNotMatch(a.out + a.err, /[\u001b\u0007\u009b]/);
    const j = await cli(['extract', '--json', 'esc.yml'], ws);
    assert.doesNotMatch(j.out, /[\u001b\u0007\u009b]/);
    assert.equal((JSON.parse(j.out) as { nodeTitle: string }[])[0]!.nodeTitle, title(0));
  });

  it('a version file whose text does not match its hash is reported once and skipped by a read-only store (no hang)', async () => {
    const file = path.join(ws, 'support_bot.yml');
    fs.copyFileSync(FIXTURE, file);
    assert.equal((await cli(['optimize', '--write', 'support_bot.yml'], ws)).code, 0);
    const vdir = path.join(ws, '.optimizer', 'versions');
    const files: string[] = [];
    const walk = (d: string) => {
      for (const n of fs.readdirSync(d)) {
        const p = path.join(d, n);
        if (fs.statSync(p).isDirectory()) walk(p);
        else if (n.endsWith('.json')) files.push(p);
      }
    };
    walk(vdir);
    const newest = files.sort().at(-1)!;
    const v = JSON.parse(fs.readFileSync(newest, 'utf8')) as { text: string };
    v.text += ' (hand edit)';
    fs.writeFileSync(newest, JSON.stringify(v, null, 2));
    // a read-only store (Restricted Mode), in a real process too
    const script = `const { VersionStore } = require(${JSON.stringify(path.resolve(__dirname, '../../../src/core/storage'))});
      (async () => { const w = []; const s = await VersionStore.open(${JSON.stringify(ws)}, { readOnly: true, onWarning: (m) => w.push(m) });
        for (const wf of await s.listWorkflows()) for (const id of await s.listPrompts(wf)) { await s.latest(wf, id); await s.list(wf, id); await s.best(wf, id); await s.list(wf, id); }
        console.log(JSON.stringify(w)); })();`;
    const ro = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, ['-e', script]);
      let out = '';
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.stdout.on('data', (d) => (out += d));
      child.on('close', (code) => {
        clearTimeout(t);
        resolve({ code, out });
      });
    });
    assert.equal(ro.code, 0, 'the read-only store hung');
    const warned = JSON.parse(ro.out) as string[];
    assert.equal(warned.filter((m) => m.includes('textSha256 does not match')).length, 1, warned.join('\n'));
    assert.ok(fs.existsSync(newest), 'a read-only store moved the file');
    // the CLI in a real process (a hang is killed by the timeout)
    const r = await proc(['versions', 'support_bot.yml'], ws, 30_000);
    assert.equal(r.timedOut, false, 'promptopt versions hung');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.err.split('textSha256 does not match').length - 1, 1, r.err);
  });
});
