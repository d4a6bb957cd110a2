/** `promptopt train --optimizer gepa` and Ensemble members in-process against the intent task model (a TEST DOUBLE on 127.0.0.1). */
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { createTrainCommand } from '../../../src/cli/commands/train';
import type { CliIo } from '../../../src/cli/io';
import { UsageError } from '../../../src/core/errors';
import { startFakeOpenAI, type FakeOpenAIServer } from '../../support';
import { INTENT_BASE, INTENT_JSONL, INTENT_USER, intentHandler, isIntentBest } from '../../support/intentModel';
import { record, tempDir } from './helpers';

const SYS = record(INTENT_BASE);
const USER = record(INTENT_USER, { id: '1718246807593/prompt_template/1', role: 'user', messageIndex: 1, yamlPath: ['workflow', 'graph', 'nodes', 0, 'data', 'prompt_template', 1, 'text'] });

function io(cwd: string) {
  const out: string[] = [];
  const err: string[] = [];
  const cli: CliIo = { stdout: (s) => out.push(s), stderr: (s) => err.push(s), env: { OPENAI_API_KEY: 'placeholder' }, cwd, signal: new AbortController().signal };
  return { cli, out: () => out.join(''), err: () => err.join('') };
}

describe('promptopt train --optimizer gepa', function () {
  this.timeout(30000);
  let srv: FakeOpenAIServer;
  let dir: string;
  const cmd = createTrainCommand({ loadPrompts: () => [SYS, USER], confirm: async () => false });
  before(async () => {
    srv = await startFakeOpenAI({ handler: intentHandler });
    dir = await tempDir();
    await fs.writeFile(path.join(dir, 'intent.jsonl'), INTENT_JSONL);
    await fs.writeFile(path.join(dir, 'app.yml'), 'app: {name: t, mode: workflow}\n');
  });
  after(() => srv.close());
  beforeEach(() => srv.reset());
  const base = () => ['app.yml', '--prompt', SYS.id, '--dataset', 'intent.jsonl', '--base-url', srv.url, '--model', 'fake-model', '--seed', '1'];

  it('shows the estimate of the auto preset, finds the fixing instruction on the standard layout and prints each candidate\'s lineage', async () => {
    const t = io(dir);
    const code = await cmd.run([...base(), '--optimizer', 'gepa', '--auto', 'light', '--yes'], t.cli);
    assert.equal(code, 0, t.err());
    // light: 8 + 6 × (2 × 3 + 8) = 92 task calls at most, 6 reflections
    assert.match(t.out(), /Estimate: about 98 calls \(92 task, 6 proposal/);
    assert.match(t.out(), /Lineage \(each reflective candidate, its parent, and the feedback it answered\):/);
    assert.match(t.out(), / from baseline, minibatch 0 → \d of 3/);
    assert.match(t.out(), /intent-\d+: Wrong: expected "/);
    const best = t.out().split('---\n')[1]!;
    assert.ok(isIntentBest(best), best);
  });

  it('a calls budget alone sets the metric-call budget; wrong flags are usage errors', async () => {
    const t = io(dir);
    assert.equal(await cmd.run([...base(), '--optimizer', 'gepa', '--budget-calls', '40'], t.cli), 1);
    assert.match(t.out(), /Estimate: about \d+ calls \(40 task, /);
    await assert.rejects(cmd.run([...base(), '--optimizer', 'gepa', '--auto', 'huge'], io(dir).cli), (e: unknown) => e instanceof UsageError && /--auto must be light, medium or heavy/.test(e.message));
    await assert.rejects(cmd.run([...base(), '--optimizer', 'gepa', '--auto', 'light', '--max-metric-calls', '9'], io(dir).cli), /not both/);
    await assert.rejects(cmd.run([...base(), '--optimizer', 'ensemble', '--members', 'copro,mipro'], io(dir).cli), /unknown optimizer "mipro"/);
    assert.equal(srv.requests.length, 0);
  });

  it('ensemble --members knn,gepa under --budget-calls prints each member\'s share', async () => {
    const t = io(dir);
    const code = await cmd.run([...base(), '--optimizer', 'ensemble', '--members', 'knn,gepa', '--budget-calls', '120', '--yes'], t.cli);
    assert.equal(code, 0, t.err());
    assert.match(t.out(), /Member knn: share \d+ call\(s\) of the budget \(estimate \d+, minimum \d+, used \d+\)/);
    assert.match(t.out(), /Member gepa: share \d+ call\(s\)/);
    assert.ok(srv.requests.length <= 120);
  });
});
