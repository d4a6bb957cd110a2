import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { acquireLock } from '../../../src/core/storage/lock';
import { StorageError } from '../../../src/core/errors';
import { acquireLockFile, HOST } from '../../../src/core/util/lockFile';

const HOLDER = path.resolve(__dirname, 'fixtures/lockHolder.js');

describe('storage lock: a live lock is never lost', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const owner = { workflow: 'w', promptId: 'p' };

  it('a lock held by a live process on this host is not broken, however old', async () => {
    const lockFile = path.join(dir, 'a.lock');
    const held = await acquireLock(lockFile, dir, owner, { timeoutMs: 1000, staleMs: 20, onWarning: () => undefined });
    await new Promise((r) => setTimeout(r, 60));
    await assert.rejects(
      acquireLock(lockFile, dir, owner, { timeoutMs: 200, staleMs: 20, onWarning: () => undefined }),
      (e: unknown) => e instanceof StorageError && e.code === 'STORAGE_LOCK_TIMEOUT',
    );
    held.release();
    const again = await acquireLock(lockFile, dir, owner, { timeoutMs: 1000, staleMs: 20, onWarning: () => undefined });
    assert.equal(again.recovered, false);
    again.release();
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it("breaks a dead owner's lock at once, also when a breaker died holding its claim", async () => {
    const lockFile = path.join(dir, 'b.lock');
    const dead = { pid: 999_999_999, host: HOST, time: Date.now(), token: '999999999-dead' };
    fs.writeFileSync(lockFile, JSON.stringify(dead));
    const t0 = Date.now();
    const a = await acquireLockFile(lockFile, { timeoutMs: 2000, staleMs: 60_000 });
    assert.equal(a.recovered, true);
    assert.equal(a.previousOwner?.pid, 999_999_999);
    a.release();
    // a breaker killed while it held the claim on a dead record: its claim is broken too
    fs.writeFileSync(lockFile, JSON.stringify(dead));
    const { createHash } = await import('node:crypto');
    const claim = `${lockFile}.break-${createHash('sha1').update(`t:${dead.token}`).digest('hex').slice(0, 12)}`;
    fs.writeFileSync(claim, JSON.stringify({ ...dead, token: '999999998-deadbreaker', pid: 999_999_998 }));
    const b = await acquireLockFile(lockFile, { timeoutMs: 2000, staleMs: 60_000 });
    assert.equal(b.recovered, true);
    b.release();
    assert.ok(Date.now() - t0 < 1500);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('never lets two processes hold it, with holders SIGKILLed inside and outside (40 kills)', async () => {
    const lockFile = path.join(dir, 'c.lock');
    const marker = path.join(dir, 'inside');
    const KILLS = Number(process.env.LOCK_KILLS ?? 40);
    let kills = 0;
    let entries = 0;
    let doubles = '';
    const slot = async (): Promise<void> => {
      while (kills < KILLS && !doubles) {
        const child = spawn(process.execPath, [HOLDER, lockFile, marker]);
        let buf = '';
        const exited = new Promise<number | null>((r) => child.on('close', r));
        const enough = 1 + Math.floor(Math.random() * 4);
        await new Promise<void>((resolve) => {
          child.stdout.on('data', (d: Buffer) => {
            buf += d.toString();
            if (buf.includes('DOUBLE')) doubles = buf;
            if (buf.split('\n').length > enough || doubles) resolve();
          });
          void exited.then(() => resolve());
        });
        entries += buf.split('\n').filter((l) => l === 'in').length;
        child.kill('SIGKILL');
        await exited;
        kills++;
      }
    };
    await Promise.all(Array.from({ length: 4 }, slot));
    assert.equal(doubles, '', `two holders at once: ${doubles}`);
    assert.ok(entries >= KILLS, `only ${entries} entries`);
  });
});
