import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { parseDify } from '../../../src/core/dsl';
import { readPackage, readZip } from '../../../src/core/package/index';
import { VersionStore } from '../../../src/core/storage';
import { buildPackage, difyCheck, python } from '../../support/ifpkg';

const FIXTURE = path.resolve(__dirname, '../../../../test/fixtures/messy/support_bot.yml');
const SYSTEM_ID = '1711000000002/msg:5c1e2c1a-0000-4000-8000-000000000001';

async function cli(args: string[], cwd: string) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {}, cwd, signal: new AbortController().signal });
  return { code, out, err };
}

/** Raw bytes (local header + data) of every member but the two a write-back changes. */
function untouched(bytes: Buffer): Map<string, Buffer> {
  const z = readZip(bytes, 'p');
  return new Map(z.entries.filter((e) => e.name !== 'app.yaml' && e.name !== 'manifest.yaml').map((e) => [e.name, Buffer.from(bytes.subarray(e.localOffset, e.dataEnd))]));
}

describe('cli: commands on a .ifpkg package', function () {
  this.timeout(60_000);
  let ws: string;
  let pkgFile: string;
  let original: Buffer;
  beforeEach(() => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-ifpkg-cli-'));
    fs.mkdirSync(path.join(ws, '.git'));
    fs.writeFileSync(path.join(ws, 'soul.md'), 'You are careful.\n');
    pkgFile = path.join(ws, 'bot.ifpkg');
    original = buildPackage(FIXTURE, pkgFile, { 'soul.md': path.join(ws, 'soul.md') });
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  /** Dify's checks pass and every member the write-back does not own is byte-identical. */
  function assertSound(): void {
    assert.equal(difyCheck(pkgFile), 'ok');
    const now = untouched(fs.readFileSync(pkgFile));
    const before = untouched(original);
    assert.deepEqual([...now.keys()], [...before.keys()]);
    for (const [k, v] of before) assert.ok(now.get(k)?.equals(v), `${k} is byte-identical`);
  }

  it('extract and analyze read the package; positions name the member (bot.ifpkg!/app.yaml:line:col)', async () => {
    const yml = await cli(['extract', '--json', FIXTURE], ws);
    const r = await cli(['extract', '--json', 'bot.ifpkg'], ws);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), JSON.parse(yml.out));
    const a = await cli(['analyze', 'bot.ifpkg'], ws);
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /Answer Writer · llm-message \(system\) · bot\.ifpkg!\/app\.yaml:\d+:\d+/);
  });

  it('set writes into app.yaml; Dify accepts the package; set back restores the app.yaml text', async () => {
    const before = readPackage(original, 'p');
    const old = parseDify(before.appText).prompts.find((p) => p.id === SYSTEM_ID)!.text;
    const r = await cli(['set', 'bot.ifpkg', '--prompt', SYSTEM_ID, '--text', 'Answer the customer politely.'], ws);
    assert.equal(r.code, 0, r.err);
    assertSound();
    const now = readPackage(fs.readFileSync(pkgFile), 'p');
    assert.equal(parseDify(now.appText).prompts.find((p) => p.id === SYSTEM_ID)!.text, 'Answer the customer politely.');
    assert.equal(python('print(len(zipfile.ZipFile(sys.argv[1]).read("app.yaml")))', pkgFile).trim(), String(now.appBytes.length));
    const back = await cli(['set', 'bot.ifpkg', '--prompt', SYSTEM_ID, '--text', old], ws);
    assert.equal(back.code, 0, back.err);
    assertSound();
    assert.equal(parseDify(readPackage(fs.readFileSync(pkgFile), 'p').appText).prompts.find((p) => p.id === SYSTEM_ID)!.text, old);
  });

  it('optimize --write, versions and rollback keep the history per package', async () => {
    const o = await cli(['optimize', '--write', '--json', 'bot.ifpkg'], ws);
    assert.equal(o.code, 0, o.err);
    assertSound();
    const store = await VersionStore.open(ws);
    try {
      const versions = await store.list('bot.ifpkg', SYSTEM_ID);
      assert.deepEqual(versions.map((v) => v.status), ['accepted', 'baseline']);
    } finally {
      await store.close();
    }
    const v = await cli(['versions', 'bot.ifpkg', '--prompt', SYSTEM_ID], ws);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /accepted/);
    const store2 = await VersionStore.open(ws);
    const baseline = (await store2.list('bot.ifpkg', SYSTEM_ID)).find((x) => x.status === 'baseline')!;
    await store2.close();
    const rb = await cli(['rollback', 'bot.ifpkg', '--prompt', SYSTEM_ID, '--to', baseline.version], ws);
    assert.equal(rb.code, 0, rb.err);
    assertSound();
    assert.equal(parseDify(readPackage(fs.readFileSync(pkgFile), 'p').appText).prompts.find((p) => p.id === SYSTEM_ID)!.text, baseline.text);
  });

  it('apply writes a patch file into the package', async () => {
    const patch = path.join(ws, 'p.json');
    fs.writeFileSync(patch, JSON.stringify([{ selector: { by: 'type', value: 'question-classifier' }, mode: 'prepend', content: 'Answer with one label.' }]));
    const r = await cli(['apply', 'bot.ifpkg', 'p.json'], ws);
    assert.equal(r.code, 0, r.err);
    assertSound();
    const doc = parseDify(readPackage(fs.readFileSync(pkgFile), 'p').appText);
    assert.ok(doc.prompts.some((p) => p.kind === 'classifier-instruction' && p.text.startsWith('Answer with one label.\n')));
  });

  it('a package Dify would refuse is refused with its code, and left untouched', async () => {
    python(
      `z=zipfile.ZipFile(sys.argv[1],"a"); z.writestr("stray.txt","x"); z.close()`,
      pkgFile,
    );
    const bad = fs.readFileSync(pkgFile);
    for (const args of [['extract', 'bot.ifpkg'], ['set', 'bot.ifpkg', '--prompt', SYSTEM_ID, '--text', 'x'], ['optimize', '--write', 'bot.ifpkg']]) {
      const r = await cli(args, ws);
      assert.notEqual(r.code, 0);
      assert.match(r.err, /bot\.ifpkg.*stray\.txt/);
      assert.match(r.err, /PACKAGE_MEMBERS_MISMATCH|do not match the manifest/);
      assert.ok(fs.readFileSync(pkgFile).equals(bad), `${args[0]} left the file untouched`);
    }
  });
});
