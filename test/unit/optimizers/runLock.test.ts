/**
 * Issue 19 item 5: one `--run-id` runs in one process at a time (the second is refused, naming
 * the other process), and a call in flight at `kill -9` is counted when the run resumes, so the
 * calls budget holds in every case. The CLI runs as real processes against the scripted task
 * model (a TEST DOUBLE on 127.0.0.1, test/support/fakeOpenAI.ts).
 */
import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { StorageError } from '../../../src/core/errors';
import { RunStore } from '../../../src/core/optimizers/runStore';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { SENTIMENT_JSONL, scriptedHandler } from '../../support/taskModel';
import { tempDir } from './helpers';

const MAIN = path.resolve(__dirname, '../../../src/cli/main.js');
const EXPORT = path.resolve(__dirname, '../../../../test/fixtures/dify/basic_llm_chat_workflow.yml');

async function workspace(): Promise<string> {
  const dir = await tempDir('promptopt-runlock-');
  await fs.mkdir(path.join(dir, '.git'));
  await fs.copyFile(EXPORT, path.join(dir, 'app.yml'));
  const rows = SENTIMENT_JSONL.split('\n').map((l) => {
    const o = JSON.parse(l) as Record<string, string>;
    return JSON.stringify({ 'start_node.query': o['sys.query'], expected: o.expected });
  });
  await fs.writeFile(path.join(dir, 'data.jsonl'), rows.join('\n'));
  return dir;
}

function train(dir: string, url: string, runId: string, budget: number): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }> } {
  const args = ['train', 'app.yml', '--prompt', 'llm_node/prompt_template/0', '--dataset', 'data.jsonl', '--optimizer', 'copro', '--breadth', '4', '--depth', '3', '--base-url', url, '--json', '--yes', '--run-id', runId, '--budget-calls', String(budget), '--concurrency', '2'];
  const child = spawn(process.execPath, [MAIN, ...args], { cwd: dir, env: { ...process.env, OPENAI_API_KEY: 'placeholder', PROMPTOPT_API_KEY: '' } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return { child, done };
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('item 5: one run id, one process; the calls budget holds across processes and kill -9', function () {
  this.timeout(120_000);

  it('in one process: a second open of the same run id is refused, naming the holder; after close it opens', async () => {
    const dir = await tempDir();
    const a = await RunStore.open(dir, 'same');
    await assert.rejects(RunStore.open(dir, 'same'), (e: Error) => e instanceof StorageError && e.code === 'STORAGE_LOCK_TIMEOUT' && e.message.includes(`process ${process.pid}`) && e.message.includes('run same is already running'));
    const other = await RunStore.open(dir, 'other');
    await other.close();
    await a.close();
    const b = await RunStore.open(dir, 'same');
    await b.close();
  });

  describe('against the scripted task model', () => {
    let srv: FakeOpenAIServer;
    let hangAt = -1;
    let latencyMs = 20;
    /** While set, answers wait for it (the first run is held until the second has ended). */
    let gate: Promise<unknown> | undefined;
    before(async () => {
      srv = await startFakeOpenAI({
        handler: async (req, ctx) => {
          if (gate) await gate;
          return ctx.index === hangAt ? { hang: true } : { ...scriptedHandler(req), latencyMs };
        },
      });
    });
    after(() => srv.close());
    beforeEach(() => {
      srv.reset();
      hangAt = -1;
      latencyMs = 20;
      gate = undefined;
    });

    it('two `train` processes with one --run-id at once: the second is refused naming the first; calls stay within --budget-calls 14', async () => {
      const dir = await workspace();
      // The first run's answers are held until the second run has ended (or 20 s, if it runs too).
      let open!: () => void;
      gate = new Promise<void>((r) => (open = r));
      const a = train(dir, srv.url, 'shared', 14);
      await waitFor(() => srv.requests.length > 0, 30_000);
      const b = train(dir, srv.url, 'shared', 14);
      const held = setTimeout(() => open(), 20_000);
      const rb = await b.done;
      open();
      clearTimeout(held);
      const ra = await a.done;
      assert.ok(srv.requests.length <= 14, `${srv.requests.length} calls against a budget of 14`);
      assert.notEqual(rb.code, 0, 'the second run was not refused');
      assert.match(rb.err, new RegExp(`run shared is already running in process ${a.child.pid}`));
      assert.doesNotMatch(ra.err + rb.err, /internal error/);
      // The lock is gone with the run: a resume opens.
      const s = await RunStore.open(path.join(dir, '.optimizer', 'runs'), 'shared');
      await s.close();
    });

    it('kill -9 while a call is in flight, then resume: the in-flight call is counted, calls stay within --budget-calls 10', async () => {
      const dir = await workspace();
      hangAt = 5; // the 6th chat request never gets an answer
      const first = train(dir, srv.url, 'killed', 10);
      await waitFor(() => srv.chatRequests().length > hangAt, 30_000);
      await new Promise((r) => setTimeout(r, 100));
      first.child.kill('SIGKILL');
      const r1 = await first.done;
      assert.equal(r1.signal, 'SIGKILL');
      const sentBefore = srv.requests.length;
      hangAt = -1;
      const second = train(dir, srv.url, 'killed', 10);
      const r2 = await second.done;
      assert.doesNotMatch(r2.err, /internal error/);
      assert.ok(srv.requests.length <= 10, `${srv.requests.length} calls (${sentBefore} before the kill) against a budget of 10`);
      const log = await fs.readFile(path.join(dir, '.optimizer', 'runs', 'killed.jsonl'), 'utf8');
      assert.match(log, /"type":"sent"/);
    });
  });
});
