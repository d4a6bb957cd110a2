import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { clearResults } from '../../e2e/support/hooks';
import { excuseExpectedErrors, extensionLogFiles, findExtensionLogErrors, findSecretInLogs } from '../../harness/logs';
import { watchResults } from '../../harness/results';
import { selectTestFiles } from '../../integration/selectFiles';

describe('harness', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'harness-unit-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('findExtensionLogErrors', () => {
    it('reports [error] lines of our channel and host lines naming our extension as failed', () => {
      const ours = path.join(dir, 's1', 'exthost1', 'promptopt.prompt-optimizer-dify');
      fs.mkdirSync(ours, { recursive: true });
      fs.writeFileSync(path.join(ours, 'Prompt Optimizer.log'), '2026 [info] activated\n2026 [error] could not parse x.yml\n');
      fs.writeFileSync(
        path.join(dir, 's1', 'exthost1', 'remoteexthost.log'),
        "[info] activating promptopt.prompt-optimizer-dify\n[error] Activating extension promptopt.prompt-optimizer-dify failed due to an error:\n[error] other.ext broke\n",
      );
      const found = findExtensionLogErrors(dir);
      assert.equal(found.length, 2);
      assert.match(found[0] ?? '', /could not parse x\.yml|Activating extension/);
      assert.ok(found.some((l) => l.includes('could not parse x.yml')));
      assert.ok(found.some((l) => l.includes('Activating extension promptopt.prompt-optimizer-dify failed')));
    });

    it('is empty for clean logs and a missing folder', () => {
      fs.mkdirSync(path.join(dir, 'promptopt.prompt-optimizer-dify'));
      fs.writeFileSync(path.join(dir, 'promptopt.prompt-optimizer-dify', 'Prompt Optimizer.log'), '[info] ok\n[warning] slow\n');
      assert.deepEqual(findExtensionLogErrors(dir), []);
      assert.deepEqual(findExtensionLogErrors(path.join(dir, 'nope')), []);
    });
  });

  describe('findSecretInLogs / extensionLogFiles', () => {
    it('finds a secret in any log file (masked in the report) and lists our non-empty log files', () => {
      const ours = path.join(dir, 's1', 'exthost1', 'promptopt.prompt-optimizer-dify');
      fs.mkdirSync(ours, { recursive: true });
      fs.writeFileSync(path.join(ours, 'Prompt Optimizer.log'), '[info] activated\n[warning] llm: 401 Incorrect API key provided: ***\n');
      fs.writeFileSync(path.join(dir, 's1', 'exthost1', 'remoteexthost.log'), '[info] ok\n[trace] args ["sk-test-PROMPTOPT-abc123"]\n');
      fs.writeFileSync(path.join(dir, 's1', 'notes.txt'), 'sk-test-PROMPTOPT-abc123 (not a .log file)\n');
      const found = findSecretInLogs(dir, 'sk-test-PROMPTOPT-');
      assert.deepEqual(found, [`${path.join('s1', 'exthost1', 'remoteexthost.log')}: [trace] args ["<KEY>abc123"]`]);
      assert.deepEqual(extensionLogFiles(dir), [path.join(ours, 'Prompt Optimizer.log')]);
      fs.writeFileSync(path.join(ours, 'Prompt Optimizer.log'), '');
      assert.deepEqual(extensionLogFiles(dir), [], 'an empty log file does not count as found');
      assert.throws(() => findSecretInLogs(dir, 'sk'), /at least 4 characters/);
    });
  });

  describe('excuseExpectedErrors', () => {
    it('excuses only the error lines a test declared, from a list or a JSON-lines file', () => {
      const lines = ['a.log: [error] llm: refused the API key (HTTP 401)', 'a.log: [error] TypeError: x is undefined'];
      const fromList = excuseExpectedErrors(lines, [{ source: 'refused the API key \\(HTTP 401\\)', flags: '' }]);
      assert.deepEqual(fromList.excused, [lines[0]]);
      assert.deepEqual(fromList.unexpected, [lines[1]]);
      const file = path.join(dir, 'expected.jsonl');
      fs.writeFileSync(file, `${JSON.stringify({ source: 'http 401', flags: 'i', why: 'test' })}\n`);
      assert.deepEqual(excuseExpectedErrors(lines, file).unexpected, [lines[1]]);
      assert.deepEqual(excuseExpectedErrors(lines, path.join(dir, 'none.jsonl')), { unexpected: lines, excused: [] });
    });
  });

  describe('clearResults (UI tier)', () => {
    it('empties test-results/ but keeps figures/', () => {
      fs.mkdirSync(path.join(dir, 'figures'));
      fs.writeFileSync(path.join(dir, 'figures', 'activation-trusted.json'), '{"activationMs": 3}');
      fs.writeFileSync(path.join(dir, 'review-01.png'), 'png');
      fs.mkdirSync(path.join(dir, 'old'));
      clearResults(dir, ['figures']);
      assert.deepEqual(fs.readdirSync(dir), ['figures']);
      assert.equal(fs.readFileSync(path.join(dir, 'figures', 'activation-trusted.json'), 'utf8'), '{"activationMs": 3}');
      clearResults(path.join(dir, 'fresh'), ['figures']);
      assert.ok(fs.existsSync(path.join(dir, 'fresh')));
    });
  });

  describe('selectTestFiles', () => {
    it('picks *.test.js for both modes and *.trusted / *.restricted by trust', () => {
      fs.mkdirSync(path.join(dir, 'sub'));
      for (const f of ['a.test.js', 'b.trusted.test.js', 'c.restricted.test.js', 'helpers.js', 'sub/d.test.js']) fs.writeFileSync(path.join(dir, f), '');
      const names = (trusted: boolean) => selectTestFiles(dir, trusted).map((f) => path.relative(dir, f));
      assert.deepEqual(names(true), ['a.test.js', 'b.trusted.test.js', 'sub/d.test.js']);
      assert.deepEqual(names(false), ['a.test.js', 'c.restricted.test.js', 'sub/d.test.js']);
    });
  });

  describe('watchResults', () => {
    const limits = { startMs: 400, idleMs: 400, totalMs: 5000 };
    const quiet = () => undefined;

    it('collects passes and failures until the end line', async () => {
      const file = path.join(dir, 'r.jsonl');
      const lines = [
        { event: 'start', vscodeVersion: '1.100.3', appName: 'code-server', trusted: true, files: ['a.test.js'] },
        { event: 'test', fullTitle: 's a' },
        { event: 'pass', fullTitle: 's a', durationMs: 3 },
        { event: 'test', fullTitle: 's b' },
        { event: 'fail', fullTitle: 's b', error: { message: 'boom', stack: 'Error: boom\n at x' } },
        { event: 'end', passes: 1, failures: 1, pending: 0, durationMs: 10 },
      ];
      fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      const o = await watchResults(file, { label: 't', limits, out: quiet });
      assert.equal(o.ok, false);
      assert.equal(o.passes, 1);
      assert.deepEqual(o.failures.map((f) => f.fullTitle), ['s b']);
      assert.equal(o.problem, undefined);
    });

    it('fails when the host never starts', async () => {
      const o = await watchResults(path.join(dir, 'never.jsonl'), { label: 't', limits, out: quiet });
      assert.equal(o.ok, false);
      assert.match(o.problem ?? '', /did not start/);
    });

    it('names the test that hangs', async () => {
      const file = path.join(dir, 'hang.jsonl');
      fs.writeFileSync(file, [JSON.stringify({ event: 'start', vscodeVersion: 'x', appName: 'x', trusted: true, files: [] }), JSON.stringify({ event: 'test', fullTitle: 'suite waits forever' })].join('\n') + '\n');
      const o = await watchResults(file, { label: 't', limits, out: quiet });
      assert.equal(o.ok, false);
      assert.match(o.problem ?? '', /"suite waits forever" hangs/);
    });
  });
});
