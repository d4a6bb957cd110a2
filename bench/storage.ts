/**
 * Version store benchmark: `npm run bench:storage`. Prints one JSON object per line
 * {name, value, unit, ...}. Store of 10,000 prompts x 20 versions = 200,000 versions.
 *
 * Seeding: the 200,000 version files (valid, in the store's exact format) are written directly
 * without fsync to keep setup short; the index is then built by the store itself (first open of
 * each prompt rebuilds its index from the files, with a light read of each: index_build_s).
 * Then, each on a freshly opened store: first touch of 2,000 prompts, latest (warm), get from disk
 * (indexes loaded untimed, cache cold: every get reads, validates and freezes one file), cached
 * get, list (cold: files read; warm: cached). Every measured save is the real durable path
 * (lock, temp file, fsync, link, directory fsync, index append). fsync_floor_ms is write+fsync+
 * rename of a file of the same size in the same directory tree; fsync_floor_dir_ms adds the
 * directory fsync a durable save needs as well.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { VersionStore, encodeName } from '../src/core/storage';
import { updateWorkflowFile } from '../src/core/service/fileWriter';
import { atomicWriteFile } from '../src/core/util/atomicWrite';

const PROMPTS = Number(process.env.BENCH_PROMPTS ?? 10_000);
const PER = 20;
const WF_COUNT = 100;

function emit(name: string, value: number, unit: string, extra: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ name, value: Number(value.toFixed(4)), unit, ...extra })}\n`);
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const wf = (i: number) => `apps/workflow-${i % WF_COUNT}.yml`;
const pid = (i: number) => `${1718246807593 + i}/prompt_template/0`;
const text = (i: number, v: number) => `You are a helpful assistant for task ${i}, revision ${v}.\n${'Answer clearly and briefly. '.repeat(20)}`;

function seed(ws: string): void {
  const root = path.join(ws, '.optimizer', 'versions');
  for (let i = 0; i < PROMPTS; i++) {
    const dir = path.join(root, encodeName(wf(i)), encodeName(pid(i)));
    fs.mkdirSync(dir, { recursive: true });
    for (let k = 0; k < PER; k++) {
      const version = `1.0.${k}`;
      const t = text(i, k);
      const rec = {
        schemaVersion: 1,
        workflow: wf(i),
        promptId: pid(i),
        version,
        parentVersion: k === 0 ? null : `1.0.${k - 1}`,
        status: k === 0 ? 'baseline' : 'proposed',
        createdAt: new Date().toISOString(),
        text: t,
        textSha256: createHash('sha256').update(t).digest('hex'),
        analysis: { overall: 50 + k, clarity: 50, efficiency: 50, structure: 50 },
        ...(k ? { optimization: { strategy: 'clarity_focus', improvement: 1, confidence: 0.6, rationale: 'bench' } } : {}),
        metadata: {},
      };
      fs.writeFileSync(path.join(dir, `${version}.json`), `${JSON.stringify(rec, null, 2)}\n`);
    }
  }
}

async function main(): Promise<void> {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-storage-'));
  const t0 = performance.now();
  try {
    seed(ws);
    emit('seed_s', (performance.now() - t0) / 1000, 's', { versions: PROMPTS * PER, prompts: PROMPTS, fsync: false });

    // First open of every prompt: the store builds its index from the files.
    let store = await VersionStore.open(ws, { cacheSize: 1000 });
    const tIdx = performance.now();
    for (let i = 0; i < PROMPTS; i++) await store.count(wf(i), pid(i));
    emit('index_build_s', (performance.now() - tIdx) / 1000, 's', { prompts: PROMPTS });
    await store.close();

    // Fresh process-like state with the index on disk: first touch of 2,000 distinct prompts.
    store = await VersionStore.open(ws, { cacheSize: 1000 });
    const TOUCH = Math.min(2000, PROMPTS);
    const touched = Array.from({ length: TOUCH }, (_, n) => (n * 7919) % PROMPTS);
    const first: number[] = [];
    for (const i of touched) {
      const s = performance.now();
      await store.latest(wf(i), pid(i));
      first.push(performance.now() - s);
    }
    emit('first_touch_latest_p50_ms', pct(first, 50), 'ms', { prompts: TOUCH, note: 'index log read + dir check + file read' });

    // latest (index warm, version cached)
    const lat: number[] = [];
    for (let n = 0; n < 20000; n++) {
      const i = touched[n % TOUCH]!;
      const s = performance.now();
      await store.latest(wf(i), pid(i));
      lat.push(performance.now() - s);
    }
    emit('latest_p50_ms', pct(lat, 50), 'ms', { target: 0.05, dify_autoopt: 2 });
    await store.close();

    // get from disk: a cold cache, every prompt's index loaded first (not timed); each get reads,
    // validates (zod + sha256) and freezes one file never read by this store.
    store = await VersionStore.open(ws, { cacheSize: 1000 });
    for (const i of touched) await store.count(wf(i), pid(i));
    const disk: number[] = [];
    for (let r = 0; r < 5; r++) {
      for (let n = 0; n < TOUCH; n++) {
        const i = touched[n]!;
        const v = `1.0.${(n + r * 4) % PER}`;
        const s = performance.now();
        await store.get(wf(i), pid(i), v);
        disk.push(performance.now() - s);
      }
    }
    const st = store.stats();
    emit('get_disk_p50_ms', pct(disk, 50), 'ms', { target: 0.1, dify_autoopt: 8, gets: disk.length, hits: st.hits, misses: st.misses });

    // cached get
    const cached: number[] = [];
    const i0 = 42;
    await store.get(wf(i0), pid(i0), '1.0.3');
    for (let n = 0; n < 50000; n++) {
      const s = performance.now();
      await store.get(wf(i0), pid(i0), '1.0.3');
      cached.push(performance.now() - s);
    }
    emit('get_cached_p50_ms', pct(cached, 50), 'ms', { target: 0.005, dify_autoopt: 0.05, freshnessMs: 50 });
    await store.close();

    // list, first page (20): cold (files read) on 500 prompts of a fresh store, then warm on 40
    // prompts whose 800 versions fit the cache.
    store = await VersionStore.open(ws, { cacheSize: 1000 });
    const coldPrompts = touched.slice(0, Math.min(500, TOUCH));
    for (const i of coldPrompts) await store.count(wf(i), pid(i));
    const lstCold: number[] = [];
    for (const i of coldPrompts) {
      const s = performance.now();
      await store.list(wf(i), pid(i), { limit: 20 });
      lstCold.push(performance.now() - s);
    }
    emit('list_cold_p50_ms', pct(lstCold, 50), 'ms', { page: 20, note: '20 files read and validated' });
    const lst: number[] = [];
    for (let n = 0; n < 4000; n++) {
      const i = touched[n % 40]!;
      const s = performance.now();
      await store.list(wf(i), pid(i), { limit: 20 });
      lst.push(performance.now() - s);
    }
    emit('list_p50_ms', pct(lst, 50), 'ms', { page: 20, dify_autoopt: 30, note: 'warm cache' });

    // durable saves
    const saves: number[] = [];
    const N = 300;
    for (let n = 0; n < N; n++) {
      const i = (n * 31) % PROMPTS;
      const s = performance.now();
      await store.save({
        workflow: wf(i),
        promptId: pid(i),
        text: text(i, 100 + n),
        status: 'proposed',
        analysis: { overall: 70, clarity: 70, efficiency: 70, structure: 70 },
        optimization: { strategy: 'clarity_focus', improvement: 3, confidence: 0.6, rationale: 'bench' },
        metadata: {},
      });
      saves.push(performance.now() - s);
    }
    const sizeBytes = fs.statSync(path.join(ws, '.optimizer', 'versions', encodeName(wf(0)), encodeName(pid(0)), '1.0.20.json')).size;

    // fsync floor: same size, same directory tree, same run
    const floorDir = path.join(ws, '.optimizer', 'versions', encodeName(wf(1)), 'floor');
    fs.mkdirSync(floorDir, { recursive: true });
    const payload = 'x'.repeat(sizeBytes);
    const floor: number[] = [];
    const floorDirSync: number[] = [];
    for (let n = 0; n < N; n++) {
      const tmp = path.join(floorDir, `.t${n}`);
      const dst = path.join(floorDir, `f${n}.json`);
      const s = performance.now();
      const fd = fs.openSync(tmp, 'wx');
      fs.writeSync(fd, payload);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fs.renameSync(tmp, dst);
      const mid = performance.now();
      const dfd = fs.openSync(floorDir, 'r');
      fs.fsyncSync(dfd);
      fs.closeSync(dfd);
      floor.push(mid - s);
      floorDirSync.push(performance.now() - s);
    }
    const f50 = pct(floor, 50);
    emit('fsync_floor_ms', f50, 'ms', { bytes: sizeBytes, what: 'write+fsync+rename' });
    emit('fsync_floor_dir_ms', pct(floorDirSync, 50), 'ms', { what: 'write+fsync+rename+dir fsync' });
    emit('save_p50_ms', pct(saves, 50), 'ms', {
      target: 1,
      dify_autoopt: 15,
      ratio_to_floor: Number((pct(saves, 50) / f50).toFixed(2)),
      ratio_to_floor_dir: Number((pct(saves, 50) / pct(floorDirSync, 50)).toFixed(2)),
      durable: true,
    });
    emit('save_p99_ms', pct(saves, 99), 'ms', { durable: true });
    const fin = store.stats();
    emit('cache_hit_rate', fin.hitRate, 'ratio', { hits: fin.hits, misses: fin.misses });
    await store.close();
    await workflowWrites(ws);
    emit('total_s', (performance.now() - t0) / 1000, 's');
  } finally {
    fs.rmSync(ws, { recursive: true, force: true });
  }
}

/**
 * A workflow-file write as `promptopt set` does it (per-file lock, read, UTF-8 check, edit,
 * compare-and-swap, durable atomic write) against the bare durable atomic write it wraps, on
 * the same ~40 KB export in the same run, alternating so both see the same disk.
 */
async function workflowWrites(ws: string): Promise<void> {
  const file = path.join(ws, 'app.yml');
  const body = `app:\n  name: bench\n  mode: workflow\nkind: app\nnote: "${'x'.repeat(40_000)}"\n`;
  fs.writeFileSync(file, body);
  const locked: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < 60; i++) {
    let t = performance.now();
    await updateWorkflowFile(file, (cur) => `${cur.slice(0, -1)}${i % 10}\n`, { displayName: 'app.yml', what: 'bench' });
    locked.push(performance.now() - t);
    t = performance.now();
    await atomicWriteFile(file, `${fs.readFileSync(file, 'utf8').slice(0, -1)}${i % 10}\n`);
    bare.push(performance.now() - t);
  }
  emit('workflow_write_p50_ms', pct(locked, 50), 'ms', {
    baseline_atomic_write_p50_ms: Number(pct(bare, 50).toFixed(4)),
    ratio: Number((pct(locked, 50) / pct(bare, 50)).toFixed(2)),
    what: 'set path: lock + read + UTF-8 check + CAS + durable atomic write, 40 KB',
  });
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exitCode = 1;
});
