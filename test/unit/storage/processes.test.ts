import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { buildSync } from 'esbuild';
import { VersionStore } from '../../../src/core/storage';
import { versionFileSchema, indexEntrySchema } from '../../../src/core/storage/schema';

const WRITER = path.join(__dirname, 'fixtures', 'writer.js');
const RUNNER = path.join(__dirname, 'fixtures', 'runBundled.js');
/** The writer bundled into one file (made in `before`), run by RUNNER with a V8 code cache. */
let bundle: string | undefined;
const WF = 'flows/app.yml';
const P = 'node/prompt_template/0';

interface Child {
  pid: number;
  acked: string[];
  exited: Promise<number | null>;
  firstAck: Promise<void>;
  /** Resolves when the child has announced its `n`-th save (or has exited). */
  saving(n: number): Promise<void>;
  /** performance.now() when the child printed `done`, 0 before. */
  doneAt(): number;
  kill(): void;
}

function startWriter(ws: string, count: number, mode = 'mixed'): Child {
  const args = bundle ? [RUNNER, bundle] : [WRITER];
  const cp = spawn(process.execPath, [...args, ws, WF, P, String(count), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acked: string[] = [];
  let buf = '';
  let announced = 0;
  let dead = false;
  let doneAt = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const wake = () => {
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (dead || announced >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
    }
  };
  let onFirst: () => void = () => undefined;
  const firstAck = new Promise<void>((r) => (onFirst = r));
  cp.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      if (l.startsWith('saved ')) acked.push(l.slice(6));
      else if (l === 'saving') announced++;
      else if (l === 'done') doneAt = performance.now();
    }
    if (acked.length) onFirst();
    wake();
  });
  let stderr = '';
  cp.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) =>
    cp.on('exit', (c) => {
      dead = true;
      onFirst();
      wake();
      if (c) process.stderr.write(`writer failed: ${stderr}\n`);
      r(c);
    }),
  );
  return {
    pid: cp.pid!,
    acked,
    exited,
    firstAck,
    saving: (n) => new Promise<void>((resolve) => {
      waiters.push({ n, resolve });
      wake();
    }),
    doneAt: () => doneAt,
    kill: () => cp.kill('SIGKILL'),
  };
}

