/**
 * The files a user names, and the workflow files the editor and the writers read: a pipe or a
 * device given as an export (`<(…)`, `/dev/stdin`, `/dev/zero`) is read up to the DSL limit and
 * no further; where the file is written (or looked up on the editor's thread) only a regular file
 * of at most the limit is read, so a FIFO named like an export never blocks and an endless
 * device never fills the memory.
 */
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../../src/cli/main';
import { isOptimizerError } from '../../../src/core/errors';
import { updateWorkflowFile } from '../../../src/core/service/fileWriter';
import { readWorkflowTextSync } from '../../../src/core/service/workflowFile';
import { fsCauseText } from '../../../src/core/util/fsCause';
import { FileTooLargeError, readUpTo } from '../../../src/core/util/safeRead';
import { runCliProcess } from '../../support/cliProcess';

const proc = (args: string[], cwd: string, timeoutMs = 20_000) => runCliProcess(args, cwd, { nodeArgs: ['--max-old-space-size=256'], timeoutMs });
const FIXTURE = path.resolve(__dirname, '../../../../test/fixtures/messy/support_bot.yml');


/** Rejects when `p` has not settled within `ms` (a read that blocks). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (blocked)`)), ms).unref())]);
}

describe('input files: pipes and devices bounded, only regular files where a file is written', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'promptopt-input-'));
    fs.mkdirSync(path.join(dir, '.git'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('`extract /dev/zero` stops at the 20 MB limit: exit 2, DSL_TOO_LARGE in plain words, in a 256 MB heap', async function () {
    if (!fs.existsSync('/dev/zero')) this.skip();
    const r = await proc(['extract', '/dev/zero'], dir);
    assert.equal(r.timedOut, false, 'extract /dev/zero did not end');
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /\/dev\/zero: The file is not a regular file and gave more than the limit of 20 MB; reading stopped there\. \[DSL_TOO_LARGE\]/);
    assert.doesNotMatch(r.err, /at .*\.js:\d+/, 'no stack trace');
  });

  it('an export through a pipe (as `<(cat x)` or /dev/stdin gives it) is read whole', async () => {
    const fifo = path.join(dir, 'in.yml');
    execFileSync('mkfifo', [fifo]);
    // The writer opens the FIFO while the CLI reads it.
    const writer = spawn('sh', ['-c', `cat "${FIXTURE}" > "${fifo}"`]);
    const written = new Promise((r) => writer.on('close', r));
    let out = '';
    let err = '';
    const code = await runCli(['extract', 'in.yml', '--json'], { stdout: (s) => (out += s), stderr: (s) => (err += s), env: {}, cwd: dir, signal: new AbortController().signal });
    await written;
    assert.equal(code, 0, err);
    const viaFile = await (async () => {
      let o = '';
      await runCli(['extract', FIXTURE, '--json'], { stdout: (s) => (o += s), stderr: () => undefined, env: {}, cwd: dir, signal: new AbortController().signal });
      return JSON.parse(o) as { id: string; text: string }[];
    })();
    const viaPipe = JSON.parse(out) as { id: string; text: string }[];
    assert.ok(viaPipe.length > 0);
    assert.deepEqual(viaPipe.map((p) => [p.id, p.text]), viaFile.map((p) => [p.id, p.text]));
  });

  it('readUpTo: a regular file over the limit is refused from its size (nothing read); a pipe stops one byte past it', async function () {
    const big = path.join(dir, 'big.yml');
    fs.writeFileSync(big, '');
    fs.truncateSync(big, 3 * 1024 * 1024);
    const r = await readUpTo(big, 1024 * 1024);
    assert.deepEqual({ over: r.over, regular: r.regular, read: r.bytes.length, size: r.size }, { over: true, regular: true, read: 0, size: 3 * 1024 * 1024 });
    if (!fs.existsSync('/dev/zero')) this.skip();
    const z = await readUpTo('/dev/zero', 1000);
    assert.deepEqual({ over: z.over, regular: z.regular, read: z.bytes.length }, { over: true, regular: false, read: 1001 });
  });

  it('writing a prompt into a FIFO named like an export is refused at once (STORAGE_IO, "not a regular file"); nothing blocks', async () => {
    const fifo = path.join(dir, 'app.yml');
    execFileSync('mkfifo', [fifo]);
    const err = await within(
      updateWorkflowFile(fifo, (t) => t, { displayName: 'app.yml', what: 'setting the prompt' }).then(
        () => assert.fail('a FIFO was written'),
        (e: unknown) => e,
      ),
      5000,
      'the write',
    );
    assert.ok(isOptimizerError(err), String(err));
    assert.equal(err.code, 'STORAGE_IO');
    assert.match(err.message, /app\.yml/);
    assert.match(err.message, /FIFO \(named pipe\), not a regular file/);
    assert.ok(fs.statSync(fifo).isFIFO(), 'the FIFO is left as it was');
  });

  it("the editor's look-up of a workflow on disk: a FIFO fails at once, an oversized file from its size, with the package limit for .ifpkg", async () => {
    const fifo = path.join(dir, 'app.yml');
    execFileSync('mkfifo', [fifo]);
    const t0 = Date.now();
    assert.throws(() => readWorkflowTextSync(fifo), (e: NodeJS.ErrnoException) => e.code === 'ENOTREG');
    assert.ok(Date.now() - t0 < 1000);
    const yml = path.join(dir, 'big.yml');
    fs.writeFileSync(yml, '');
    fs.truncateSync(yml, 21 * 1024 * 1024);
    assert.throws(
      () => readWorkflowTextSync(yml),
      (e: unknown) => e instanceof FileTooLargeError && fsCauseText(e) === 'file too large: 21.0 MB, over the limit of 20 MB (EFBIG)',
    );
    // 21 MB is within the package limit (100 MB): read, then refused as a package, not for its size.
    const pkg = path.join(dir, 'big.ifpkg');
    fs.renameSync(yml, pkg);
    assert.throws(() => readWorkflowTextSync(pkg), (e: unknown) => isOptimizerError(e) && e.code.startsWith('PACKAGE_'));
  });
});
