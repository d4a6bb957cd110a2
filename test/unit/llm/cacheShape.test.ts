/**
 * Issue 19 item 2: a cache entry of the wrong shape is a miss (one warning naming the file), a
 * FIFO in the cache never blocks, a run log with lost lines says how many, and a prompt whose
 * only version is corrupt lists as unreadable.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as fsSync from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { LlmError } from '../../../src/core/errors';
import { DiskCache } from '../../../src/core/llm/cache';
import { createPipelineClient, type LlmTransport } from '../../../src/core/llm/pipeline';
import { RunStore } from '../../../src/core/optimizers/runStore';
import { VersionStore } from '../../../src/core/storage';
import { msgs, tempDir } from './helpers';

function transport(): LlmTransport & { sent: number } {
  const t = {
    label: 'scripted/backend',
    defaultModel: 'm',
    sent: 0,
    async chat(req: { messages: Array<{ content: string }> }) {
      t.sent += 1;
      return { text: `answer to ${req.messages[0]!.content}`, finishReason: 'stop' };
    },
    async embed(input: string[]) {
      t.sent += 1;
      return { vectors: input.map(() => [0.1, 0.2]) };
    },
    classify(raw: unknown) {
      return { error: new LlmError('LLM_BAD_RESPONSE', String(raw)), retryable: false };
    },
  };
  return t as unknown as LlmTransport & { sent: number };
}

async function cacheFiles(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).filter((n) => n.endsWith('.json')).map((n) => path.join(dir, n));
}

describe('item 2: cache entries are checked on read; lost run-log lines and unreadable versions are told', function () {
  this.timeout(30_000);

  it('{"v":1,"createdAt":…,"value":{"text":null}} is a miss: asked again, a valid answer, one warning naming the file', async () => {
    const dir = await tempDir();
    const warnings: string[] = [];
    const t = transport();
    const c = createPipelineClient(t, { cacheDir: dir, log: (level, m) => level === 'warn' && warnings.push(m) });
    assert.equal((await c.chat({ messages: msgs('hello') })).text, 'answer to hello');
    const [file] = await cacheFiles(dir);
    assert.ok(file);
    await fs.writeFile(file, JSON.stringify({ v: 1, createdAt: Date.now(), value: { text: null } }));
    const fresh = createPipelineClient(t, { cacheDir: dir, log: (level, m) => level === 'warn' && warnings.push(m) });
    const r = await fresh.chat({ messages: msgs('hello') });
    assert.equal(typeof r.text, 'string');
    assert.equal(r.text, 'answer to hello');
    assert.equal(r.cached, false);
    assert.equal(t.sent, 2, 'the bad entry was used instead of asking again');
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.ok(warnings[0]!.includes(file), warnings[0]);
    assert.match(warnings[0]!, /value\.text/);
    // The entry was replaced by the good answer: the next call is a hit, with no new warning.
    assert.equal((await fresh.chat({ messages: msgs('hello') })).cached, true);
    assert.equal(warnings.length, 1);
  });

  it('a bad embedding entry (a string where vectors belong) is a miss too', async () => {
    const dir = await tempDir();
    const t = transport();
    const warnings: string[] = [];
    const c = createPipelineClient(t, { cacheDir: dir, log: (l, m) => l === 'warn' && warnings.push(m) });
    await c.embed({ input: ['a'] });
    const [file] = await cacheFiles(dir);
    await fs.writeFile(file!, JSON.stringify({ v: 1, createdAt: Date.now(), value: 'oops' }));
    const again = createPipelineClient(t, { cacheDir: dir, log: (l, m) => l === 'warn' && warnings.push(m) });
    assert.deepEqual(await again.embed({ input: ['a'] }), [[0.1, 0.2]]);
    assert.equal(t.sent, 2);
    assert.equal(warnings.length, 1);
  });

  it('a FIFO where a cache entry belongs is a miss, reported once, and never blocks', async () => {
    const dir = await tempDir();
    const key = 'a'.repeat(64);
    execFileSync('mkfifo', [path.join(dir, `${key}.json`)]);
    const warnings: string[] = [];
    const cache = new DiskCache<string>(dir, {}, Date.now, { onWarning: (m) => warnings.push(m) });
    assert.equal(await cache.get(key), undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /FIFO/);
  });

  it('a run log with a truncated and a garbage line: RunStore says 3 lines were skipped, and the next record starts its own line', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'r1.jsonl');
    const good = { type: 'memo', kind: 'proposal', key: 'k1', value: 'v', time: 1 };
    await fs.writeFile(file, `${JSON.stringify(good)}\nthis is not json\n42\n{"type":"memo","kind":"proposal","key":"k2","val`);
    const s = await RunStore.open(dir, 'r1');
    assert.equal(s.skippedLines, 3);
    assert.equal(s.getMemo('proposal', 'k1'), 'v');
    s.putMemo('proposal', 'k3', 'w');
    await s.close();
    const again = await RunStore.open(dir, 'r1');
    assert.equal(again.getMemo('proposal', 'k3'), 'w', 'the record after the cut line was lost');
    assert.equal(again.skippedLines, 3);
    await again.close();
  });

  it('a prompt whose only version is corrupt lists as "1 unreadable version", not "1 older"', async () => {
    const ws = await fs.mkdtemp(path.join(os.tmpdir(), 'promptopt-unread-'));
    await fs.mkdir(path.join(ws, '.git'));
    await fs.writeFile(path.join(ws, 'app.yml'), 'app: {name: t, mode: workflow}\nkind: app\n');
    const store = await VersionStore.open(ws);
    await store.save({ workflow: 'app.yml', promptId: 'p1', text: 'hello', status: 'baseline' });
    await store.close();
    const walk = (d: string): string[] => fsSync.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    const [vf] = walk(path.join(ws, '.optimizer', 'versions')).filter((f) => f.endsWith('1.0.0.json'));
    await fs.writeFile(vf!, '{"broken": true}');
    let out = '';
    let err = '';
    const code = await runCli(['versions', 'app.yml'], { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {}, cwd: ws, signal: new AbortController().signal });
    assert.equal(code, 0, err);
    assert.match(out, /prompt p1 {2}\(1 unreadable version\)/);
    assert.doesNotMatch(out, /older/);
    assert.doesNotMatch(out, /\(1 version\)/);
    assert.match(err, /corrupt version file/);
  });
});
