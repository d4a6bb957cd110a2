import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseDify, replacePrompts } from '../../../src/core/dsl/index';
import { DslError } from '../../../src/core/errors';
import { DSL_MAX_SIZE, PACKAGE_MAX_ENTRIES, readPackage, readZip, writePackageApp } from '../../../src/core/package/index';
import { buildPackage, difyCheck, python } from '../../support/ifpkg';

const FIXTURES = path.resolve(__dirname, '../../../../test/fixtures/dify');
const DSL = path.join(FIXTURES, 'Claude3 Code Translation.yml');

function refused(bytes: Buffer, code: string, message?: RegExp): void {
  assert.throws(
    () => readPackage(bytes, 'x.ifpkg'),
    (e: unknown) => {
      assert.ok(e instanceof DslError, String(e));
      assert.equal(e.code, code, e.message);
      if (message) assert.match(e.message, message);
      assert.match(e.message, /x\.ifpkg/);
      return true;
    },
  );
}

/** Raw bytes of each member (local header + data) by name. */
function rawMembers(bytes: Buffer): Map<string, Buffer> {
  const z = readZip(bytes, 'p');
  return new Map(z.entries.map((e) => [e.name, bytes.subarray(e.localOffset, e.dataEnd)]));
}

describe('package: .ifpkg reader and writer (Dify app packages)', function () {
  this.timeout(60_000);
  let tmp: string;
  let pkgFile: string;
  let pkg: Buffer;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-ifpkg-'));
    pkgFile = path.join(tmp, 'app.ifpkg');
    fs.writeFileSync(path.join(tmp, 'notes.md'), '# agent notes\n'.repeat(50));
    pkg = buildPackage(DSL, pkgFile, { 'notes.md': path.join(tmp, 'notes.md') });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads a package as Dify writes it: app.yaml is the DSL, byte for byte', () => {
    const p = readPackage(pkg, 'app.ifpkg');
    assert.deepEqual(p.appBytes, fs.readFileSync(DSL));
    assert.equal(p.manifest.app.path, 'app.yaml');
    assert.deepEqual(p.manifest.resources.map((r) => r.path), ['f_000001.md']);
    assert.deepEqual(readZip(pkg, 'p').entries.map((e) => e.name), ['f_000001.md', 'manifest.yaml', 'app.yaml']);
    assert.equal(parseDify(p.appText).prompts.length, parseDify(fs.readFileSync(DSL, 'utf8')).prompts.length);
  });

  it('write-back: Dify accepts the package; other members raw-identical; the manifest changes only in size and sha256', () => {
    const p = readPackage(pkg, 'app.ifpkg');
    const doc = parseDify(p.appText);
    const target = doc.prompts[0];
    const newText = replacePrompts(doc, [{ id: target.id, text: `${target.text}\nAnswer in English.` }], { verify: true });
    const out = writePackageApp(p, newText, 'app.ifpkg');
    const outFile = path.join(tmp, 'out.ifpkg');
    fs.writeFileSync(outFile, out);
    assert.equal(difyCheck(outFile), 'ok');
    const before = rawMembers(pkg);
    const after = rawMembers(out);
    assert.deepEqual([...after.keys()], [...before.keys()], 'same names, same order');
    assert.ok(after.get('f_000001.md')?.equals(before.get('f_000001.md') as Buffer), 'the resource member is byte-identical');
    const q = readPackage(out, 'out.ifpkg');
    assert.equal(q.appText, newText);
    const m0 = p.manifest.text;
    const m1 = q.manifest.text;
    const expected = m0
      .replace(`sha256: ${p.manifest.app.sha256}`, `sha256: ${q.manifest.app.sha256}`)
      .replace(`size: ${p.manifest.app.size}\nformat`, `size: ${q.manifest.app.size}\nformat`);
    assert.notEqual(q.manifest.app.sha256, p.manifest.app.sha256);
    assert.equal(m1, expected, 'only the app entry size and sha256 values changed');
    assert.equal(q.manifest.app.size, Buffer.byteLength(newText));
    // python reads the same manifest values
    assert.equal(python('m=yaml.safe_load(zipfile.ZipFile(sys.argv[1]).read("manifest.yaml"));print(m["apps"][0]["size"])', outFile).trim(), String(Buffer.byteLength(newText)));
  });

  it('setting a prompt and then its old text back gives the original app.yaml bytes, and the original manifest', () => {
    // A file whose prompts the DSL write-back re-encodes in their original style (block literals):
    // for a double-quoted prompt the DSL layer writes a block literal, so its bytes differ (a DSL matter).
    const dsl = path.join(FIXTURES, 'Yuta-95__templates__housing-loan__housing-loan-v1.0.0.yaml');
    const original = buildPackage(dsl, path.join(tmp, 'loan.ifpkg'));
    const p = readPackage(original, 'loan.ifpkg');
    const id = 'hl-node-llm-extract/msg:hl-system-extract';
    const old = parseDify(p.appText).prompts.find((x) => x.id === id);
    assert.ok(old);
    const changed = writePackageApp(p, replacePrompts(parseDify(p.appText), [{ id, text: `${old.text}\nAnswer in English.` }]), 'loan.ifpkg');
    assert.ok(!changed.equals(original));
    const q = readPackage(changed, 'loan.ifpkg');
    const back = writePackageApp(q, replacePrompts(parseDify(q.appText), [{ id, text: old.text }]), 'loan.ifpkg');
    assert.deepEqual(readPackage(back, 'b').appBytes, fs.readFileSync(dsl));
    assert.equal(readPackage(back, 'b').manifest.text, p.manifest.text);
    assert.equal(difyCheck(path.join(tmp, 'loan.ifpkg')), 'ok');
  });

  it('the same text gives the same bytes (nothing rewritten)', () => {
    const p = readPackage(pkg, 'app.ifpkg');
    assert.equal(writePackageApp(p, p.appText, 'app.ifpkg'), pkg);
  });

  describe('refusals (typed codes; each names the package)', () => {
    const build = (code: string): Buffer => {
      const out = path.join(tmp, `case-${Math.random().toString(16).slice(2)}.ifpkg`);
      python(code, DSL, out);
      return fs.readFileSync(out);
    };
    const MANIFEST = `def manifest(payload, **kw):
    m = {"format": "dify.app", "format_version": 1, "apps": [{"path": "app.yaml", "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}]}
    m.update(kw)
    return yaml.safe_dump(m)
payload = open(sys.argv[1], "rb").read()
`;

    it('a roster agent package (format: dify.roster-agent)', () => {
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", yaml.safe_dump({"format":"dify.roster-agent","format_version":1}))
z.writestr("app.yaml", payload); z.close()`), 'PACKAGE_ROSTER_AGENT', /roster agent/);
    });
    it('members that are not exactly the manifest paths (an extra one, a missing one)', () => {
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload)); z.writestr("app.yaml", payload); z.writestr("extra.txt", "x"); z.close()`), 'PACKAGE_MEMBERS_MISMATCH', /extra\.txt/);
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload, apps=[{"path":"main.yaml","size":len(payload),"sha256":hashlib.sha256(payload).hexdigest()}])); z.writestr("app.yaml", payload); z.close()`), 'PACKAGE_MEMBERS_MISMATCH', /main\.yaml/);
    });
    it('the app entry size or sha256 does not match', () => {
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload + b"x")); z.writestr("app.yaml", payload); z.close()`), 'PACKAGE_INTEGRITY', /bytes but the manifest says/);
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
m = manifest(payload).replace(hashlib.sha256(payload).hexdigest(), "0"*63 + "a")
z.writestr("manifest.yaml", m); z.writestr("app.yaml", payload); z.close()`), 'PACKAGE_INTEGRITY', /sha256/);
    });
    it('a manifest Dify would not validate (two apps, an unknown key, format_version 2)', () => {
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
a={"path":"app.yaml","size":len(payload),"sha256":hashlib.sha256(payload).hexdigest()}
z.writestr("manifest.yaml", manifest(payload, apps=[a, dict(a, path="b.yaml")])); z.writestr("app.yaml", payload); z.writestr("b.yaml", payload); z.close()`), 'PACKAGE_MANIFEST_INVALID', /exactly one/);
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload, extra=1)); z.writestr("app.yaml", payload); z.close()`), 'PACKAGE_MANIFEST_INVALID', /unexpected key "extra"/);
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload, format_version=2)); z.writestr("app.yaml", payload); z.close()`), 'PACKAGE_MANIFEST_INVALID', /format_version/);
    });
    it('a DSL that is not kind: app with a known mode, or uses an alias', () => {
      const withDsl = (dsl: string) => build(`${MANIFEST}payload=${JSON.stringify(dsl)}.encode()
z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload)); z.writestr("app.yaml", payload); z.close()`);
      refused(withDsl('app:\n  mode: workflow\nkind: rag_pipeline\nworkflow: {}\n'), 'PACKAGE_DSL_INVALID', /kind/);
      refused(withDsl('app:\n  mode: robot\nkind: app\nworkflow: {}\n'), 'PACKAGE_DSL_INVALID', /robot/);
      refused(withDsl('app:\n  mode: workflow\nkind: app\nx: &a 1\ny: *a\n'), 'PACKAGE_DSL_INVALID', /alias/);
    });
    it('names with ".." or an absolute path', () => {
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload)); z.writestr("app.yaml", payload); z.writestr(zipfile.ZipInfo("../evil.txt"), "x"); z.close()`), 'PACKAGE_UNSAFE_PATH', /\.\./);
      // zipfile strips a leading "/" when writing; patch the name bytes in both headers instead.
      const b = build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload)); z.writestr("app.yaml", payload); z.writestr("Q_evil", "x"); z.close()`);
      const patched = Buffer.from(b.toString('latin1').split('Q_evil').join('/evil1'), 'latin1');
      refused(patched, 'PACKAGE_UNSAFE_PATH', /absolute/);
    });
    it('encrypted entries', () => {
      const b = Buffer.from(pkg);
      const z = readZip(b, 'p');
      const e = z.entries.find((x) => x.name === 'app.yaml');
      assert.ok(e);
      b.writeUInt16LE(e.flags | 1, e.centralStart + 8);
      b.writeUInt16LE(e.flags | 1, e.localOffset + 6);
      refused(b, 'PACKAGE_ENCRYPTED', /encrypted/);
    });
    it('zip bombs: a declared size over DSL_MAX_SIZE, a member inflating past its declared size, too many members', () => {
      refused(build(`${MANIFEST}payload = b"kind: app\\n" + b" " * ${DSL_MAX_SIZE + 10}
z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload)); z.writestr("app.yaml", payload); z.close()`), 'PACKAGE_TOO_LARGE');
      // A header that lies: app.yaml declares 1000 bytes but inflates to 5 MB; inflation stops at the bound.
      const b = Buffer.from(build(`${MANIFEST}payload = b"app:\\n  mode: workflow\\nkind: app\\n#" + b"a" * 5000000
z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_DEFLATED)
z.writestr("manifest.yaml", manifest(payload)); z.writestr("app.yaml", payload); z.close()`));
      const e = readZip(b, 'p').entries.find((x) => x.name === 'app.yaml');
      assert.ok(e);
      b.writeUInt32LE(1000, e.centralStart + 24);
      b.writeUInt32LE(1000, e.localOffset + 22);
      refused(b, 'PACKAGE_INTEGRITY', /more bytes than its header declares/);
      refused(build(`${MANIFEST}z=zipfile.ZipFile(sys.argv[2],"w",zipfile.ZIP_STORED)
z.writestr("manifest.yaml", manifest(payload)); z.writestr("app.yaml", payload)
for i in range(${PACKAGE_MAX_ENTRIES}): z.writestr("f%d" % i, "")
z.close()`), 'PACKAGE_TOO_LARGE', /members/);
    });
    it('not a ZIP at all', () => {
      refused(fs.readFileSync(DSL), 'PACKAGE_NOT_ZIP');
      refused(pkg.subarray(0, pkg.length - 30), 'PACKAGE_NOT_ZIP');
    });
  });
});
