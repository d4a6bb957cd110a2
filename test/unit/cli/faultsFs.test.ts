/**
 * File-system faults (issue 19 items 1, 4, 6): a full disk and every other system error is a
 * typed I/O error naming the file and the cause, never "internal error"; a FIFO or a loop of
 * symbolic links under .optimizer/ never blocks or crashes a command; a closed stdout/stderr
 * ends the CLI quietly. Real file systems, FIFOs and pipes: tmpfs mounts (skipped with a reason
 * where mounting is not permitted), mkfifo, and the compiled CLI run as a process.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { StorageError, fsErrorOf, toOptimizerError } from '../../../src/core/errors';
import { parseDify } from '../../../src/core/dsl';
import { VersionStore, workflowKey } from '../../../src/core/storage';
import { atomicWriteFile } from '../../../src/core/util/atomicWrite';
import { readRegularText, readRegularTextSync } from '../../../src/core/util/safeRead';
import { CLI_MAIN, runCliProcess } from '../../support/cliProcess';

const MAIN = CLI_MAIN;
const proc = (args: string[], cwd: string, timeoutMs = 20_000) => runCliProcess(args, cwd, { timeoutMs });
const FIXTURE = path.resolve(__dirname, '../../../../test/fixtures/messy/support_bot.yml');

async function cli(args: string[], cwd: string) {
  let out = '';
  let err = '';
  const code = await runCli(args, { stdout: (s) => (out += s), stderr: (s) => (err += s), env: { OPENAI_API_KEY: '', PROMPTOPT_API_KEY: '' }, cwd, signal: new AbortController().signal });
  return { code, out, err };
}

/** The real CLI as a process; killed (and reported as timed out) after `timeoutMs`. */

/** Mounts a tmpfs of `size` at a new temp dir; undefined (with the reason) when not permitted here. */
function mountTmpfs(size: string, extra = ''): { dir: string; unmount: () => void } | { reason: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${extra ? `,${extra}` : ''}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmdirSync(dir);
    return { reason: `cannot mount a tmpfs here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})` };
  }
  return {
    dir,
    unmount: () => {
      spawnSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system holding `dir` (one big file), leaving less than a few KB. */
function fillDisk(dir: string): void {
  const fd = fs.openSync(path.join(dir, 'filler.bin'), 'w');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
  const small = Buffer.alloc(512, 1);
  try {
    for (;;) fs.writeSync(fd, small);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    fs.closeSync(fd);
  }
}

function promptIds(file: string): string[] {
  return parseDify(fs.readFileSync(file, 'utf8')).prompts.map((p) => p.id);
}

/** Every version file (`<n.n.n>.json`) under .optimizer/versions. */
function versionFiles(ws: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/^\d+\.\d+\.\d+\.json$/.test(e.name)) out.push(p);
    }
  };
  walk(path.join(ws, '.optimizer', 'versions'));
  return out;
}

function errno(code: string, syscall = 'write', p?: string): NodeJS.ErrnoException {
  const e = new Error(`${code}: simulated, ${syscall}`) as NodeJS.ErrnoException;
  e.code = code;
  e.errno = -28;
  e.syscall = syscall;
  if (p) e.path = p;
  return e;
}