/** Every file valid, the index log equal to the files, list() equal to the files. */
async function checkConsistent(ws: string, store: VersionStore): Promise<string[]> {
  const listed = (await store.list(WF, P, { limit: 1_000_000 })).map((v) => v.version);
  const wfDir = path.join(ws, '.optimizer', 'versions');
  const dir = path.join(wfDir, fs.readdirSync(wfDir)[0]!, fs.readdirSync(path.join(wfDir, fs.readdirSync(wfDir)[0]!))[0]!);
  const files = fs.readdirSync(dir);
  for (const f of files) {
    assert.match(f, /^\d+\.\d+\.\d+\.json$/, `stray file ${f}`);
    const r = versionFileSchema.safeParse(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
    assert.ok(r.success, `invalid ${f}`);
    assert.equal(`${r.data.version}.json`, f);
  }
  const onDisk = files.map((f) => f.slice(0, -5)).sort();
  assert.deepEqual([...listed].sort(), onDisk, 'list() disagrees with the files');
  const indexDir = path.join(ws, '.optimizer', 'index');
  const [log] = fs.readdirSync(indexDir);
  const lines = fs.readFileSync(path.join(indexDir, log!), 'utf8').split('\n').filter(Boolean).slice(1);
  const live = new Set<string>();
  for (const l of lines) {
    const e = indexEntrySchema.parse(JSON.parse(l));
    if (e.op === 'add') live.add(e.v);
    if (e.op === 'del') live.delete(e.v);
  }
  assert.deepEqual([...live].sort(), onDisk, 'index log disagrees with the files');
  return onDisk;
}

describe('VersionStore across processes', function () {
  // The SIGKILL test spawns 200 Node processes, 4 at a time: ~20-40 s on a busy 2-core machine.
  this.timeout(300_000);
  let ws: string;
  let bundleDir: string;
  before(async () => {
    // One-file bundle of the writer (store included) plus its code cache: children start faster.
    bundleDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vstore-writer-'));
    const out = path.join(bundleDir, 'writer.js');
    buildSync({ entryPoints: [WRITER], bundle: true, minify: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'warning' });
    bundle = out;
    const warm = fs.mkdtempSync(path.join(os.tmpdir(), 'vstore-proc-'));
    try {
      assert.equal(await startWriter(warm, 1, 'plain').exited, 0); // writes the code cache at exit
    } finally {
      fs.rmSync(warm, { recursive: true, force: true });
    }
    assert.ok(fs.existsSync(`${out}.cache`), 'code cache not written');
  });
  after(() => {
    bundle = undefined;
    fs.rmSync(bundleDir, { recursive: true, force: true });
  });
  beforeEach(() => (ws = fs.mkdtempSync(path.join(os.tmpdir(), 'vstore-proc-'))));
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  it('4 processes x 250 saves to one prompt give 1,000 versions with unique numbers', async () => {
    const kids = Array.from({ length: 4 }, () => startWriter(ws, 250, 'plain'));
    const codes = await Promise.all(kids.map((k) => k.exited));
    assert.deepEqual(codes, [0, 0, 0, 0]);
    const acked = kids.flatMap((k) => k.acked);
    assert.equal(acked.length, 1000);
    assert.equal(new Set(acked).size, 1000, 'a number was given twice');
    const store = await VersionStore.open(ws);
    assert.equal(await store.count(WF, P), 1000);
    const files = await checkConsistent(ws, store);
    assert.deepEqual(files, [...acked].sort());
    // each acknowledged number holds the writer's own content
    for (const k of kids.slice(0, 2)) {
      for (const v of k.acked.slice(0, 20)) assert.equal((await store.get(WF, P, v)).metadata.pid, k.pid);
    }
    await store.close();
  });

  it('survives writers SIGKILLed at random moments (200 kills)', async () => {
    // A pool of writers saving continuously (mode 'forever' announces each save). Each is
    // SIGKILLed 5-40 ms after announcing its k-th save (k random in 1..2), then replaced at
    // once, so process start-up overlaps with the other writers' saves and kills.
    const KILLS = Number(process.env.STORAGE_KILLS ?? 200);
    const POOL = 4;
    const ackedBy = new Map<string, number>();
    let started = 0;
    let kills = 0;
    const t0 = Date.now();
    const slot = async (): Promise<void> => {
      while (started < KILLS) {
        started++;
        const k = startWriter(ws, 1_000_000, 'forever');
        await k.saving(1 + Math.floor(Math.random() * 2));
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 35));
        k.kill();
        const code = await k.exited;
        assert.equal(code, null, 'a writer ended by itself instead of being killed');
        kills++;
        for (const v of k.acked) {
          assert.ok(!ackedBy.has(v), `version ${v} acknowledged twice (pids ${ackedBy.get(v)} and ${k.pid})`);
          ackedBy.set(v, k.pid);
        }
      }
    };
    await Promise.all(Array.from({ length: POOL }, slot));
    assert.ok(kills >= KILLS);
    const warnings: string[] = [];
    process.stdout.write(`      (${kills} kills in ${((Date.now() - t0) / 1000).toFixed(1)} s, ${ackedBy.size} acknowledged saves)\n`);
    const store = await VersionStore.open(ws, { onWarning: (m) => warnings.push(m) });
    const files = await checkConsistent(ws, store);
    for (const [v, pid] of ackedBy) {
      assert.ok(files.includes(v), `acknowledged version ${v} lost`);
      assert.equal((await store.get(WF, P, v)).metadata.pid, pid, `version ${v} overwritten`);
    }
    assert.deepEqual(fs.readdirSync(path.join(ws, '.optimizer', 'tmp')), [], 'temp files left');
    assert.deepEqual(fs.readdirSync(path.join(ws, '.optimizer', 'locks')), [], 'stale lock left');
    assert.ok(ackedBy.size > 0);
    await store.close();
  });

  it("sees another process's setStatus within the freshness window while get is served from the cache", async () => {
    const FRESH = 50;
    const store = await VersionStore.open(ws, { freshnessMs: FRESH });
    const v = await store.save({ workflow: WF, promptId: P, text: 'x', status: 'proposed' });
    assert.equal((await store.get(WF, P, v.version)).status, 'proposed');
    const k = startWriter(ws, 0, `reject:${v.version}`);
    let seenAt = 0;
    let gets = 0;
    const t0 = performance.now();
    const poll = (async () => {
      // Keep reading the cached version, as a UI would, until the change shows (or 5 s pass).
      while (!seenAt && performance.now() - t0 < 5000) {
        const got = await store.get(WF, P, v.version);
        gets++;
        assert.ok(Object.isFrozen(got));
        if (got.status === 'rejected') seenAt = performance.now();
        else await new Promise((r) => setTimeout(r, 1));
      }
    })();
    assert.equal(await k.exited, 0);
    await poll;
    assert.ok(seenAt > 0, 'the status change never became visible');
    assert.ok(k.doneAt() > 0);
    const lag = Math.max(0, seenAt - k.doneAt());
    assert.ok(lag <= FRESH + 60, `status change seen ${lag.toFixed(1)} ms after the other process finished (window ${FRESH} ms)`);
    assert.ok(gets > 1);
    await store.close();
  });

  it('sees versions written by another process in latest/list (index staleness)', async () => {
    const store = await VersionStore.open(ws);
    await store.ensureBaseline(WF, P, 'base');
    assert.equal((await store.latest(WF, P))?.version, '1.0.0');
    const k = startWriter(ws, 3, 'plain');
    assert.equal(await k.exited, 0);
    assert.equal((await store.latest(WF, P))?.version, k.acked[2]);
    assert.deepEqual((await store.list(WF, P)).map((v) => v.version), [...k.acked].reverse().concat('1.0.0'));
    assert.equal(await store.count(WF, P), 4);
    await store.close();
  });
});
