import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VersionStore, type SaveVersionInput } from '../../../src/core/storage';
import { StorageError } from '../../../src/core/errors';
import { runCli } from '../../../src/cli/main';

const WF = 'flows/app.yml';
const P = '1718246807593/prompt_template/0';
const S = (o: number) => ({ overall: o, clarity: o, efficiency: o, structure: o });

function tmpWs(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'vstore-'));
}

function code(c: string) {
  return (e: unknown) => e instanceof StorageError && e.code === c;
}

function proposal(text: string, improvement: number, extra: Partial<SaveVersionInput> = {}): SaveVersionInput {
  return {
    workflow: WF,
    promptId: P,
    text,
    status: 'proposed',
    analysis: S(50 + improvement),
    optimization: { strategy: 'clarity_focus', before: S(50), after: S(50 + improvement), improvement, confidence: 0.7, rationale: 'clearer' },
    ...extra,
  };
}

function promptDir(ws: string): string {
  const wfDir = path.join(ws, '.optimizer', 'versions');
  const w = fs.readdirSync(wfDir)[0]!;
  const p = fs.readdirSync(path.join(wfDir, w))[0]!;
  return path.join(wfDir, w, p);
}

describe('VersionStore', () => {
  let ws: string;
  let warnings: string[];
  let store: VersionStore;
  beforeEach(async () => {
    ws = tmpWs();
    warnings = [];
    store = await VersionStore.open(ws, { onWarning: (m) => warnings.push(m) });
  });
  afterEach(async () => {
    await store.close();
    fs.rmSync(ws, { recursive: true, force: true });
  });

  it('creates .optimizer/ with a .gitignore for caches only', () => {
    const gi = fs.readFileSync(path.join(ws, '.optimizer', '.gitignore'), 'utf8');
    for (const d of ['index/', 'locks/', 'tmp/', 'cache/', 'runs/']) assert.match(gi, new RegExp(`^${d}$`, 'm'));
    for (const d of ['versions', 'datasets', 'config.yaml']) assert.doesNotMatch(gi, new RegExp(`^${d}`, 'm'));
  });

  it('numbers 1.0.0 for the baseline, then major/minor/patch by improvement, with real parents', async () => {
    const b = await store.ensureBaseline(WF, P, 'original', S(40));
    assert.equal(b.version, '1.0.0');
    assert.equal(b.status, 'baseline');
    const v1 = await store.save(proposal('small', 2, { parentVersion: '1.0.0' }));
    const v2 = await store.save(proposal('medium', 5, { parentVersion: v1.version }));
    const v3 = await store.save(proposal('big', 15, { parentVersion: v2.version }));
    const v4 = await store.save(proposal('none', 0));
    assert.deepEqual([v1.version, v2.version, v3.version, v4.version], ['1.0.1', '1.1.0', '2.0.0', '2.0.1']);
    assert.deepEqual((await store.lineage(WF, P, '2.0.0')).map((v) => v.version), ['2.0.0', '1.1.0', '1.0.1', '1.0.0']);
    const onDisk = JSON.parse(fs.readFileSync(path.join(promptDir(ws), '2.0.0.json'), 'utf8'));
    assert.equal(onDisk.schemaVersion, 1);
    assert.equal(onDisk.parentVersion, '1.1.0');
    assert.equal(onDisk.optimization.strategy, 'clarity_focus');
    assert.equal(onDisk.text, 'big');
  });

  it('saves a baseline once per distinct original text', async () => {
    const a = await store.ensureBaseline(WF, P, 'text A');
    assert.equal((await store.ensureBaseline(WF, P, 'text A')).version, a.version);
    const b = await store.ensureBaseline(WF, P, 'text B');
    assert.equal(b.version, '2.0.0');
    assert.equal((await store.ensureBaseline(WF, P, 'text A')).version, '1.0.0');
    assert.equal(await store.count(WF, P), 2);
    const other = await VersionStore.open(ws);
    assert.equal((await other.ensureBaseline(WF, P, 'text B')).version, '2.0.0');
    await other.close();
  });

  it('gets, lists newest first with paging, latest, best, count', async () => {
    await store.ensureBaseline(WF, P, 'base', S(40));
    for (let i = 0; i < 7; i++) await store.save(proposal(`t${i}`, i === 3 ? 30 : 1));
    const rejected = await store.save(proposal('r', 1, { analysis: S(99) }));
    await store.setStatus(WF, P, rejected.version, 'rejected');
    const all = await store.list(WF, P, { limit: 100 });
    assert.equal(all.length, 9);
    assert.deepEqual(all.map((v) => v.version), ['2.0.4', '2.0.3', '2.0.2', '2.0.1', '2.0.0', '1.0.3', '1.0.2', '1.0.1', '1.0.0']);
    assert.deepEqual((await store.list(WF, P, { offset: 2, limit: 3 })).map((v) => v.version), ['2.0.2', '2.0.1', '2.0.0']);
    // A deep page reads its own files only.
    const cold = await VersionStore.open(ws, { readOnly: true });
    assert.deepEqual((await cold.list(WF, P, { offset: 6, limit: 2 })).map((v) => v.version), ['1.0.2', '1.0.1']);
    assert.equal(cold.stats().misses, 2);
    await cold.close();
    assert.equal((await store.latest(WF, P))?.version, '2.0.4');
    assert.equal((await store.get(WF, P, '1.0.2')).text, 't1');
    assert.equal((await store.best(WF, P))?.version, '2.0.0'); // 80; the rejected 99 does not count
    assert.equal(await store.latest(WF, 'nope'), undefined);
    assert.deepEqual(await store.list(WF, 'nope'), []);
    assert.equal(await store.best(WF, 'nope'), undefined);
  });

  it('returns deeply frozen objects, so callers cannot corrupt the cache', async () => {
    const v = await store.save(proposal('x', 1, { metadata: { tags: ['a'] } }));
    assert.throws(() => {
      (v as { text: string }).text = 'hacked';
    });
    assert.throws(() => (v.metadata.tags as string[]).push('b'));
    assert.throws(() => {
      (v.analysis as { overall: number }).overall = 0;
    });
    const again = await store.get(WF, P, v.version);
    assert.equal(again.text, 'x');
    assert.deepEqual(again.metadata.tags, ['a']);
    const s = store.stats();
    assert.equal(s.hits, 1);
    assert.equal(s.hitRate, 1);
  });

  it('reports cache misses and hit rate', async () => {
    await store.save(proposal('x', 1));
    const fresh = await VersionStore.open(ws);
    await fresh.get(WF, P, '1.0.0');
    await fresh.get(WF, P, '1.0.0');
    await fresh.get(WF, P, '1.0.0');
    assert.deepEqual({ ...fresh.stats(), size: 0 }, { hits: 2, misses: 1, hitRate: 2 / 3, size: 0 });
    await fresh.close();
  });

  it('compares two versions: line diff and score deltas', async () => {
    await store.save(proposal('line one\nline two\nline three\n', 0, { analysis: S(50) }));
    await store.save(proposal('line one\nline 2\nline three\nline four\n', 10, { analysis: { overall: 60, clarity: 70, efficiency: 40, structure: 55 } }));
    const c = await store.compare(WF, P, '1.0.0', '1.1.0');
    assert.equal(c.linesAdded, 2);
    assert.equal(c.linesRemoved, 1);
    assert.deepEqual(c.scoreDelta, { overall: 10, clarity: 20, efficiency: -10, structure: 5 });
    assert.match(c.patch, /^-line two$/m);
    assert.match(c.patch, /^\+line four$/m);
  });

  it('rolls back: a new version copying the target, restoredFrom persisted', async () => {
    await store.ensureBaseline(WF, P, 'orig', S(40));
    await store.save(proposal('better', 20));
    const r = await store.rollback(WF, P, '1.0.0');
    assert.equal(r.version, '2.0.1');
    assert.equal(r.text, 'orig');
    assert.equal(r.restoredFrom, '1.0.0');
    assert.equal(r.parentVersion, '2.0.0');
    assert.equal(r.status, 'accepted');
    const fresh = await VersionStore.open(ws);
    assert.equal((await fresh.get(WF, P, '2.0.1')).restoredFrom, '1.0.0');
    await fresh.close();
    await assert.rejects(store.rollback(WF, P, '7.0.0'), code('STORAGE_NOT_FOUND'));
  });

  it('sets status atomically and persists it; refuses baseline changes', async () => {
    await store.ensureBaseline(WF, P, 'orig');
    const v = await store.save(proposal('p', 1));
    const acc = await store.setStatus(WF, P, v.version, 'accepted');
    assert.equal(acc.status, 'accepted');
    assert.ok(acc.updatedAt);
    const fresh = await VersionStore.open(ws);
    assert.equal((await fresh.get(WF, P, v.version)).status, 'accepted');
    await fresh.close();
    await assert.rejects(store.setStatus(WF, P, '1.0.0', 'rejected'), code('STORAGE_INVALID_INPUT'));
    await assert.rejects(store.setStatus(WF, P, v.version, 'baseline'), code('STORAGE_INVALID_INPUT'));
    await assert.rejects(store.setStatus(WF, P, '3.0.0', 'accepted'), code('STORAGE_NOT_FOUND'));
  });

  it('sees a status change made by another store instance within the freshness window (cache invalidated)', async () => {
    const v = await store.save(proposal('p', 1));
    await store.get(WF, P, v.version); // cached here
    const other = await VersionStore.open(ws);
    await other.setStatus(WF, P, v.version, 'rejected');
    await other.close();
    await new Promise((r) => setTimeout(r, 60)); // default freshnessMs is 50
    assert.equal((await store.get(WF, P, v.version)).status, 'rejected');
    // freshnessMs 0: every get looks at the log, so the change is visible at once
    const strict = await VersionStore.open(ws, { freshnessMs: 0 });
    assert.equal((await strict.get(WF, P, v.version)).status, 'rejected');
    const third = await VersionStore.open(ws);
    await third.setStatus(WF, P, v.version, 'accepted');
    await third.close();
    assert.equal((await strict.get(WF, P, v.version)).status, 'accepted');
    await strict.close();
  });

  it('serves a cached get without touching the disk inside the freshness window, and looks again after it', async () => {
    const s = await VersionStore.open(ws, { freshnessMs: 10_000 });
    const v = await s.save(proposal('p', 1));
    assert.equal((await s.get(WF, P, v.version)).status, 'proposed');
    const other = await VersionStore.open(ws);
    await other.setStatus(WF, P, v.version, 'accepted');
    await other.close();
    // inside the window: the cached object, not re-read (documented staleness of at most freshnessMs)
    assert.equal((await s.get(WF, P, v.version)).status, 'proposed');
    // a version the store does not know yet is looked up at once, and brings the view up to date
    const w = await (await VersionStore.open(ws)).save(proposal('q', 1));
    assert.equal((await s.get(WF, P, w.version)).version, w.version);
    assert.equal((await s.get(WF, P, v.version)).status, 'accepted');
    // latest/list always look at the log
    const other2 = await VersionStore.open(ws);
    await other2.setStatus(WF, P, w.version, 'rejected');
    await other2.close();
    assert.equal((await s.latest(WF, P))?.status, 'rejected');
    await s.close();
  });

  it('deletes a version and never gives its number out again', async () => {
    await store.save(proposal('a', 1));
    await store.save(proposal('b', 1));
    await store.delete(WF, P, '1.0.1');
    await assert.rejects(store.get(WF, P, '1.0.1'), code('STORAGE_NOT_FOUND'));
    await assert.rejects(store.delete(WF, P, '1.0.1'), code('STORAGE_NOT_FOUND'));
    assert.equal((await store.save(proposal('c', 1))).version, '1.0.2');
    assert.deepEqual((await store.list(WF, P)).map((v) => v.version), ['1.0.2', '1.0.0']);
  });

  it('lists workflows and prompts, including hostile ids, all inside .optimizer/', async () => {
    const ids = ['../../escape', 'CON', 'con', 'a/b\\c', 'nul\0', 'x'.repeat(400), 'Foo', 'foo', '中文'];
    for (const id of ids) await store.save({ workflow: '../outside.yml', promptId: id, text: id, status: 'proposed' });
    await store.save({ workflow: 'AUX', promptId: 'p', text: 't', status: 'proposed' });
    assert.deepEqual(await store.listPrompts('../outside.yml'), [...ids].sort());
    assert.deepEqual(await store.listWorkflows(), ['../outside.yml', 'AUX'].sort());
    for (const id of ids) assert.equal((await store.latest('../outside.yml', id))?.text, id);
    const entries = fs.readdirSync(ws);
    assert.deepEqual(entries, ['.optimizer']);
    const versionsRoot = path.join(ws, '.optimizer', 'versions');
    const wfDirs = fs.readdirSync(versionsRoot);
    assert.equal(wfDirs.length, 2);
    const promptDirs = fs.readdirSync(path.join(versionsRoot, wfDirs.find((d) => d.includes('outside'))!));
    assert.equal(promptDirs.length, ids.length);
    assert.equal(new Set(promptDirs.map((d) => d.toLowerCase())).size, ids.length);
  });

  it('rejects bad input with typed errors', async () => {
    await assert.rejects(store.save({ workflow: '', promptId: P, text: 'x', status: 'proposed' }), code('STORAGE_INVALID_ID'));
    await assert.rejects(store.save({ workflow: WF, promptId: '', text: 'x', status: 'proposed' }), code('STORAGE_INVALID_ID'));
    await assert.rejects(store.save(proposal('x', 1, { parentVersion: '9.9.9' })), code('STORAGE_NOT_FOUND'));
    await assert.rejects(store.save(proposal('x', 1, { parentVersion: 'v1' })), code('STORAGE_INVALID_INPUT'));
    await assert.rejects(store.save({ ...proposal('x', Number.NaN) }), code('STORAGE_INVALID_INPUT'));
    await assert.rejects(store.save({ ...proposal('x', 1), status: 'bogus' as 'proposed' }), code('STORAGE_INVALID_INPUT'));
    await assert.rejects(store.get(WF, P, 'latest'), code('STORAGE_INVALID_INPUT'));
    await assert.rejects(store.get(WF, P, '1.0.0'), code('STORAGE_NOT_FOUND'));
    assert.equal(await store.count(WF, P), 0);
  });

  it('is read-only when asked: writes refused, nothing created', async () => {
    const ws2 = tmpWs();
    const ro = await VersionStore.open(ws2, { readOnly: true });
    await assert.rejects(ro.save(proposal('x', 1)), code('STORAGE_READ_ONLY'));
    await assert.rejects(ro.ensureBaseline(WF, P, 'x'), code('STORAGE_READ_ONLY'));
    await assert.rejects(ro.rollback(WF, P, '1.0.0'), code('STORAGE_READ_ONLY'));
    assert.equal(await ro.latest(WF, P), undefined);
    assert.deepEqual(fs.readdirSync(ws2), []);
    await ro.close();
    await assert.rejects(ro.latest(WF, P), code('STORAGE_CLOSED'));
    fs.rmSync(ws2, { recursive: true });
  });

  it('caches what was written, not the caller\'s objects: same as another process reads, and the input is left alone', async () => {
    const when = new Date('2026-01-02T03:04:05.000Z');
    const meta = { when, nan: Number.NaN, nested: { list: [1] } };
    const v = await store.save(proposal('x', 1, { metadata: meta }));
    assert.equal(v.metadata.when, '2026-01-02T03:04:05.000Z');
    assert.equal(v.metadata.nan, null);
    assert.ok(!Object.isFrozen(meta.nested), 'save froze the caller\'s own object');
    meta.nested.list.push(2);
    const other = await VersionStore.open(ws, { readOnly: true });
    assert.deepEqual((await store.get(WF, P, v.version)).metadata, (await other.get(WF, P, v.version)).metadata);
    assert.deepEqual((await store.get(WF, P, v.version)).metadata.nested, { list: [1] });
    await other.close();
  });

  it('quarantines a folder standing where a version file should be; list/latest/save keep working', async () => {
    for (let i = 0; i < 2; i++) await store.save(proposal(`t${i}`, 1));
    fs.mkdirSync(path.join(promptDir(ws), '1.0.9.json'));
    const fresh = await VersionStore.open(ws, { onWarning: (m) => warnings.push(m) });
    assert.equal((await fresh.latest(WF, P))?.version, '1.0.1');
    assert.deepEqual((await fresh.list(WF, P)).map((v) => v.version), ['1.0.1', '1.0.0']);
    assert.match(warnings.join('\n'), /Quarantined .*1\.0\.9\.json \(a folder stands where the version file should be\)/);
    assert.ok(!fs.existsSync(path.join(promptDir(ws), '1.0.9.json')), 'the folder was not moved away');
    const next = await fresh.save(proposal('next', 1));
    assert.equal((await fresh.get(WF, P, next.version)).text, 'next');
    assert.equal((await fresh.latest(WF, P))?.version, next.version);
    await fresh.close();
  });

  it('reports a file-system failure as STORAGE_IO naming the path', async () => {
    // A file where the workflow's folder must go: creating the prompt's folder fails.
    fs.mkdirSync(path.join(ws, '.optimizer', 'versions'), { recursive: true });
    const other = 'other.yml';
    await store.save({ workflow: other, promptId: P, text: 'first', status: 'baseline' });
    const dirs = fs.readdirSync(path.join(ws, '.optimizer', 'versions')).map((d) => path.join(ws, '.optimizer', 'versions', d));
    assert.equal(dirs.length, 1);
    fs.rmSync(dirs[0], { recursive: true });
    fs.writeFileSync(dirs[0], 'not a folder');
    const fresh = await VersionStore.open(ws, { onWarning: (m) => warnings.push(m) });
    await assert.rejects(
      fresh.save({ workflow: other, promptId: P, text: 'second', status: 'proposed' }),
      (e: unknown) => e instanceof StorageError && e.code === 'STORAGE_IO' && e.message.includes(dirs[0]),
    );
    await fresh.close();
  });

  it('quarantines a corrupt or partial file once; list/latest keep working', async () => {
    for (let i = 0; i < 3; i++) await store.save(proposal(`t${i}`, 1));
    const dir = promptDir(ws);
    fs.writeFileSync(path.join(dir, '1.0.2.json'), '{"schemaVersion": 1, "workflow": "fl'); // partial
    fs.writeFileSync(path.join(dir, '1.0.1.json'), JSON.stringify({ schemaVersion: 1, hello: 'world' })); // invalid shape
    const fresh = await VersionStore.open(ws, { onWarning: (m) => warnings.push(m) });
    assert.equal((await fresh.latest(WF, P))?.version, '1.0.0');
    assert.deepEqual((await fresh.list(WF, P)).map((v) => v.version), ['1.0.0']);
    const q = warnings.filter((w) => w.includes('Quarantined'));
    assert.equal(q.length, 2, warnings.join('\n'));
    assert.match(q.join('\n'), /1\.0\.2\.json/);
    const qdir = path.join(ws, '.optimizer', 'quarantine');
    assert.equal(fs.readdirSync(path.join(qdir, fs.readdirSync(qdir)[0]!, fs.readdirSync(path.join(qdir, fs.readdirSync(qdir)[0]!))[0]!)).length, 2);
    await fresh.list(WF, P);
    assert.equal(warnings.filter((w) => w.includes('Quarantined')).length, 2);
    // numbers of quarantined files are not reused
    assert.equal((await fresh.save(proposal('next', 1))).version, '1.0.3');
    await fresh.close();
  });

  it('reports STORAGE_CORRUPT when getting a corrupt version', async () => {
    await store.save(proposal('a', 1));
    await store.save(proposal('b', 1));
    const dir = promptDir(ws);
    const f = path.join(dir, '1.0.1.json');
    const j = JSON.parse(fs.readFileSync(f, 'utf8'));
    j.text = 'tampered'; // no longer matches textSha256
    fs.writeFileSync(f, JSON.stringify(j));
    const fresh = await VersionStore.open(ws, { onWarning: (m) => warnings.push(m) });
    await assert.rejects(fresh.get(WF, P, '1.0.1'), code('STORAGE_CORRUPT'));
    assert.equal((await fresh.latest(WF, P))?.version, '1.0.0');
    await fresh.close();
  });

  it('rebuilds the index when it is missing, corrupt or stale', async () => {
    for (let i = 0; i < 3; i++) await store.save(proposal(`t${i}`, 1));
    const indexDir = path.join(ws, '.optimizer', 'index');
    const [log] = fs.readdirSync(indexDir);
    // missing
    fs.rmSync(path.join(indexDir, log!));
    let s2 = await VersionStore.open(ws);
    assert.equal((await s2.latest(WF, P))?.version, '1.0.2');
    assert.ok(fs.existsSync(path.join(indexDir, log!)));
    await s2.close();
    // corrupt
    fs.writeFileSync(path.join(indexDir, log!), 'garbage\n{"op":"add"}\n');
    const w: string[] = [];
    s2 = await VersionStore.open(ws, { onWarning: (m) => w.push(m) });
    assert.deepEqual((await s2.list(WF, P)).map((v) => v.version), ['1.0.2', '1.0.1', '1.0.0']);
    assert.equal(w.length, 1);
    assert.equal((await s2.save(proposal('n', 1))).version, '1.0.3');
    // stale: a version file arrives behind the index's back (git pull)
    const dir = promptDir(ws);
    const j = JSON.parse(fs.readFileSync(path.join(dir, '1.0.3.json'), 'utf8'));
    j.version = '5.0.0';
    fs.writeFileSync(path.join(dir, '5.0.0.json'), JSON.stringify(j, null, 2));
    await new Promise((r) => setTimeout(r, 60)); // readers compare the directory at most every freshnessMs (50)
    assert.equal((await s2.latest(WF, P))?.version, '5.0.0');
    assert.equal((await store.latest(WF, P))?.version, '5.0.0');
    assert.equal((await store.save(proposal('after', 1))).version, '5.0.1');
    await s2.close();
  });

  it('cleans temp files of dead processes and recovers a stale lock', async () => {
    await store.save(proposal('a', 1));
    const tmpDir = path.join(ws, '.optimizer', 'tmp');
    fs.writeFileSync(path.join(tmpDir, '999999999-abcdef.tmp'), 'junk');
    fs.writeFileSync(path.join(tmpDir, `${process.pid}-abcdef.tmp`), 'mine, live');
    const lockDir = path.join(ws, '.optimizer', 'locks');
    const logName = fs.readdirSync(path.join(ws, '.optimizer', 'index'))[0]!;
    fs.writeFileSync(
      path.join(lockDir, logName.replace('.jsonl', '.lock')),
      JSON.stringify({ pid: 999999999, host: os.hostname(), time: Date.now(), token: 't', workflow: WF, promptId: P }),
    );
    // a dead writer's temp file next to the versions (see siblingTempName): a read-only store
    // leaves it, the recovery of the dead writer's lock removes it
    const vdir = promptDir(ws);
    const sibling = '.1.0.1.json.tmp-999999999-abc123';
    fs.writeFileSync(path.join(vdir, sibling), '{"partial');
    fs.rmSync(path.join(ws, '.optimizer', 'index', fs.readdirSync(path.join(ws, '.optimizer', 'index'))[0]!));
    const ro = await VersionStore.open(ws, { readOnly: true });
    assert.equal(await ro.count(WF, P), 1);
    await ro.close();
    assert.ok(fs.existsSync(path.join(vdir, sibling)));
    const w: string[] = [];
    const s2 = await VersionStore.open(ws, { onWarning: (m) => w.push(m), lockTimeoutMs: 2000 });
    assert.ok(!fs.existsSync(path.join(vdir, sibling)), 'dead writer temp file left');
    assert.deepEqual(fs.readdirSync(tmpDir), [`${process.pid}-abcdef.tmp`]);
    assert.deepEqual(fs.readdirSync(lockDir), []);
    assert.match(w.join('\n'), /Recovered the lock/);
    assert.equal((await s2.save(proposal('b', 1))).version, '1.0.1');
    await s2.close();
  });

  it('times out on a lock held by a live process', async () => {
    await store.save(proposal('a', 1));
    const lockDir = path.join(ws, '.optimizer', 'locks');
    const logName = fs.readdirSync(path.join(ws, '.optimizer', 'index'))[0]!;
    fs.writeFileSync(
      path.join(lockDir, logName.replace('.jsonl', '.lock')),
      JSON.stringify({ pid: process.ppid, host: os.hostname(), time: Date.now(), token: 't', workflow: WF, promptId: P }),
    );
    const s2 = await VersionStore.open(ws, { lockTimeoutMs: 150 });
    await assert.rejects(s2.save(proposal('b', 1)), code('STORAGE_LOCK_TIMEOUT'));
    await s2.close();
    // a live owner on this host never loses its lock, however old (breaking it would let two run)
    const s3 = await VersionStore.open(ws, { lockTimeoutMs: 300, staleLockMs: 50 });
    await new Promise((r) => setTimeout(r, 80));
    await assert.rejects(s3.save(proposal('b', 1)), code('STORAGE_LOCK_TIMEOUT'));
    await s3.close();
    // a lock from another host is stale once older than staleLockMs
    fs.writeFileSync(
      path.join(lockDir, logName.replace('.jsonl', '.lock')),
      JSON.stringify({ pid: process.ppid, host: `not-${os.hostname()}`, time: Date.now() - 1000, token: 't2', workflow: WF, promptId: P }),
    );
    const s4 = await VersionStore.open(ws, { lockTimeoutMs: 2000, staleLockMs: 500 });
    assert.equal((await s4.save(proposal('b', 1))).version, '1.0.1');
    await s4.close();
  });

  it("takes over at once a lock naming this process that this process does not hold (put back after its release)", async () => {
    await store.save(proposal('a', 1));
    const lockDir = path.join(ws, '.optimizer', 'locks');
    const logName = fs.readdirSync(path.join(ws, '.optimizer', 'index'))[0]!;
    fs.writeFileSync(
      path.join(lockDir, logName.replace('.jsonl', '.lock')),
      JSON.stringify({ pid: process.pid, host: os.hostname(), time: Date.now(), token: 'released-long-ago', workflow: WF, promptId: P }),
    );
    const s2 = await VersionStore.open(ws, { lockTimeoutMs: 500, staleLockMs: 60_000 });
    assert.equal((await s2.save(proposal('b', 1))).version, '1.0.1');
    await s2.close();
  });

  it('serialises concurrent saves within one process', async () => {
    const vs = await Promise.all(Array.from({ length: 30 }, (_, i) => store.save(proposal(`c${i}`, 1))));
    assert.equal(new Set(vs.map((v) => v.version)).size, 30);
    assert.equal(await store.count(WF, P), 30);
  });
});