describe('file-system faults: typed I/O errors, no blocking reads, quiet closed pipes', function () {
  this.timeout(60_000);
  let ws: string;
  beforeEach(() => {
    ws = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-faults-'));
    fs.mkdirSync(path.join(ws, '.git'));
  });
  afterEach(() => fs.rmSync(ws, { recursive: true, force: true }));

  describe('item 1: a full disk (and every other system error) is a typed I/O error naming the file', () => {
    it('`set` on a real full tmpfs: exit 1, names the export and "disk full", the export stays whole, the next run works', async function () {
      const m = mountTmpfs('256k');
      if ('reason' in m) return this.skip();
      try {
        fs.mkdirSync(path.join(m.dir, '.git'));
        const file = path.join(m.dir, 'app.yml');
        fs.copyFileSync(FIXTURE, file);
        const before = fs.readFileSync(file, 'utf8');
        const id = promptIds(file)[0]!;
        fillDisk(m.dir);
        const r = await cli(['set', 'app.yml', '--prompt', id, '--text', 'x'.repeat(2000) + ' a new prompt'], m.dir);
        assert.equal(r.code, 1, r.err);
        assert.doesNotMatch(r.err, /internal error/);
        assert.match(r.err, /app\.yml/);
        assert.match(r.err, /disk full \(ENOSPC\)/);
        assert.match(r.err, /\[STORAGE_IO\]/);
        assert.equal(fs.readFileSync(file, 'utf8'), before, 'the export changed');
        assert.deepEqual(fs.readdirSync(m.dir).filter((n) => n.includes('.tmp-')), [], 'a temp file was left');
        fs.rmSync(path.join(m.dir, 'filler.bin'));
        const again = await cli(['set', 'app.yml', '--prompt', id, '--text', 'a new prompt'], m.dir);
        assert.equal(again.code, 0, again.err);
        assert.equal(parseDify(fs.readFileSync(file, 'utf8')).prompts[0]!.text, 'a new prompt');
      } finally {
        m.unmount();
      }
    });

    it('`optimize --write` on a real full tmpfs: exit 1, names the file and the cause, no accepted version', async function () {
      const m = mountTmpfs('1m');
      if ('reason' in m) return this.skip();
      try {
        fs.mkdirSync(path.join(m.dir, '.git'));
        const file = path.join(m.dir, 'app.yml');
        fs.copyFileSync(FIXTURE, file);
        const before = fs.readFileSync(file, 'utf8');
        // .optimizer/ exists (an earlier run), then the disk fills up.
        const first = await cli(['optimize', 'app.yml', '--yes'], m.dir);
        assert.equal(first.code, 0, first.err);
        fillDisk(m.dir);
        const r = await cli(['optimize', 'app.yml', '--write', '--yes'], m.dir);
        assert.equal(r.code, 1, r.err);
        assert.doesNotMatch(r.err, /internal error/);
        assert.match(r.err, /(app\.yml|\.optimizer)[^\n]*: disk full \(ENOSPC\)/);
        assert.equal(fs.readFileSync(file, 'utf8'), before);
        if (fs.existsSync(path.join(m.dir, '.optimizer', 'versions'))) {
          const accepted = versionFiles(m.dir).filter((f) => (JSON.parse(fs.readFileSync(f, 'utf8')) as { status: string }).status === 'accepted');
          assert.deepEqual(accepted, []);
        }
      } finally {
        m.unmount();
      }
    });

    it('a read-only file system (EROFS, a real ro tmpfs) names the export and "read-only file system", exit 1', async function () {
      const m = mountTmpfs('1m');
      if ('reason' in m) return this.skip();
      try {
        fs.mkdirSync(path.join(m.dir, '.git'));
        fs.copyFileSync(FIXTURE, path.join(m.dir, 'app.yml'));
        const id = promptIds(path.join(m.dir, 'app.yml'))[0]!;
        execFileSync('mount', ['-o', 'remount,ro', m.dir]);
        const r = await cli(['set', 'app.yml', '--prompt', id, '--text', 'new'], m.dir);
        assert.equal(r.code, 1, r.err);
        assert.doesNotMatch(r.err, /internal error/);
        assert.match(r.err, /app\.yml/);
        assert.match(r.err, /read-only file system \(EROFS\)/);
      } finally {
        m.unmount();
      }
    });

    it('ENOSPC injected at the write call (always runs): `set` exits 1 naming the export and "disk full"; the export is whole', async () => {
      const file = path.join(ws, 'app.yml');
      fs.copyFileSync(FIXTURE, file);
      const before = fs.readFileSync(file, 'utf8');
      const id = promptIds(file)[0]!;
      // The write of the temp file, whatever FileHandle method atomicWriteFile uses.
      const probe = await fs.promises.open(path.join(ws, 'probe'), 'w');
      const proto = Object.getPrototypeOf(probe) as { writeFile: (...a: unknown[]) => Promise<void> };
      await probe.close();
      const real = proto.writeFile;
      proto.writeFile = async function () {
        throw errno('ENOSPC');
      };
      let r;
      try {
        r = await cli(['set', 'app.yml', '--prompt', id, '--text', 'a new prompt'], ws);
      } finally {
        proto.writeFile = real;
      }
      assert.equal(r.code, 1, r.err);
      assert.doesNotMatch(r.err, /internal error/);
      assert.match(r.err, /could not write app\.yml: disk full \(ENOSPC\)/);
      assert.equal(fs.readFileSync(file, 'utf8'), before);
      assert.deepEqual(fs.readdirSync(ws).filter((n) => n.includes('.tmp-')), []);
    });

    it('ENOSPC injected into the version store\'s write names the version file and "disk full"', async () => {
      const store = await VersionStore.open(ws);
      // The module object itself (the store reads its properties at each call).
      const nodeFs = require('node:fs') as { writeSync: unknown };
      const real = nodeFs.writeSync;
      // Only the version file's write fails (the lock record, written first, goes through).
      nodeFs.writeSync = (...a: unknown[]) => {
        if (typeof a[1] === 'string' && a[1].includes('"text": "hello"')) throw errno('ENOSPC');
        return (real as (...x: unknown[]) => number)(...a);
      };
      let err: unknown;
      try {
        await store.save({ workflow: 'app.yml', promptId: 'p', text: 'hello', status: 'baseline' });
      } catch (e) {
        err = e;
      } finally {
        nodeFs.writeSync = real;
      }
      assert.ok(err instanceof StorageError, String(err));
      assert.equal(err.code, 'STORAGE_IO');
      assert.match(err.message, /\.optimizer[\\/]versions[\\/].*1\.0\.0\.json.*disk full \(ENOSPC\)/);
      await store.close();
    });

    it('EACCES, EROFS, EDQUOT, EMFILE, EISDIR, ELOOP thrown raw are typed STORAGE_IO errors with the cause in words, never internal', async () => {
      const words: Record<string, RegExp> = {
        EACCES: /permission denied/,
        EROFS: /read-only file system/,
        EDQUOT: /disk quota exceeded/,
        EMFILE: /too many open files/,
        EISDIR: /a folder stands where a file should be/,
        ELOOP: /loop of symbolic links/,
        ENOSPC: /disk full/,
      };
      for (const [code, re] of Object.entries(words)) {
        const e = toOptimizerError(errno(code, 'open', '/w/.optimizer/x.json'));
        assert.ok(e instanceof StorageError, code);
        assert.equal(e.code, 'STORAGE_IO');
        assert.match(e.message, re);
        assert.match(e.message, /\/w\/\.optimizer\/x\.json/);
        assert.doesNotMatch(e.message, /Unexpected error/);
      }
      // A bug stays a bug.
      assert.equal(fsErrorOf(new TypeError("Cannot read properties of null (reading 'trim')")), undefined);
      // atomicWriteFile names the file for each of them.
      const dir = path.join(ws, 'a-folder.json');
      fs.mkdirSync(dir);
      fs.writeFileSync(path.join(dir, 'x'), '');
      await assert.rejects(atomicWriteFile(dir, 'text'), (e: Error) => e instanceof StorageError && /could not write .*a-folder\.json: /.test(e.message));
      fs.symlinkSync('loop-b', path.join(ws, 'loop-a'));
      fs.symlinkSync('loop-a', path.join(ws, 'loop-b'));
      await assert.rejects(atomicWriteFile(path.join(ws, 'loop-a'), 'text'), (e: Error) => e instanceof StorageError && /loop-a: a loop of symbolic links \(ELOOP\)/.test(e.message));
    });
  });

  describe('item 4: FIFOs and loops under .optimizer/ never block or crash', () => {
    /** A workspace with one stored baseline per prompt of the fixture (via optimize, no write). */
    async function seeded(): Promise<{ file: string; id: string }> {
      const file = path.join(ws, 'app.yml');
      fs.copyFileSync(FIXTURE, file);
      const id = promptIds(file)[0]!;
      const store = await VersionStore.open(ws);
      await store.save({ workflow: workflowKey(ws, file), promptId: id, text: parseDify(fs.readFileSync(file, 'utf8')).prompts[0]!.text, status: 'baseline' });
      await store.close();
      return { file, id };
    }

    it('a FIFO where a version file belongs: `versions`, `rollback` and `optimize --write` finish, report it once, exit without hanging', async () => {
      const { id } = await seeded();
      const [vf] = versionFiles(ws);
      fs.rmSync(vf!);
      execFileSync('mkfifo', [vf!]);
      const v = await proc(['versions', 'app.yml'], ws);
      assert.equal(v.timedOut, false, 'versions hung on the FIFO');
      assert.equal(v.code, 0, v.err);
      assert.match(v.err, /FIFO/);
      assert.equal(v.err.split('FIFO').length - 1, 1, `reported more than once:\n${v.err}`);
      const rb = await proc(['rollback', 'app.yml', '--prompt', id, '--to', '1.0.0'], ws);
      assert.equal(rb.timedOut, false, 'rollback hung on the FIFO');
      assert.doesNotMatch(rb.err, /internal error/);
      const o = await proc(['optimize', 'app.yml', '--write', '--yes'], ws);
      assert.equal(o.timedOut, false, 'optimize --write hung on the FIFO');
      assert.doesNotMatch(o.err, /internal error/);
      assert.equal(o.code, 0, o.err);
    });

    it('a FIFO as an index log, as config.yaml and as a lock file: no command blocks', async () => {
      const { id } = await seeded();
      const idxDir = path.join(ws, '.optimizer', 'index');
      const logs: string[] = [];
      const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          if (e.isDirectory()) walk(path.join(d, e.name));
          else logs.push(path.join(d, e.name));
        }
      };
      walk(idxDir);
      assert.ok(logs.length >= 1, 'no index log written');
      for (const l of logs) {
        fs.rmSync(l);
        execFileSync('mkfifo', [l]);
      }
      const v = await proc(['versions', 'app.yml', '--prompt', id], ws);
      assert.equal(v.timedOut, false, 'versions hung on a FIFO index log');
      assert.equal(v.code, 0, v.err);
      assert.match(v.out, /1\.0\.0/);
      execFileSync('mkfifo', [path.join(ws, '.optimizer', 'config.yaml')]);
      const o = await proc(['optimize', 'app.yml', '--yes'], ws);
      assert.equal(o.timedOut, false, 'optimize hung on a FIFO config.yaml');
      assert.match(o.err, /config\.yaml.*not a regular file/);
      assert.doesNotMatch(o.err, /internal error/);
      // The blocking-free readers themselves, on a FIFO and on a symlink to one.
      const fifo = path.join(ws, 'a.fifo');
      execFileSync('mkfifo', [fifo]);
      assert.throws(() => readRegularTextSync(fifo), /FIFO/);
      await assert.rejects(readRegularText(fifo), /FIFO/);
      fs.symlinkSync(fifo, path.join(ws, 'link'));
      assert.throws(() => readRegularTextSync(path.join(ws, 'link'), { noFollow: true }), (e: NodeJS.ErrnoException) => e.code === 'ELOOP');
      assert.throws(() => readRegularTextSync(path.join(ws, 'link')), /FIFO/);
    });

    it('a loop of directory symlinks under .optimizer/versions: `versions` lists the rest, reports the loop once, no ELOOP internal error', async () => {
      await seeded();
      const wfDir = path.dirname(path.dirname(versionFiles(ws)[0]!));
      fs.symlinkSync('loop-b', path.join(wfDir, 'loop-a'));
      fs.symlinkSync('loop-a', path.join(wfDir, 'loop-b'));
      fs.symlinkSync('self', path.join(ws, '.optimizer', 'versions', 'self'));
      const v = await proc(['versions', 'app.yml'], ws);
      assert.equal(v.timedOut, false);
      assert.doesNotMatch(v.err, /internal error/);
      assert.equal(v.code, 0, v.err);
      assert.match(v.out, /1\.0\.0/);
      assert.match(v.err, /loop of symbolic links/);
    });
  });

  describe('item 6: a closed stdout or stderr ends the CLI quietly', () => {
    it('`promptopt versions | head -1`: no EPIPE crash, no stack trace, nothing on stderr', async () => {
      const file = path.join(ws, 'app.yml');
      fs.copyFileSync(FIXTURE, file);
      const store = await VersionStore.open(ws);
      const wf = workflowKey(ws, file);
      // ~100 KB of listing: more than a pipe holds, so the CLI is still writing when `head` exits.
      for (let i = 0; i < 1200; i++) await store.save({ workflow: wf, promptId: `p${i % 4}`, text: `text ${i}`, status: 'proposed' });
      await store.close();
      const errFile = path.join(os.tmpdir(), `promptopt-epipe-${process.pid}.err`);
      const r = spawnSync('bash', ['-c', `"${process.execPath}" "${MAIN}" versions app.yml --limit 1000 2>"${errFile}" | head -1; echo "status=\${PIPESTATUS[0]}"`], { cwd: ws, encoding: 'utf8', timeout: 30_000 });
      const err = fs.readFileSync(errFile, 'utf8');
      fs.rmSync(errFile, { force: true });
      assert.equal(r.stdout.split('\n')[0]!.startsWith('app.yml'), true, r.stdout);
      assert.equal(err, '', `stderr was not quiet:\n${err}`);
      assert.match(r.stdout, /status=(0|141)\b/);
    });

    it('a closed stderr (many warnings into `head -c 1`): quiet exit, no crash', async () => {
      const file = path.join(ws, 'app.yml');
      fs.copyFileSync(FIXTURE, file);
      const store = await VersionStore.open(ws);
      const v = await store.save({ workflow: workflowKey(ws, file), promptId: 'p', text: 'hello', status: 'baseline' });
      await store.close();
      const dir = path.dirname(versionFiles(ws)[0]!);
      assert.equal(v.version, '1.0.0');
      // 3000 corrupt version files: a read-only listing warns once for each, on stderr.
      for (let i = 2; i < 3002; i++) fs.writeFileSync(path.join(dir, `${i}.0.0.json`), '{not json');
      const outFile = path.join(os.tmpdir(), `promptopt-epipe-${process.pid}.out`);
      const r = spawnSync('bash', ['-c', `"${process.execPath}" "${MAIN}" versions app.yml 2>&1 >"${outFile}" | head -c 1 >/dev/null; echo "status=\${PIPESTATUS[0]}"`], { cwd: ws, encoding: 'utf8', timeout: 60_000 });
      fs.rmSync(outFile, { force: true });
      const status = /status=(\d+)/.exec(r.stdout)?.[1];
      assert.ok(status === '0' || status === '141', `exit status ${status}; ${r.stdout} ${r.stderr}`);
    });
  });
});