describe('promptopt versions / rollback', () => {
  let ws: string;
  const out: string[] = [];
  const err: string[] = [];
  const io = () => ({
    stdout: (s: string) => void out.push(s),
    stderr: (s: string) => void err.push(s),
    env: {},
    cwd: ws,
    signal: new AbortController().signal,
  });
  beforeEach(() => {
    ws = tmpWs();
    fs.mkdirSync(path.join(ws, '.git'));
    fs.mkdirSync(path.join(ws, 'flows'));
    fs.writeFileSync(path.join(ws, WF), 'app: {}\n');
    out.length = 0;
    err.length = 0;
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('lists versions (text and --json) found from the nearest .git ancestor', async () => {
    const s = await VersionStore.open(ws);
    await s.ensureBaseline(WF, P, 'orig', S(40));
    await s.save(proposal('better', 6));
    await s.close();
    assert.equal(await runCli(['versions', path.join(ws, WF)], io()), 0);
    assert.match(out.join(''), /prompt 1718246807593\/prompt_template\/0 {2}\(2 versions\)/);
    assert.match(out.join(''), /1\.1\.0 +proposed/);
    out.length = 0;
    assert.equal(await runCli(['versions', WF, '--prompt', P, '--json'], io()), 0);
    const j = JSON.parse(out.join(''));
    assert.equal(j.workflow, WF);
    assert.deepEqual(j.prompts[0].versions.map((v: { version: string }) => v.version), ['1.1.0', '1.0.0']);
  });

  it('rolls back and reports errors with codes and exit status', async () => {
    const s = await VersionStore.open(ws);
    await s.ensureBaseline(WF, P, 'orig');
    await s.save(proposal('better', 6));
    await s.close();
    assert.equal(await runCli(['rollback', WF, '--prompt', P, '--to', '1.0.0', '--record-only'], io()), 0);
    assert.match(out.join(''), /saved as version 1\.1\.1/);
    const s2 = await VersionStore.open(ws);
    assert.equal((await s2.latest(WF, P))?.restoredFrom, '1.0.0');
    await s2.close();
    assert.equal(await runCli(['rollback', WF, '--prompt', P, '--to', '4.0.0', '--record-only'], io()), 1);
    assert.match(err.join(''), /STORAGE_NOT_FOUND/);
    assert.equal(await runCli(['rollback', WF, '--prompt', P], io()), 2);
    assert.equal(await runCli(['versions', 'missing.yml'], io()), 2);
  });
});

describe('VersionStore id separation', () => {
  it('keeps (workflow, prompt) pairs apart even when ids contain NUL', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'vstore-nul-'));
    const s = await VersionStore.open(ws);
    await s.save({ workflow: 'a\0b', promptId: 'c', text: 'one', status: 'proposed' });
    await s.save({ workflow: 'a', promptId: 'b\0c', text: 'two', status: 'proposed' });
    assert.equal((await s.get('a\0b', 'c', '1.0.0')).text, 'one');
    assert.equal((await s.get('a', 'b\0c', '1.0.0')).text, 'two');
    await s.close();
    fs.rmSync(ws, { recursive: true, force: true });
  });
});
